"""A PostgreSQL database that cannot be reached is named without any part of its password,
even one written with an unencoded `@` (the driver then reads the password's tail as the
host and quotes it in its own message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.core.errors import StateError
from daemon.store.db import open_database


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres:S3cret@PW99@nohost.invalid/test",
        "postgresql+psycopg://postgres:S3cret%40PW99@nohost.invalid/test",
    ],
)
def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path, url: str) -> None:
    with pytest.raises(StateError) as raised:
        open_database(url, tmp_path / "state")
    message = str(raised.value)
    assert message.startswith("cannot reach database postgresql+psycopg://postgres:***@")
    assert "nohost.invalid" in message
    assert "S3cret" not in message
    assert "PW99" not in message
