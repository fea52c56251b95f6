"""Properties of the household split, on households built so the target can be met:

- the per-account targets add up to the household target (and so, once each account is on
  its own targets, the household is inside any band at least as wide as the accounts'),
  whenever the accounts' cash and restrictions allow it;
- each account keeps its restrictions: no weight on a symbol it may not trade beyond what it
  holds, never below its holdings when buy-only, its cash need kept in cash;
- location preferences are met before they are broken: no exchange of two holdings between
  two accounts would put one in a better account type and the other in no worse one, unless
  it needs a taxable sale at a gain or breaks a restriction.

Each household is drawn as a feasible allocation first (what each account could hold), whose
column sums become the targets; the holdings the split starts from are drawn separately.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import CASH, AccountType
from daemon.core.household import (
    HouseholdAccount,
    HouseholdRules,
    HouseholdSplit,
    LocationPreference,
    Restrictions,
)
from daemon.core.household.split import split_household
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.planner.types import SMALLEST_ORDER
from tests.hypothesis_profiles import scaled

D = Decimal
POOL = ("AAA", "BBB", "CCC", "DDD", "EEE")
CLASSES = ("bonds", "growth")
TYPES = tuple(AccountType)
SETTINGS = settings(
    max_examples=scaled(200), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TOLERANCE = D("0.000001")


@dataclass(frozen=True)
class Household:
    rules: HouseholdRules
    accounts: tuple[HouseholdAccount, ...]


def _spread(draw: st.DrawFn, total: int, keys: list[str]) -> dict[str, int]:
    """Split `total` cents over `keys` at random (whole cents, summing to `total`)."""
    if total == 0:
        return {}
    cuts = sorted(
        draw(st.lists(st.integers(0, total), min_size=len(keys) - 1, max_size=len(keys) - 1))
    )
    edges = [0, *cuts, total]
    return {k: edges[i + 1] - edges[i] for i, k in enumerate(keys) if edges[i + 1] > edges[i]}


@st.composite
def households(draw: st.DrawFn) -> Household:
    symbols = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=5, unique=True))
    n_accounts = draw(st.integers(1, 4))
    accounts = []
    allocation: dict[str, int] = {}
    for index in range(n_accounts):
        kind = draw(st.sampled_from(TYPES))
        restricted = draw(st.booleans())
        allowed = (
            frozenset(draw(st.lists(st.sampled_from(symbols), min_size=1, unique=True)))
            if restricted
            else None
        )
        may = [s for s in symbols if allowed is None or s in allowed]
        pinned = [s for s in symbols if s not in may]
        buy_only = draw(st.booleans())
        cents = st.integers(0, 5_000_000)
        holdings = {s: draw(cents) for s in draw(st.lists(st.sampled_from(symbols), unique=True))}
        holdings = {s: v for s, v in holdings.items() if v > 0}
        cash = draw(cents)
        value = cash + sum(holdings.values())
        fixed = {s: holdings[s] for s in holdings if s in pinned or buy_only}
        free = cash if buy_only else value - sum(fixed.values())
        spent = _spread(draw, free, [*may, CASH])
        x = dict(fixed)
        for symbol, amount in spent.items():
            x[symbol] = x.get(symbol, 0) + amount
        need = draw(st.integers(0, x.get(CASH, 0)))
        gains = {
            s: D(draw(st.integers(-10_000, 10_000))) / 100 for s in holdings if draw(st.booleans())
        }
        accounts.append(
            HouseholdAccount(
                name=f"a{index}",
                type=kind,
                cash=D(cash) / 100,
                holdings={s: D(v) / 100 for s, v in holdings.items()},
                restrictions=Restrictions(allowed=allowed),
                buy_only=buy_only,
                cash_need=D(need) / 100,
                gains=gains,
            )
        )
        for symbol, amount in x.items():
            allocation[symbol] = allocation.get(symbol, 0) + amount
    total = sum(allocation.values())
    if total == 0:
        allocation, total = {CASH: 1}, 1
    targets = {s: D(v) / D(total) for s, v in allocation.items()}
    # Every symbol some account may hold has a target (zero when the allocation left it out).
    for symbol in symbols:
        targets.setdefault(symbol, D(0))
    # A target no account may trade is a configuration error (tested elsewhere): loosening
    # the first account keeps the drawn allocation possible.
    untradable = [
        s
        for s, w in targets.items()
        if w > 0 and s != CASH and not any(a.may_trade(s) for a in accounts)
    ]
    if untradable:
        accounts[0] = replace(accounts[0], restrictions=Restrictions())
    classes = {s: draw(st.sampled_from(CLASSES)) for s in symbols if draw(st.booleans())}
    location = tuple(
        LocationPreference(
            assets,
            tuple(draw(st.permutations(TYPES))[: draw(st.integers(1, 3))]),
        )
        for assets in draw(
            st.lists(
                st.sampled_from([*sorted(set(classes.values())), *symbols]), unique=True, max_size=4
            )
        )
    )
    rules = HouseholdRules(
        targets=targets,
        asset_classes=classes,
        location=location,
        avoid_taxable_gains=draw(st.booleans()),
    )
    return Household(rules, tuple(accounts))


def placed(split: HouseholdSplit) -> dict[tuple[str, str], Decimal]:
    return {
        (entry.account, symbol): weight * entry.value
        for entry in split.accounts
        for symbol, weight in entry.targets.items()
    }


PINNED_ONLY = Household(
    HouseholdRules(targets={"BBB": D(1), "AAA": D(0)}),
    (
        HouseholdAccount(
            "a0",
            AccountType.TAXABLE,
            D(0),
            {"BBB": D("0.01")},
            restrictions=Restrictions(allowed=frozenset({"AAA"})),
        ),
        HouseholdAccount("a1", AccountType.ROTH_IRA, D(5)),
    ),
)
"""Found by the nightly profile (as a lone account): a held symbol no account may trade."""


@SETTINGS
@given(households())
@example(PINNED_ONLY)
def test_per_account_targets_add_up_to_the_household_target(household: Household) -> None:
    split = split_household(household.rules, household.accounts)
    total = split.value
    if total == 0:
        return
    amounts = placed(split)
    for symbol, target in household.rules.targets.items():
        reached = sum((v for (_, s), v in amounts.items() if s == symbol), D(0)) / total
        assert abs(reached - target) <= TOLERANCE, (symbol, reached, target)
    for row in split.rows:
        assert not row.out_of_band or abs(row.planned - row.target) <= TOLERANCE
    for account in household.accounts:
        entry = next(a for a in split.accounts if a.account == account.name)
        assert sum(entry.targets.values()) == 1
        assert all(w >= 0 for w in entry.targets.values())
        slack = TOLERANCE * total
        for symbol, weight in entry.targets.items():
            held = account.holdings.get(symbol, D(0))
            if symbol != CASH and not account.may_trade(symbol):
                assert abs(weight * account.value - held) <= slack, (account.name, symbol)
            if account.buy_only and symbol != CASH:
                assert weight * account.value >= held - slack, (account.name, symbol)
        for symbol, held in account.holdings.items():
            if not account.may_trade(symbol) or account.buy_only:
                assert entry.targets.get(symbol, D(0)) * account.value >= held - slack
        if account.value > 0:
            kept = entry.targets.get(CASH, D(0)) * account.value
            need = min(account.cash_need, account.cash if account.buy_only else account.value)
            assert kept >= need - slack, (account.name, kept, account.cash_need)


def _rank(rules: HouseholdRules, symbol: str, kind: AccountType) -> int:
    """The test's own reading of the preferences: a symbol's entry, else its class's."""
    entries = [p for p in rules.location if p.assets == symbol]
    entries += [p for p in rules.location if p.assets == rules.asset_classes.get(symbol, "")]
    if not entries or symbol == CASH:
        return 0
    prefer = entries[0].prefer
    return prefer.index(kind) if kind in prefer else len(prefer)


@SETTINGS
@given(households())
@example(
    Household(
        HouseholdRules(
            targets={"AAA": D("0.5"), "BBB": D("0.5")},
            asset_classes={"AAA": "bonds"},
            location=(LocationPreference("bonds", (AccountType.TRADITIONAL_IRA,)),),
        ),
        (
            HouseholdAccount("t", AccountType.TAXABLE, D(0), {"AAA": D(100)}, gains={"AAA": D(-1)}),
            HouseholdAccount("i", AccountType.TRADITIONAL_IRA, D(0), {"BBB": D(100)}),
        ),
    )
)
def test_location_preferences_are_met_before_they_are_broken(household: Household) -> None:
    split = split_household(household.rules, household.accounts)
    if split.value == 0:
        return
    amounts = placed(split)
    eps = D("0.00001") * split.value
    accounts = household.accounts
    symbols = sorted({s for (_, s) in amounts} | set(household.rules.targets))

    def can_give(account: HouseholdAccount, symbol: str) -> bool:
        """Whether `account` could hold a little less of `symbol` without a restriction
        broken or a taxable gain realized."""
        have = amounts.get((account.name, symbol), D(0))
        held = account.holdings.get(symbol, D(0)) if symbol != CASH else D(0)
        floor = D(0)
        if symbol != CASH and (account.buy_only or not account.may_trade(symbol)):
            floor = held
        taxed = account.gains.get(symbol)
        if (
            household.rules.avoid_taxable_gains
            and account.type is AccountType.TAXABLE
            and symbol != CASH
            and (taxed is None or taxed > 0)
        ):
            floor = max(floor, held)
        if symbol == CASH:
            floor = min(account.cash_need, account.value)
        return have - floor > eps

    def can_take(account: HouseholdAccount, symbol: str) -> bool:
        return symbol == CASH or account.may_trade(symbol)

    for a in accounts:
        for b in accounts:
            if a.name == b.name:
                continue
            for s in symbols:  # s moves from b to a ...
                for t in symbols:  # ... and t from a to b
                    if s == t or not (can_give(b, s) and can_give(a, t)):
                        continue
                    if not (can_take(a, s) and can_take(b, t)):
                        continue
                    if (a.buy_only and t != CASH) or (b.buy_only and s != CASH):
                        continue
                    if (a.buy_only or b.buy_only) and CASH in (s, t):
                        continue  # buy-only cash only ever goes down
                    better_s = _rank(household.rules, s, a.type) - _rank(household.rules, s, b.type)
                    better_t = _rank(household.rules, t, b.type) - _rank(household.rules, t, a.type)
                    assert not (better_s <= 0 and better_t <= 0 and (better_s or better_t)), (
                        f"{s} would be better in {a.name} and {t} no worse in {b.name}"
                    )


BAND_PP = D(5)


PENNIES = Household(
    HouseholdRules(
        targets={"DDD": D(1) / 3, CASH: D(2) / 3, "AAA": D(0), "BBB": D(0), "CCC": D(0)}
    ),
    (HouseholdAccount("a0", AccountType.TAXABLE, D("0.03")),),
)
"""Found by the nightly profile: a third of three cents is under the smallest order."""


@settings(max_examples=scaled(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households())
@example(PENNIES)
def test_each_account_planned_on_its_split_leaves_the_household_inside_its_band(
    household: Household,
) -> None:
    """The split, then each account's own planner (±5pp bands, to target): the household's
    weights end within 5pp of its targets, as each account's do of its own."""
    split = split_household(household.rules, household.accounts)
    if split.value == 0:
        return
    after: dict[str, Decimal] = {}
    for account in household.accounts:
        entry = next(a for a in split.accounts if a.account == account.name)
        if account.value == 0:
            continue
        # Price 1: a holding's value is its quantity, so rounding is a millionth at most.
        symbols = set(account.holdings) | set(entry.targets) - {CASH}
        plan = plan_rebalance(
            PlanInput(
                cash=account.cash,
                holdings=dict(account.holdings),
                prices=dict.fromkeys(symbols, D(1)),
                targets=dict(entry.targets),
            ),
            PlanningPolicy(
                default_band=Band(absolute_pp=BAND_PP),
                cash_buffer=account.cash_need,
                buy_only=account.buy_only,
                share_increment=D("0.000001"),
            ),
        )
        for row in plan.drift:
            after[row.symbol] = after.get(row.symbol, D(0)) + row.weight_after * plan.nav
    # An order under a cent is dust, never planned: each account may leave a cent of each
    # symbol undone, a share of the household's value only when it is pennies.
    dust = SMALLEST_ORDER * len(household.accounts) / split.value
    for symbol, target in household.rules.targets.items():
        if symbol == CASH:
            continue
        weight = after.get(symbol, D(0)) / split.value
        assert abs(weight - target) <= BAND_PP / 100 + D("0.0001") + dust, (symbol, weight, target)
