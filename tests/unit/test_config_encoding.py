"""A config or secrets file that is not UTF-8 is a configuration problem (exit 2) naming the
file, the byte and the line, and the fix; never a traceback, never the file's content. A
UTF-8 byte order mark (what Windows editors write) is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.settings import check_config, load_config
from daemon.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
TOKEN = "ntfytoken-0f3a9d2c7b11"


@pytest.fixture
def config(example: Path) -> Path:
    return example  # tests/conftest.py


def _secrets(config: Path, content: bytes) -> Path:
    secrets = config.parent / "secrets.toml"
    secrets.write_bytes(content)
    secrets.chmod(0o600)
    text = config.read_text().replace(
        '# secrets_file = "secrets.toml"', 'secrets_file = "secrets.toml"'
    )
    config.write_text(text)
    return secrets


def test_a_latin1_comment_is_exit_2_naming_byte_line_and_fix(config: Path) -> None:
    config.write_bytes("# café budget\n".encode("latin-1") + config.read_bytes())
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "config file is not UTF-8 at byte 5 (line 1)" in result.output
    assert "save the file as UTF-8" in result.output
    assert "Traceback" not in result.output


def test_a_non_utf8_byte_further_down_names_its_line(config: Path) -> None:
    lines = config.read_bytes().split(b"\n")
    lines[9] = b"# \xff"
    config.write_bytes(b"\n".join(lines))
    offset = sum(len(line) + 1 for line in lines[:9]) + 2
    [problem] = check_config(config)
    assert problem.problem == f"config file is not UTF-8 at byte {offset} (line 10)"


def test_utf16_is_named(config: Path) -> None:
    config.write_bytes(config.read_text().encode("utf-16"))
    [problem] = check_config(config)
    assert problem.problem == "config file is UTF-16, not UTF-8"
    assert "save the file as UTF-8" in problem.fix


def test_utf16_without_a_byte_order_mark_is_named(config: Path) -> None:
    config.write_bytes(config.read_text().encode("utf-16-le"))
    [problem] = check_config(config)
    assert "holds NUL bytes (line 1)" in problem.problem
    assert "save the file as UTF-8" in problem.fix


def test_a_utf8_byte_order_mark_is_accepted(config: Path) -> None:
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    assert check_config(config) == []
    assert load_config(config).accounts


def test_a_secrets_file_not_in_utf8_never_shows_its_content(config: Path) -> None:
    secret_line = f'[notifications]\nurls = ["ntfys://{TOKEN}@ntfy.sh/x"]\n'.encode()
    secrets = _secrets(config, b"# \xe9t\xe9\n" + secret_line)
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    [problem] = raised.value.problems
    assert problem.path == str(secrets)
    assert problem.problem == "secrets file is not UTF-8 at byte 2 (line 1)"
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert TOKEN not in result.output


def test_a_secrets_file_with_a_byte_order_mark_is_read(config: Path) -> None:
    _secrets(
        config, b"\xef\xbb\xbf" + f'[notifications]\nurls = ["json://localhost/{TOKEN}"]\n'.encode()
    )
    settings = load_config(config)
    assert [u.get_secret_value() for u in settings.notifications.urls] == [
        f"json://localhost/{TOKEN}"
    ]
