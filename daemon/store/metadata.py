"""The complete metadata of trimtab's own tables (a broker's tables sit on its own)."""

from __future__ import annotations

__all__ = ["full_metadata"]

from sqlalchemy import MetaData


def full_metadata() -> MetaData:
    """Import every module that declares tables and return the shared metadata."""
    import daemon.store.cluster_models
    import daemon.store.daemon_models
    import daemon.store.models
    import daemon.store.performance_models
    import daemon.store.price_history
    import daemon.store.tax_models  # noqa: F401
    from daemon.store.base import Base

    return Base.metadata
