"""The planner's band test with alternates standing in: one pool per primary.

For random holdings of a primary (P), its two alternates (A1, A2, standing in through
`stand_in_targets`) and two other holdings, the plan is triggered exactly when the pool
(P, A1 and A2 added up, against P's own target and band) or another holding is outside its
band, worked out here from the definition; the drift rows of the pool say the pool's
verdict; and an untriggered plan without spare cash has no order.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from tests.hypothesis_profiles import scaled

D = Decimal
POOL = ("P", "A1", "A2")
OTHERS = ("O1", "O2")
TAX = TaxSettings.model_validate({"alternates": {"P": ["A1", "A2"]}})
MARGIN = 1e-6
"""Cases this close to a band edge are left out: float noise decides them."""

bands = st.one_of(
    st.builds(Band, absolute_pp=st.decimals(D("0.5"), D(10), places=1)),
    st.builds(Band, relative=st.decimals(D("0.05"), D("0.5"), places=2)),
    st.builds(
        Band,
        absolute_pp=st.decimals(D("0.5"), D(10), places=1),
        relative=st.decimals(D("0.05"), D("0.5"), places=2),
    ),
)


def _half(band: Band, target: float) -> float:
    widths = [float(band.absolute_pp) / 100] if band.absolute_pp is not None else []
    widths += [float(band.relative) * target] if band.relative is not None else []
    return min(widths)


def _verdict(band: Band, weight: float, target: float) -> bool | None:
    """Return whether `weight` is outside the band around `target`; None: too close to say."""
    if target <= 0:
        return weight > 0
    half = _half(band, target)
    low, high = max(target - half, 0.0), target + half
    edges = [high] + ([low] if low > 0 else [])
    if any(abs(weight - edge) < MARGIN for edge in edges):
        return None
    return weight < low or weight > high


@st.composite
def cases(draw: st.DrawFn) -> tuple[PlanInput, PlanningPolicy, dict[str, bool | None]]:
    raw = {s: draw(st.integers(0, 100)) for s in ("P", *OTHERS)}
    raw["P"] = max(raw["P"], 1)
    total = sum(raw.values())
    # Quantized, so that O2 takes up exactly what is left (1/11 + 10/11 is not 1 in Decimal).
    targets = {s: (D(r) / D(total)).quantize(D("0.000001")) for s, r in raw.items()}
    targets["O2"] = D(1) - targets["P"] - targets["O1"]  # exactly 1 in all
    if targets["O2"] < 0:  # P and O1 rounded up past 1: P gives it back
        targets["P"] += targets["O2"]
        targets["O2"] = D(0)
    prices = {s: draw(st.decimals(D(1), D(500), places=2)) for s in (*POOL, *OTHERS)}
    if draw(st.booleans()):
        holdings = {
            s: D(draw(st.integers(0, 2000)))
            for s in (*POOL, *OTHERS)
            if s != "A1" or draw(st.booleans())
        }
    else:  # near the targets, the pool's value spread over its members: bands decide
        value = {s: float(targets[s]) * 100_000 * draw(st.floats(0.8, 1.2)) for s in raw}
        spread = [draw(st.integers(0, 10)) for _ in POOL]
        value |= {
            s: value["P"] * part / max(sum(spread), 1) for s, part in zip(POOL, spread, strict=True)
        }
        holdings = {s: D(round(v / float(prices[s]))) for s, v in value.items()}
    holdings["A2"] = max(holdings.get("A2", D(0)), D(1))  # at least one alternate held
    default, own = draw(bands), draw(bands)
    policy = PlanningPolicy(
        default_band=default,
        band_overrides={"P": own} if draw(st.booleans()) else {},
        rebalance_to=draw(st.sampled_from(["target", "band_edge"])),
    )
    stood = stand_in_targets(
        targets,
        holdings,
        prices,
        D(0),
        settings=TAX,
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=date(2026, 1, 5),
    )
    inp = PlanInput(
        cash=D(0),
        holdings=holdings,
        prices=prices,
        targets=stood.targets,
        stand_ins=stood.pairs,
    )
    nav = float(sum((q * prices[s] for s, q in holdings.items()), D(0)))
    weight = {s: float(holdings.get(s, D(0)) * prices[s]) / nav for s in prices}
    pool = [s for s in POOL if s == "P" or s in stood.pairs]
    verdicts: dict[str, bool | None] = {}
    out = _verdict(policy.band_for("P"), sum(weight[s] for s in pool), float(targets["P"]))
    verdicts.update(dict.fromkeys(pool, out))
    for s in (*OTHERS, *(s for s in POOL if s not in pool)):
        verdicts[s] = _verdict(policy.band_for(s), weight[s], float(stood.targets.get(s, D(0))))
    return inp, policy, verdicts


@settings(max_examples=scaled(300))
@given(cases())
def test_the_pool_is_banded_as_one_holding(
    case: tuple[PlanInput, PlanningPolicy, dict[str, bool | None]],
) -> None:
    inp, policy, verdicts = case
    assume(None not in verdicts.values())  # on an edge: float noise decides
    plan = plan_rebalance(inp, policy)
    event(f"triggered: {plan.triggered}")
    rows = {r.symbol: r for r in plan.drift}
    assert {s: rows[s].out_of_band for s in verdicts if s in rows} == {
        s: v for s, v in verdicts.items() if s in rows
    }
    assert plan.triggered == any(verdicts.values())
    if not plan.triggered:
        assert plan.orders == ()
