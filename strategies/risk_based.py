"""Strategies `inverse_vol`, `risk_parity`, `min_variance`, `max_sharpe` and `hrp`: weights
from the risk of the last `lookback_days` daily returns.

Each reads `lookback_days + 1` closes of its universe (checked: `CloseHistory.window`), takes
the daily simple returns, estimates their covariance (`covariance = "sample"` or
`"ledoit_wolf"`, see `strategies.covariance`), applies its rule (`strategies.optimize`), then
the policy limits. Volatilities in the reasons are annualised with √252.
"""

from __future__ import annotations

__all__ = [
    "HRP",
    "INVERSE_VOL",
    "MAX_SHARPE",
    "MIN_VARIANCE",
    "RISK_PARITY",
    "HrpParams",
    "MaxSharpeParams",
    "RiskParams",
]

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

import numpy as np
from pydantic import Field

from strategies import optimize
from strategies.base import StrategyContext
from strategies.common import HistoryStrategy, Matrix, Plugin, pct
from strategies.covariance import Estimator, covariance, returns
from strategies.params import HistoryParams

YEAR = 252


class RiskParams(HistoryParams):
    covariance: Estimator = Field(
        "sample",
        description='Covariance estimate: "sample", or "ledoit_wolf" (shrunk; use it when '
        "symbols are many or the lookback short).",
    )


class HrpParams(RiskParams):
    linkage: optimize.Linkage = Field(
        "single",
        description="How clusters join (scipy.cluster.hierarchy.linkage method): single "
        "(López de Prado's), complete, average, weighted or ward.",
    )


class MaxSharpeParams(RiskParams):
    risk_free_rate: Annotated[Decimal, Field(ge=-1, le=1, allow_inf_nan=False)] = Field(
        Decimal(0), description="Annual risk-free rate, e.g. 0.04 for 4% (a T-bill's yield)."
    )


@dataclass(frozen=True, slots=True)
class _RiskStrategy(HistoryStrategy[RiskParams]):
    def _covariance(self, closes: Matrix) -> tuple[Matrix, Matrix]:
        daily = returns(closes)
        # On the returns themselves: ledoit_wolf would make a flat symbol look volatile.
        optimize.check_moved(self.name, daily.var(axis=0), self.params.universe)
        return daily, covariance(daily, self.params.covariance)

    def _explain(
        self, weights: Matrix, cov: Matrix, rule: str
    ) -> tuple[dict[str, float], dict[str, str]]:
        vol = np.sqrt(np.diag(cov) * YEAR)
        symbols = self.params.universe
        raw = {s: float(w) for s, w in zip(symbols, weights, strict=True)}
        reasons = {
            s: f"{self.name}: {rule}; volatility {pct(float(v))} a year"
            for s, v in zip(symbols, vol, strict=True)
        }
        return raw, reasons


@dataclass(frozen=True, slots=True)
class InverseVolStrategy(_RiskStrategy):
    """Weight each symbol by the inverse of its volatility: `w_i = (1/σ_i) / Σ_j (1/σ_j)`."""

    name = "inverse_vol"

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        _, cov = self._covariance(closes)
        w = optimize.inverse_vol(self.name, cov, self.params.universe)
        return self._explain(w, cov, "weight ∝ 1/volatility")


@dataclass(frozen=True, slots=True)
class RiskParityStrategy(_RiskStrategy):
    """Equal risk contribution, long-only: every symbol adds the same `w_i (Σw)_i` to the
    portfolio's variance."""

    name = "risk_parity"

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        _, cov = self._covariance(closes)
        w = optimize.risk_parity(self.name, cov, self.params.universe)
        share = 1 / len(w)
        return self._explain(w, cov, f"equal risk contribution ({pct(share)} of the risk each)")


@dataclass(frozen=True, slots=True)
class MinVarianceStrategy(_RiskStrategy):
    """The long-only, fully invested portfolio of least variance: `min wᵀΣw`, `w ≥ 0`,
    `Σw = 1`."""

    name = "min_variance"

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        _, cov = self._covariance(closes)
        w = optimize.min_variance(self.name, cov, self.params.universe)
        total = float(np.sqrt(w @ cov @ w * YEAR))
        return self._explain(
            w, cov, f"in the least-variance portfolio (portfolio volatility {pct(total)})"
        )


@dataclass(frozen=True, slots=True)
class MaxSharpeStrategy(_RiskStrategy):
    """The long-only, fully invested portfolio of the highest Sharpe ratio:
    `max (μ - r)ᵀw / √(wᵀΣw)`, `μ` the mean daily return, `r` the risk-free rate / 252."""

    name = "max_sharpe"

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        assert isinstance(self.params, MaxSharpeParams)
        daily, cov = self._covariance(closes)
        rate = float(self.params.risk_free_rate) / YEAR
        mean = daily.mean(axis=0)
        w = optimize.max_sharpe(self.name, cov, mean - rate, self.params.universe)
        raw, reasons = self._explain(w, cov, "in the highest-Sharpe portfolio")
        for s, m in zip(self.params.universe, mean, strict=True):
            reasons[s] += (
                f", mean return {pct(float(m) * YEAR)} a year vs risk-free {pct(rate * YEAR)}"
            )
        return raw, reasons


@dataclass(frozen=True, slots=True)
class HrpStrategy(_RiskStrategy):
    """Hierarchical risk parity (López de Prado): correlation distance, `linkage` tree,
    quasi-diagonal order, recursive bisection by inverse-variance cluster variance."""

    name = "hrp"

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        assert isinstance(self.params, HrpParams)
        _, cov = self._covariance(closes)
        w = optimize.hrp(self.name, cov, self.params.universe, self.params.linkage)
        return self._explain(w, cov, f"hierarchical risk parity ({self.params.linkage} linkage)")


INVERSE_VOL = Plugin(
    "inverse_vol",
    "Weights inversely proportional to each symbol's volatility.",
    RiskParams,
    InverseVolStrategy,
)
RISK_PARITY = Plugin(
    "risk_parity",
    "Equal risk contribution (long-only risk parity).",
    RiskParams,
    RiskParityStrategy,
)
MIN_VARIANCE = Plugin(
    "min_variance",
    "Long-only, fully invested minimum-variance portfolio.",
    RiskParams,
    MinVarianceStrategy,
)
MAX_SHARPE = Plugin(
    "max_sharpe",
    "Long-only portfolio of the highest Sharpe ratio over a risk-free rate.",
    MaxSharpeParams,
    MaxSharpeStrategy,
)
HRP = Plugin(
    "hrp",
    "Hierarchical risk parity (López de Prado), linkage configurable.",
    HrpParams,
    HrpStrategy,
)
