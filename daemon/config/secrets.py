"""What the configuration holds that must never be shown: its secrets, and the notification
URLs (tokens) whose form is checked without ever being echoed."""

from __future__ import annotations

__all__ = ["quiet_apprise", "secret_values", "url_understood"]

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from daemon.config.urls import url_secrets

if TYPE_CHECKING:
    from daemon.config.settings import Settings


@contextmanager
def quiet_apprise() -> Iterator[Any]:
    """Import apprise with its plugins' import-time deprecation warnings silenced (imghdr on
    Python 3.11), and keep its own logger, which writes URLs at debug level, to itself."""
    logging.getLogger("apprise").propagate = False
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"apprise\..*")
        warnings.filterwarnings("ignore", message=r".*'imghdr' is deprecated")
        import apprise

        yield apprise


def url_understood(url: str) -> bool:
    """Tell whether apprise has a service for `url` (without contacting it)."""
    with quiet_apprise() as apprise:
        return apprise.Apprise.instantiate(url) is not None


def secret_values(settings: Settings) -> frozenset[str]:
    """Every secret the configuration holds, to scrub from anything sent out."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.add(secret)
            found.update(url_secrets(secret))
        elif isinstance(value, BaseModel):
            walk(value.model_dump())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    walk(settings.model_dump())
    # Very short values would blank out ordinary words; nothing real is that short.
    return frozenset(s for s in found if len(s) >= 4)
