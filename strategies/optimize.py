"""The risk-based allocations, as pure functions of a covariance matrix (numpy and scipy).

Each returns long-only weights summing to 1 in the covariance's column order, or raises
`StrategyError` naming the strategy and why; none falls back to another rule.

| function | rule |
|---|---|
| `inverse_vol` | `w_i ∝ 1/σ_i` |
| `risk_parity` | equal risk contribution: `w_i (Σw)_i` equal for all i; Spinu's convex form `min ½yᵀΣy - Σ log y / n`, solved by damped Newton, `w = y / Σy` |
| `min_variance` | `min wᵀΣw` s.t. `w ≥ 0, Σw = 1`; solved as `min vᵀΣv - 2·1ᵀv, v ≥ 0`, `w = v / Σv` |
| `max_sharpe` | `max (μ - r)ᵀw / √(wᵀΣw)` s.t. `w ≥ 0, Σw = 1`; the same with `μ - r` in place of 1 |
| `hrp` | López de Prado's hierarchical risk parity (see `hrp`) |

Why not SLSQP: `min vᵀΣv - 2bᵀv, v ≥ 0` has the KKT conditions of the constrained problem up to
the scale `Σv`, so a few exact linear solves (block principal pivoting) replace an iterative
SLSQP run: 500 symbols take milliseconds instead of seconds, and the answer is exact.
"""  # noqa: E501 (a table row per rule reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "Linkage",
    "check_moved",
    "check_positive_definite",
    "hrp",
    "inverse_vol",
    "max_sharpe",
    "min_variance",
    "risk_parity",
]

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from daemon.core.errors import StrategyError

Matrix = npt.NDArray[np.float64]
Linkage = Literal["single", "complete", "average", "weighted", "ward"]
_FIX = "use covariance = 'ledoit_wolf', a longer lookback_days, or fewer symbols"


def check_moved(strategy: str, variances: Matrix, symbols: Sequence[str]) -> None:
    """Raise, naming the first, if a symbol's variance is zero (or not a number).

    Check the raw returns' variances, before any estimator: shrinkage toward `mu·I` gives a
    symbol that never moved the average variance, so it would look as volatile as the rest.
    """
    flat = np.flatnonzero(~(variances > 1e-18))
    if flat.size:
        symbol = symbols[int(flat[0])]
        raise StrategyError(
            f"strategy {strategy}: {symbol} did not move over the lookback (zero variance), "
            f"so its risk is undefined; drop {symbol} from the universe or lengthen lookback_days"
        )


def _check_variances(strategy: str, cov: Matrix, symbols: Sequence[str]) -> Matrix:
    variances: Matrix = np.diag(cov).copy()
    check_moved(strategy, variances, symbols)
    return variances


def check_positive_definite(strategy: str, cov: Matrix, symbols: Sequence[str]) -> Matrix:
    """Return the Cholesky factor of the correlation of `cov`, or raise if it is singular.

    A pivot `L_ii²` of the correlation's Cholesky factor bounds its smallest eigenvalue from
    above, so a pivot under 1e-10 (or a failed factorisation) means singular for our purposes.
    """
    variances = _check_variances(strategy, cov, symbols)
    scale = np.sqrt(variances)
    corr = cov / np.outer(scale, scale)
    try:
        lower = np.linalg.cholesky(corr)
        pivot = float(np.min(np.diag(lower)) ** 2)
    except np.linalg.LinAlgError:
        pivot = 0.0
    if pivot < 1e-10:
        raise StrategyError(
            f"strategy {strategy}: the covariance of {len(symbols)} symbols is singular: "
            "some symbols move together exactly or there are fewer returns than symbols; "
            f"{_FIX}"
        )
    return lower


def inverse_vol(strategy: str, cov: Matrix, symbols: Sequence[str]) -> Matrix:
    inv = 1.0 / np.sqrt(_check_variances(strategy, cov, symbols))
    result: Matrix = inv / inv.sum()
    return result


def risk_parity(strategy: str, cov: Matrix, symbols: Sequence[str]) -> Matrix:
    check_positive_definite(strategy, cov, symbols)
    n = len(symbols)
    scale = 1.0 / np.sqrt(np.diag(cov))
    c = cov * np.outer(scale, scale)  # the correlation: better conditioned, same solution
    b = np.full(n, 1.0 / n)
    y = np.sqrt(b / np.diag(c).sum() * n) * np.ones(n)
    for _ in range(100):
        grad = c @ y - b / y
        hess = c + np.diag(b / y**2)
        step = np.linalg.solve(hess, grad)
        decrement = float(np.sqrt(grad @ step))
        t = 1.0
        while np.any(y - t * step <= 0):
            t /= 2
        y = y - (t / (1 + decrement) if decrement > 0.25 else t) * step
        if decrement < 1e-12:
            break
    else:
        raise StrategyError(
            f"strategy {strategy}: equal risk contribution did not converge in 100 Newton "
            f"steps; {_FIX}"
        )
    w = y * scale
    result: Matrix = w / w.sum()
    return result


def _nonnegative_direction(strategy: str, cov: Matrix, b: Matrix, symbols: Sequence[str]) -> Matrix:
    """Solve `min vᵀΣv - 2bᵀv, v ≥ 0` and return `v / Σv`.

    Block principal pivoting (Júdice & Pires 1994; Kim & Park 2011) on the KKT conditions
    `λ = Σv - b ≥ 0, v ≥ 0, vᵢλᵢ = 0`: finite for a positive definite Σ, usually a handful of
    linear solves, each checked exactly at the end.
    """
    check_positive_definite(strategy, cov, symbols)
    n = len(symbols)
    free = np.ones(n, dtype=bool)
    v = np.zeros(n)
    tolerance = 1e-10 * float(np.abs(b).max())
    best, backup = n + 1, 3
    for _ in range(10 * n + 10):
        v = np.zeros(n)
        if free.any():
            v[free] = np.linalg.solve(cov[np.ix_(free, free)], b[free])
        slack = cov @ v - b
        wrong = (free & (v < -tolerance)) | (~free & (slack < -tolerance))
        count = int(wrong.sum())
        if count == 0:
            break
        if count < best:
            best, backup = count, 3
            free ^= wrong
        elif backup > 0:
            backup -= 1
            free ^= wrong
        else:
            last = int(np.flatnonzero(wrong)[-1])
            free[last] = not free[last]
    else:
        raise StrategyError(
            f"strategy {strategy}: the optimizer did not find the optimum in {10 * n + 10} "
            f"pivots; {_FIX}"
        )
    v = np.where(free, np.maximum(v, 0.0), 0.0)
    if not np.all(np.isfinite(v)) or v.sum() <= 0:
        raise StrategyError(f"strategy {strategy}: the optimizer found no portfolio; {_FIX}")
    result: Matrix = v / v.sum()
    return result


def min_variance(strategy: str, cov: Matrix, symbols: Sequence[str]) -> Matrix:
    return _nonnegative_direction(strategy, cov, np.ones(len(symbols)), symbols)


def max_sharpe(strategy: str, cov: Matrix, excess: Matrix, symbols: Sequence[str]) -> Matrix:
    """`excess` is each symbol's expected return minus the risk-free rate (same period)."""
    if not np.any(excess > 0):
        best = int(np.argmax(excess))
        raise StrategyError(
            f"strategy {strategy}: no symbol's mean return beats the risk-free rate (best: "
            f"{symbols[best]}), so no portfolio has a positive Sharpe ratio; lower "
            "risk_free_rate, change the lookback_days, or choose another strategy"
        )
    return _nonnegative_direction(strategy, cov, excess, symbols)


def hrp(strategy: str, cov: Matrix, symbols: Sequence[str], linkage: Linkage) -> Matrix:
    """Hierarchical risk parity (López de Prado, 2016).

    1. Correlation distance `d_ij = √(½(1 - ρ_ij))`.
    2. Tree: `scipy.cluster.hierarchy.linkage(squareform(d), method=linkage)`.
    3. Quasi-diagonalisation: order the symbols by the tree's leaves (`leaves_list`).
    4. Recursive bisection: split each cluster of the order in two halves; each half's
       variance is that of its inverse-variance portfolio `ṽ = wᵀΣw`; the left half gets
       `α = 1 - ṽ_left / (ṽ_left + ṽ_right)` of the parent's weight, the right `1 - α`.
    """
    from scipy.cluster.hierarchy import leaves_list
    from scipy.cluster.hierarchy import linkage as build_tree
    from scipy.spatial.distance import squareform

    variances = _check_variances(strategy, cov, symbols)
    n = len(symbols)
    if n == 1:
        return np.ones(1)
    scale = np.sqrt(variances)
    corr = np.clip(cov / np.outer(scale, scale), -1.0, 1.0)
    distance = np.sqrt(np.clip(0.5 * (1.0 - corr), 0.0, None))
    np.fill_diagonal(distance, 0.0)
    distance = (distance + distance.T) / 2
    tree = build_tree(squareform(distance, checks=False), method=linkage)
    order = np.asarray(leaves_list(tree), dtype=np.intp)
    weights = np.ones(n)
    clusters: list[npt.NDArray[np.intp]] = [order]
    while clusters:
        split: list[npt.NDArray[np.intp]] = []
        for cluster in clusters:
            if len(cluster) < 2:
                continue
            half = len(cluster) // 2
            left, right = cluster[:half], cluster[half:]
            left_var, right_var = _cluster_variance(cov, left), _cluster_variance(cov, right)
            alpha = 1.0 - left_var / (left_var + right_var)
            weights[left] *= alpha
            weights[right] *= 1.0 - alpha
            split += [left, right]
        clusters = split
    result: Matrix = weights / weights.sum()
    return result


def _cluster_variance(cov: Matrix, members: npt.NDArray[np.intp]) -> float:
    sub = cov[np.ix_(members, members)]
    inv = 1.0 / np.diag(sub)
    w = inv / inv.sum()
    return float(w @ sub @ w)
