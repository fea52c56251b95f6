"""The worked example at the pure level (docs/household.md, "A worked example"): a taxable
account and a traditional IRA at one broker, a Roth IRA at a broker without an API whose
holdings come from the parsed Fidelity sample export. The split gives the Roth its targets
and its own planner turns them into the orders its ticket lists, in whole shares."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from adapters.manual.parsing import parse_export
from adapters.manual.presets import PRESETS
from daemon.core.domain import CASH, AccountType, Side
from daemon.core.household import HouseholdAccount, HouseholdRules, LocationPreference
from daemon.core.household.split import split_household
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance

D = Decimal
SAMPLES = Path(__file__).parents[1] / "fakes" / "manual_exports"
FIDELITY = SAMPLES / "Portfolio_Positions_Dec-04-2026.csv"
TAXABLE, IRA, ROTH = AccountType.TAXABLE, AccountType.TRADITIONAL_IRA, AccountType.ROTH_IRA
RULES = HouseholdRules(
    targets={"VTI": D("0.45"), "VXUS": D("0.25"), "BND": D("0.25"), CASH: D("0.05")},
    asset_classes={"VTI": "us_equity", "VXUS": "intl_equity", "BND": "bonds"},
    location=(
        LocationPreference("bonds", (IRA, ROTH, TAXABLE)),
        LocationPreference("us_equity", (ROTH, TAXABLE, IRA)),
        LocationPreference("intl_equity", (TAXABLE, ROTH, IRA)),
    ),
)
BND_PRICE = D("72.00")  # the Roth's prices_file: the export holds no BND


def test_the_manual_roth_gets_its_share_of_the_household_as_ticket_orders() -> None:
    export = parse_export(
        FIDELITY.read_text(),
        name=FIDELITY.name,
        layout=PRESETS["fidelity"],
        account_number="X12345678",
    )
    prices = {h.symbol: h.price for h in export.holdings} | {"BND": BND_PRICE}
    held = {h.symbol: h.qty for h in export.holdings}
    roth = HouseholdAccount(
        "roth",
        ROTH,
        cash=export.cash,
        holdings={s: q * prices[s] for s, q in held.items()},
    )
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, cash=D(60000)),
        HouseholdAccount("ira", IRA, cash=D(40000)),
        roth,
    ]
    split = split_household(RULES, accounts)

    household = sum((a.value for a in accounts), D(0))
    assert roth.value == D("46067.50")  # 100 VTI, 250.5 VXUS, SPAXX less the pending 25
    # The per-account targets add up to the household target.
    for symbol, target in RULES.targets.items():
        reached = sum(
            (split.targets_for(a.name).get(symbol, D(0)) * a.value for a in accounts), D(0)
        )
        assert abs(reached / household - target) < D("0.000001"), symbol
    # Every bond in the IRA, US equity first in the Roth, international in taxable.
    cent = D("0.01")
    bonds = RULES.targets["BND"] * household
    assert abs(split.targets_for("ira")["BND"] * D(40000) - bonds) < cent
    assert split.targets_for("roth").get("VXUS", D(0)) == 0
    assert split.targets_for("roth")["VTI"] == 1
    intl = RULES.targets["VXUS"] * household
    assert abs(split.targets_for("brokerage")["VXUS"] * D(60000) - intl) < cent

    # The Roth's own planner, whole shares as its tickets ask (fractional = false).
    plan = plan_rebalance(
        PlanInput(
            cash=export.cash,
            holdings=held,
            prices=prices,
            targets=split.targets_for("roth"),
        ),
        PlanningPolicy(default_band=Band(absolute_pp=D(5))),
    )
    # All of the VXUS goes (the fractional 0.5 with it: a whole position is sold whole), and
    # what it raises, with the cash, buys whole VTI shares: (1,498.45 + 16,057.05) / 285.12.
    ticket = [(o.side, o.symbol, o.qty) for o in plan.orders]
    assert ticket == [(Side.SELL, "VXUS", D("250.5")), (Side.BUY, "VTI", D(61))]
    assert D(0) <= plan.cash_after < D("285.12")
