"""The risk-based strategies against skfolio on generated data: exactly (1e-6) where the rule
is closed-form (inverse volatility, HRP with the same linkage), to the optimizers' tolerance
elsewhere; and their bad inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from skfolio.cluster import HierarchicalClustering, LinkageMethod
from skfolio.distance import PearsonDistance
from skfolio.optimization import (
    HierarchicalRiskParity,
    InverseVolatility,
    MeanRisk,
    ObjectiveFunction,
    RiskBudgeting,
)
from skfolio.seriation import HierarchicalSeriation
from sklearn.covariance import LedoitWolf

from daemon.core.errors import StrategyError
from strategies.covariance import ledoit_wolf, returns
from strategies.registry import load_strategy
from tests.fakes.price_history import SYMBOLS, context, history

LOOKBACK = 200
TIGHT = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}


def _weights(name: str, seed: int, **params: Any) -> np.ndarray:
    h = history(seed=seed, days=260)
    plugin = load_strategy(name)
    strategy = plugin.create(
        plugin.params_model.model_validate(
            {"universe": list(SYMBOLS), "lookback_days": LOOKBACK, **params}
        )
    )
    got = strategy.targets(context(h))
    assert sum(got.values()) == 1
    return np.array([float(got.get(s, 0)) for s in SYMBOLS])


def _returns(seed: int) -> np.ndarray:
    return returns(history(seed=seed, days=260).closes[-LOOKBACK - 1 :])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ledoit_wolf_is_scikit_learns(seed: int) -> None:
    r = _returns(seed)
    np.testing.assert_allclose(ledoit_wolf(r), LedoitWolf().fit(r).covariance_, atol=1e-15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_inverse_vol_is_skfolios(seed: int) -> None:
    expected = InverseVolatility().fit(_returns(seed)).weights_
    np.testing.assert_allclose(_weights("inverse_vol", seed), expected, atol=1e-6)


@pytest.mark.parametrize("linkage", ["single", "complete", "average", "ward"])
@pytest.mark.parametrize("seed", [1, 4])
def test_hrp_is_skfolios_with_the_same_linkage(seed: int, linkage: str) -> None:
    model = HierarchicalRiskParity(
        distance_estimator=PearsonDistance(),
        seriation_estimator=HierarchicalSeriation(
            hierarchical_clustering_estimator=HierarchicalClustering(
                linkage_method=LinkageMethod(linkage)
            ),
            optimal_ordering=False,
        ),
    )
    expected = model.fit(_returns(seed)).weights_
    np.testing.assert_allclose(_weights("hrp", seed, linkage=linkage), expected, atol=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_min_variance_is_skfolios(seed: int) -> None:
    expected = MeanRisk(solver_params=TIGHT).fit(_returns(seed)).weights_
    np.testing.assert_allclose(_weights("min_variance", seed), expected, atol=1e-5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_max_sharpe_is_skfolios(seed: int) -> None:
    rate = 0.02
    model = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_free_rate=rate / 252,
    )
    daily = _returns(seed)
    expected = model.fit(daily).weights_
    got = _weights("max_sharpe", seed, risk_free_rate=str(rate))
    # The ratio is flat at its peak, so the conic solver's weights stop up to ~3e-4 away at
    # its default tolerance (tighter ones make clarabel warn it is inaccurate); the measure
    # that matters is the ratio, and ours reaches at least skfolio's.
    np.testing.assert_allclose(got, expected, atol=1e-3)
    cov, mean = np.cov(daily, rowvar=False), daily.mean(axis=0)

    def sharpe(w: np.ndarray) -> float:
        return float((mean @ w - rate / 252) / np.sqrt(w @ cov @ w))

    assert sharpe(got) >= sharpe(expected) - 1e-12


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_risk_parity_is_skfolios_and_contributions_are_equal(seed: int) -> None:
    expected = RiskBudgeting(solver_params=TIGHT).fit(_returns(seed)).weights_
    got = _weights("risk_parity", seed)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    cov = np.cov(_returns(seed), rowvar=False)
    contributions = got * (cov @ got)
    np.testing.assert_allclose(contributions / contributions.sum(), 1 / len(SYMBOLS), atol=1e-6)


def test_ledoit_wolf_is_used_when_asked() -> None:
    sample = _weights("min_variance", 1)
    shrunk = _weights("min_variance", 1, covariance="ledoit_wolf")
    from skfolio.moments import LedoitWolf as SkLedoitWolf
    from skfolio.prior import EmpiricalPrior

    expected = MeanRisk(
        prior_estimator=EmpiricalPrior(covariance_estimator=SkLedoitWolf()), solver_params=TIGHT
    )
    np.testing.assert_allclose(shrunk, expected.fit(_returns(1)).weights_, atol=1e-5)
    assert np.abs(shrunk - sample).max() > 1e-4


@pytest.mark.parametrize("name", ["risk_parity", "min_variance", "max_sharpe"])
def test_a_singular_covariance_is_an_error_naming_the_fix(name: str) -> None:
    symbols = [f"S{i}" for i in range(30)]
    h = history(seed=3, days=30, symbols=symbols)  # 20 returns for 30 symbols
    plugin = load_strategy(name)
    strategy = plugin.create(
        plugin.params_model.model_validate({"universe": symbols, "lookback_days": 20})
    )
    with pytest.raises(
        StrategyError,
        match=f"strategy {name}: the covariance of 30 symbols is singular.*ledoit_wolf",
    ):
        strategy.targets(context(h))
    shrunk = plugin.create(
        plugin.params_model.model_validate(
            {"universe": symbols, "lookback_days": 20, "covariance": "ledoit_wolf"}
        )
    )
    if name != "max_sharpe":
        assert sum(shrunk.targets(context(h)).values()) == 1


@pytest.mark.parametrize("covariance", ["sample", "ledoit_wolf"])
@pytest.mark.parametrize(
    "name", ["inverse_vol", "risk_parity", "hrp", "min_variance", "max_sharpe"]
)
def test_a_symbol_that_never_moves_is_named(name: str, covariance: str) -> None:
    # Shrinkage gives a flat symbol the average variance: the check is on the returns
    # themselves, or a frozen price (a money market fund at 1.00, a stale feed) would get most
    # of the account under ledoit_wolf.
    h = history(seed=1, days=40)
    closes = np.array(h.closes)
    closes[:, 2] = 50.0
    from strategies.history import CloseHistory

    flat = CloseHistory(h.days, h.symbols, closes)
    plugin = load_strategy(name)
    strategy = plugin.create(
        plugin.params_model.model_validate(
            {"universe": list(SYMBOLS), "lookback_days": 30, "covariance": covariance}
        )
    )
    with pytest.raises(StrategyError, match=f"strategy {name}: BND did not move"):
        strategy.targets(context(flat))


def test_max_sharpe_with_nothing_above_the_risk_free_rate_says_so() -> None:
    plugin = load_strategy("max_sharpe")
    strategy = plugin.create(
        plugin.params_model.model_validate(
            {"universe": list(SYMBOLS), "lookback_days": 100, "risk_free_rate": "0.9"}
        )
    )
    with pytest.raises(StrategyError, match="no symbol's mean return beats the risk-free rate"):
        strategy.targets(context(history(seed=2)))


@pytest.mark.parametrize("seed", [11, 17])
def test_max_sharpe_within_a_class_cap_fills_the_rest_with_a_symbol_it_left_at_zero(
    seed: int,
) -> None:
    # BND falls over the lookback, so max_sharpe leaves it at zero and splits equity unevenly
    # over the equity cap: refused before ("cannot hold the whole portfolio"), though VTI 0.4,
    # QQQ 0.35 and BND 0.25 fit every limit.
    from strategies.history import CloseHistory
    from tests.fakes.price_history import weekdays

    rng = np.random.default_rng(seed)
    daily = np.column_stack(
        [
            rng.normal(0.0012, 0.010, 252),
            rng.normal(0.0006, 0.015, 252),
            rng.normal(-0.0008, 0.004, 252),
        ]
    )
    closes = 100 * np.vstack([np.ones(3), np.cumprod(1 + daily, axis=0)])
    symbols = ("VTI", "QQQ", "BND")
    plugin = load_strategy("max_sharpe")
    strategy = plugin.create(
        plugin.params_model.model_validate(
            {
                "universe": list(symbols),
                "lookback_days": 252,
                "max_weight": "0.4",
                "asset_classes": {"VTI": "equity", "QQQ": "equity", "BND": "bonds"},
                "class_caps": {"equity": "0.75"},
            }
        )
    )
    got = strategy.targets(context(CloseHistory(weekdays(253), symbols, closes)))
    assert {s: str(w) for s, w in got.items()} == {
        "VTI": "0.400000000",
        "QQQ": "0.350000000",
        "BND": "0.250000000",
    }
