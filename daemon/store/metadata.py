"""The complete metadata: trimtab's own tables plus the built-in simulated broker's."""

from __future__ import annotations

__all__ = ["full_metadata"]

from sqlalchemy import MetaData


def full_metadata() -> MetaData:
    """Import every module that declares tables and return the shared metadata."""
    import adapters.sim.models  # noqa: F401
    import daemon.store.daemon_models
    import daemon.store.models
    import daemon.store.performance_models
    import daemon.store.tax_models  # noqa: F401
    from daemon.store.base import Base

    return Base.metadata
