"""The pure rebalancing planner: account in, orders and a drift table out.

See `daemon.core.planner.planner` for the semantics and `daemon.core.planner.rounding` for the money
rules that rounding to whole increments obeys.
"""

from __future__ import annotations

__all__ = [
    "Band",
    "DriftRow",
    "Plan",
    "PlanInput",
    "PlannedOrder",
    "PlanningPolicy",
    "out_of_band_at",
    "plan_rebalance",
    "validate_plan_input",
]

from daemon.core.planner.planner import plan_rebalance
from daemon.core.planner.types import Band, DriftRow, Plan, PlanInput, PlannedOrder, PlanningPolicy
from daemon.core.planner.validate import validate_plan_input
from daemon.core.planner.verdict import out_of_band_at
