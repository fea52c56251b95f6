"""The pure kernel: domain types, money, errors, calendar and schedules, ids, the planner,
the tax rules, the pre-trade checks and the decision step. No SQL, no logging, no clock."""
