"""The ib_async names trimtab uses, imported in one place.

ib_async is the optional extra `trimtab[ibkr]`: without it, importing this module raises
`ConfigError` naming the extra and how to install it, so an `ibkr` account configured on a
default install fails at start with that sentence rather than a bare ImportError.
"""

from __future__ import annotations

__all__ = [
    "IB",
    "Contract",
    "ExecutionFilter",
    "Fill",
    "LimitOrder",
    "MarketOrder",
    "Order",
    "StartupFetch",
    "Stock",
    "Trade",
    "TradeLogEntry",
    "missing_extra",
]

from daemon.core.errors import ConfigError, ConfigProblem


def missing_extra(detail: str) -> ConfigError:
    """Return the error for an `ibkr` account on an install without ib_async."""
    return ConfigError(
        [
            ConfigProblem(
                "accounts.<name>.broker",
                f'broker "ibkr" needs ib_async, which is not installed ({detail})',
                "install the extra: pip install 'trimtab[ibkr]', or uv sync --extra ibkr "
                "(docs/ibkr.md)",
            )
        ]
    )


try:
    from ib_async import (
        IB,
        Contract,
        ExecutionFilter,
        Fill,
        LimitOrder,
        MarketOrder,
        Order,
        StartupFetch,
        Stock,
        Trade,
        TradeLogEntry,
    )
except ImportError as exc:  # pragma: no cover - exercised in a subprocess (tests/unit)
    raise missing_extra(str(exc)) from exc
