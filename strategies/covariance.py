"""Returns and covariance estimates from a window of closes (pure numpy).

| estimator | what it is |
|---|---|
| `sample` | the unbiased sample covariance of daily simple returns (divisor n - 1) |
| `ledoit_wolf` | Ledoit & Wolf (2004): the maximum-likelihood covariance (divisor n) shrunk toward `mu·I`, `mu` its mean variance, with their optimal shrinkage; the same estimate as scikit-learn's `LedoitWolf` |
"""  # noqa: E501 (a table row per estimator reads better than wrapped cells)

from __future__ import annotations

__all__ = ["Estimator", "covariance", "ledoit_wolf", "returns"]

from typing import Literal

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
Estimator = Literal["sample", "ledoit_wolf"]


def returns(closes: Matrix) -> Matrix:
    """Daily simple returns, one row fewer than `closes`."""
    result: Matrix = closes[1:] / closes[:-1] - 1.0
    return result


def covariance(daily: Matrix, estimator: Estimator) -> Matrix:
    if estimator == "sample":
        return np.atleast_2d(np.cov(daily, rowvar=False, ddof=1))
    return ledoit_wolf(daily)


def ledoit_wolf(daily: Matrix) -> Matrix:
    """Shrink the covariance of `daily` (observations × assets) toward a scaled identity."""
    n, p = daily.shape
    x = daily - daily.mean(axis=0)
    emp = x.T @ x / n
    mu = float(np.trace(emp)) / p
    x2 = x**2
    # beta: how noisy the sample covariance is; delta: how far it is from mu·I (both / p).
    beta_sum = float((x2.T @ x2).sum()) / n
    delta_sum = float((emp**2).sum())
    beta = (beta_sum - delta_sum) / (p * n)
    delta = (delta_sum - 2 * mu * float(np.trace(emp)) + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0 else beta / delta
    shrunk: Matrix = (1 - shrinkage) * emp
    shrunk[np.diag_indices(p)] += shrinkage * mu
    return shrunk
