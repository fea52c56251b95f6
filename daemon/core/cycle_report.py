"""What one account's cycle did: its decision, the orders it sent and how they ended."""

from __future__ import annotations

__all__ = ["NOT_SENT", "CycleReport", "OrderOutcome"]

from dataclasses import dataclass, field
from decimal import Decimal

from daemon.core.domain import AccountSnapshot, BrokerOrder, OrderIntent, OrderStatus
from daemon.core.household import HouseholdSplit
from daemon.core.planner import DriftRow, Plan
from daemon.core.risk import CheckDecision, RiskReview

NOT_SENT = "not sent: "
"""How the detail of an order that never left for the broker starts."""


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """One sent (or stopped) order: the intent as stored, and its fate as last known."""

    intent: OrderIntent
    status: OrderStatus
    order: BrokerOrder | None
    detail: str

    @property
    def sent(self) -> bool:
        """Whether the order left for the broker (a kill switch, a stop or a refusal before
        sending records it CANCELLED with a detail starting `NOT_SENT`)."""
        return not self.detail.startswith(NOT_SENT)


@dataclass(frozen=True, slots=True)
class CycleReport:
    cycle_id: str
    account: str
    outcome: str
    """succeeded, failed, or planned (a plan-only run)."""
    submitted: bool
    why_not_submitted: str = ""
    snapshot: AccountSnapshot | None = None
    plan: Plan | None = None
    """The plan after the tax step (`Decision.plan`)."""
    review: RiskReview | None = None
    """Every planned order's pre-trade decision (`Decision.review`)."""
    refusals: tuple[CheckDecision, ...] = ()
    """What the pre-trade checks refused (`Decision.refusals`): the sales that wait, set
    aside, then this plan's orders."""
    outcomes: tuple[OrderOutcome, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    drift_after: tuple[DriftRow, ...] | None = None
    cash_after: Decimal | None = None
    """The account's cash as the broker reported it after the cycle's trading (the cash it
    saw when nothing was sent); None when it could not be read, or the cycle only planned."""
    """Weights against bands once the cycle's orders are done; None when nothing was sent."""
    household: HouseholdSplit | None = None
    """The household split the account's targets came from; None outside a household."""
