"""Plugins from real distributions: a dist-info with entry_points.txt on a sys.path entry, as
pip leaves it, driven through the real command line.

Two distributions registering one name are refused by name (never one silently replacing the
other, a built-in included); a plugin that fails to import is named with its entry point and
the exception, never a bare traceback; and a broken broker plugin no account uses does not
stop a command, unless the database keeps tables of its branch.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import distribution
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daemon.bootstrap import broker_migrations, open_app
from daemon.cli import app
from daemon.config.settings import load_config
from daemon.core.errors import PluginNotFound
from daemon.store.db import open_database
from strategies.registry import load_entry_point

CONFIG = """\
state_dir = "state"
exchange = "24/7"
{database}
[accounts.a]
broker = "{broker}"
type = "taxable"
strategy = "{strategy}"
[accounts.a.broker_settings]
starting_cash = "100000"
[accounts.a.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "180", BND = "80" }}
[accounts.a.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.a.policy]
outside_hours = true
"""

SHADOW_STRATEGY = """\
from decimal import Decimal
from pydantic import BaseModel, ConfigDict

class Params(BaseModel):
    model_config = ConfigDict(extra="allow")

class Strategy:
    def universe(self):
        return frozenset({"VTI"})

    def targets(self, context):
        return {"VTI": Decimal(1)}

class Plugin:
    name = "static"
    description = "SHADOW: all in VTI"
    params_model = Params

    def create(self, params):
        return Strategy()

PLUGIN = Plugin()
"""

SHADOW_BROKER = """\
from pydantic import BaseModel, ConfigDict

class Settings(BaseModel):
    model_config = ConfigDict(extra="allow")

class Plugin:
    name = "sim"
    settings_model = Settings

    def create(self, settings, env):
        raise RuntimeError(f"SHADOW sim got settings: {settings.model_dump()}")

PLUGIN = Plugin()
"""

TABLES_BROKER = """\
from pathlib import Path
from pydantic import BaseModel

class Settings(BaseModel):
    pass

class Plugin:
    name = "tables"
    settings_model = Settings
    migrations = Path(__file__).parent / "migrations"

    def create(self, settings, env):
        raise NotImplementedError

PLUGIN = Plugin()
"""

TABLES_MIGRATION = """\
import sqlalchemy as sa
from alembic import op

revision = "tables_0001"
down_revision = None
branch_labels = ("tables",)
depends_on = None

def upgrade():
    op.create_table("tables_things", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("tables_things")
"""

BROKEN = {
    "NameError": "x = undefined_name\n",
    "SyntaxError": "def broken(:\n",
    "ImportError": "from pydantic import BaseModle\n",
    "ZeroDivisionError": "RATE = 1 / 0\n",
}
"""Module bodies that fail on import, by the exception they raise."""


@dataclass
class Sites:
    """Folders of installed distributions, added to sys.path for one test."""

    root: Path
    monkeypatch: pytest.MonkeyPatch
    packages: set[str] = field(default_factory=set)

    def dist(
        self,
        name: str,
        version: str,
        entry_points: Mapping[str, Mapping[str, str]],
        modules: Mapping[str, str],
        *,
        site: str = "site",
    ) -> Path:
        """Write a distribution's dist-info and modules into the folder `site`; return it."""
        folder = self.root / site
        info = folder / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        info.joinpath("METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        sections = [
            f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in eps.items())
            for group, eps in entry_points.items()
        ]
        info.joinpath("entry_points.txt").write_text("\n".join(sections))
        for module, source in modules.items():
            path = folder / module
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
            self.packages.add(Path(module).parts[0].removesuffix(".py"))
        return folder

    def add(self, folder: Path, *, first: bool = False) -> None:
        """Put `folder` on sys.path: after site-packages (as a .pth line or a later install
        puts it), or `first` (as PYTHONPATH does)."""
        path = [str(folder), *sys.path] if first else [*sys.path, str(folder)]
        self.monkeypatch.setattr(sys, "path", path)
        self.forget()

    def forget(self) -> None:
        """Forget what was loaded, so the next command finds the plugins afresh."""
        for module in [m for m in sys.modules if m.split(".")[0] in self.packages]:
            del sys.modules[module]
        importlib.invalidate_caches()
        load_entry_point.cache_clear()


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sites]:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    found = Sites(tmp_path / "sites", monkeypatch)
    found.forget()
    yield found
    monkeypatch.undo()
    found.forget()


def config(
    tmp_path: Path, *, broker: str = "sim", strategy: str = "static", database: str = ""
) -> Path:
    path = tmp_path / "config.toml"
    url = f'database_url = "{database}"\n' if database else ""
    path.write_text(CONFIG.format(broker=broker, strategy=strategy, database=url))
    return path


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def output(result: Result) -> str:
    """What the command printed, on both streams, its lines unwrapped (rich wraps long
    messages at the terminal's width)."""
    return " ".join((result.stdout + result.stderr).split())


def assert_no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.stdout + result.stderr


# Two distributions, one name -----------------------------------------------------------


def test_a_strategy_registered_by_two_distributions_is_refused_naming_both(
    sites: Sites, tmp_path: Path
) -> None:
    sites.add(
        sites.dist(
            "shadowplug",
            "0.1",
            {"trimtab.strategies": {"static": "shadowplug.s:PLUGIN"}},
            {"shadowplug/__init__.py": "", "shadowplug/s.py": SHADOW_STRATEGY},
        )
    )
    path = config(tmp_path)

    listing = cli("strategies")
    assert_no_traceback(listing)
    text = output(listing)
    assert "SHADOW" not in text  # not its description as if it were the one
    for word in ("static", "shadowplug 0.1", "shadowplug.s:PLUGIN", "strategies.static:PLUGIN"):
        assert word in text
    trimtab = f"trimtab {distribution('trimtab').version}"
    assert trimtab in text
    assert "uninstall" in text
    assert "rename" in text
    assert "risk_parity" in text  # the others are listed as ever

    check = cli("config", "check", "-c", str(path))
    assert check.exit_code == 2, output(check)
    assert "accounts.a.strategy" in output(check)
    assert "shadowplug 0.1" in output(check)
    assert trimtab in output(check)

    plan = cli("plan", "-c", str(path))
    assert plan.exit_code == 2, output(plan)
    assert "BUY" not in output(plan)
    assert "shadowplug 0.1" in output(plan)

    shown = cli("strategies", "show", "static")
    assert shown.exit_code == 1
    assert "shadowplug 0.1" in output(shown)


def test_a_broker_registered_by_two_distributions_never_gets_the_settings(
    sites: Sites, tmp_path: Path
) -> None:
    sites.add(
        sites.dist(
            "shadowplug",
            "0.1",
            {"trimtab.brokers": {"sim": "shadowplug.b:PLUGIN"}},
            {"shadowplug/__init__.py": "", "shadowplug/b.py": SHADOW_BROKER},
        )
    )
    path = config(tmp_path)
    for args in (("plan", "-c", str(path)), ("run", "--once", "-c", str(path))):
        result = cli(*args)
        assert_no_traceback(result)
        assert result.exit_code == 2, output(result)
        text = output(result)
        assert "SHADOW" not in text
        assert "'sim'" in text
        assert "shadowplug 0.1" in text
        assert f"trimtab {distribution('trimtab').version}" in text
        assert "uninstall" in text

    schema = cli("config", "schema")
    assert_no_traceback(schema)
    assert schema.exit_code == 1
    assert "shadowplug 0.1" in output(schema)


def test_two_plugins_from_one_distribution_conflict_with_neither_builtin(
    sites: Sites, tmp_path: Path
) -> None:
    """The same distribution found twice on sys.path (an editable install and a built copy;
    one dist-info in two folders) is one registration, not a conflict: so is trimtab's own."""
    for site in ("one", "two"):
        folder = sites.dist(
            "equalplug",
            "0.2",
            {"trimtab.strategies": {"all_vti": "equalplug.s:PLUGIN"}},
            {"equalplug/__init__.py": "", "equalplug/s.py": SHADOW_STRATEGY},
            site=site,
        )
        sites.add(folder, first=site == "one")
    built = sites.root / "built"
    own = distribution("trimtab")
    shutil.copytree(Path(str(own.locate_file(f"trimtab-{own.version}.dist-info"))), built / "x")
    (built / "x").rename(built / f"trimtab-{own.version}.dist-info")
    sites.add(built, first=True)

    listing = cli("strategies")
    assert listing.exit_code == 0, output(listing)
    assert "cannot load" not in output(listing)
    assert output(listing).count("SHADOW: all in VTI") == 1

    plan = cli("plan", "-c", str(config(tmp_path, strategy="all_vti")))
    assert plan.exit_code == 0, output(plan)
    assert "BUY VTI" in output(plan)
    assert "BUY BND" not in output(plan)


# A plugin that fails to import -----------------------------------------------------------


@pytest.mark.parametrize("error", sorted(BROKEN))
def test_a_strategy_plugin_that_fails_to_import_is_named_not_a_traceback(
    sites: Sites, tmp_path: Path, error: str
) -> None:
    sites.add(
        sites.dist(
            "badplugins",
            "0.1",
            {"trimtab.strategies": {"typostrat": "badplugins.typostrat:PLUGIN"}},
            {"badplugins/__init__.py": "", "badplugins/typostrat.py": BROKEN[error]},
        )
    )

    listing = cli("strategies")
    assert_no_traceback(listing)
    assert listing.exit_code == 0
    text = output(listing)
    for word in ("typostrat", "badplugins.typostrat:PLUGIN", "badplugins 0.1", error, "fix"):
        assert word in text
    assert "risk_parity" in text

    schema = cli("config", "schema")
    assert_no_traceback(schema)
    assert schema.exit_code == 1
    assert "typostrat" in output(schema)
    assert error in output(schema)

    named = config(tmp_path, strategy="typostrat")
    for args in (("config", "check", "-c", str(named)), ("plan", "-c", str(named))):
        result = cli(*args)
        assert_no_traceback(result)
        assert result.exit_code == 2, output(result)
        assert "accounts.a.strategy" in output(result)
        assert "badplugins.typostrat:PLUGIN" in output(result)
        assert error in output(result)

    direct = config(tmp_path, strategy="badplugins.typostrat:PLUGIN")
    result = cli("config", "check", "-c", str(direct))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert "badplugins.typostrat:PLUGIN" in output(result)
    assert error in output(result)

    # A working account beside it is not stopped by a plugin it does not use.
    working = config(tmp_path)
    for args in (("config", "check", "-c", str(working)), ("status", "-c", str(working))):
        result = cli(*args)
        assert result.exit_code == 0, output(result)


def test_a_module_attr_plugin_that_fails_to_import_is_named(sites: Sites, tmp_path: Path) -> None:
    folder = sites.root / "loose"
    folder.mkdir(parents=True)
    folder.joinpath("loosebroker.py").write_text(BROKEN["NameError"])
    sites.packages.add("loosebroker")
    sites.add(folder)
    with pytest.raises(PluginNotFound) as raised:
        load_entry_point("trimtab.brokers", "loosebroker:PLUGIN")
    message = str(raised.value)
    assert "cannot load plugin 'loosebroker:PLUGIN'" in message
    assert "NameError: name 'undefined_name' is not defined" in message
    assert "fix:" in message


# A broken broker plugin no account uses ------------------------------------------------------


@pytest.mark.parametrize("error", ["ImportError", "NameError"])
def test_an_unused_broken_broker_plugin_does_not_stop_commands(
    sites: Sites, tmp_path: Path, error: str
) -> None:
    sites.add(
        sites.dist(
            "badplugins",
            "0.1",
            {"trimtab.brokers": {"typobroker": "badplugins.typobroker:PLUGIN"}},
            {"badplugins/__init__.py": "", "badplugins/typobroker.py": BROKEN[error]},
        )
    )
    path = config(tmp_path)
    result = cli("db", "init", "-c", str(path))  # the state database made first, by hand
    assert result.exit_code == 0, output(result)
    assert "database ready" in output(result)
    for args in (("plan", "-c", str(path)), ("run", "--once", "-c", str(path))):
        result = cli(*args)
        assert result.exit_code == 0, output(result)
        assert "BUY" in output(result)

    # A configured one that fails is named, with its exception.
    result = cli("plan", "-c", str(config(tmp_path, broker="typobroker")))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert "badplugins.typobroker:PLUGIN" in output(result)
    assert error in output(result)


def tables_plugin(sites: Sites, *, broken: bool) -> Path:
    site = "broken" if broken else "working"
    body = TABLES_BROKER + (BROKEN["NameError"] if broken else "")
    return sites.dist(
        "tablesplug",
        "1.0",
        {"trimtab.brokers": {"tables": "tablesplug.broker:PLUGIN"}},
        {
            "tablesplug/__init__.py": "",
            "tablesplug/broker.py": body,
            "tablesplug/migrations/tables_0001.py": TABLES_MIGRATION,
        },
        site=site,
    )


def test_a_broker_whose_tables_the_database_keeps_must_load(
    sites: Sites, tmp_path: Path, database_url: str
) -> None:
    """A database that has an unused plugin's branch still finds it; when that plugin fails
    to load, the command stops and names it (its tables need it)."""
    sites.add(tables_plugin(sites, broken=False))
    state = tmp_path / "state"
    # An earlier configuration used it: its branch is in the database.
    open_database(database_url, state, branches=broker_migrations()).close()
    path = config(tmp_path, database=database_url)
    # Beside it, an unused plugin that fails to load: trimtab reads the installed plugins to
    # find the branch, skips that one, and says so.
    sites.add(
        sites.dist(
            "badplugins",
            "0.1",
            {"trimtab.brokers": {"typobroker": "badplugins.typobroker:PLUGIN"}},
            {"badplugins/__init__.py": "", "badplugins/typobroker.py": BROKEN["ImportError"]},
            site="bad",
        )
    )

    result = cli("plan", "-c", str(path))
    assert result.exit_code == 0, output(result)
    assert "BUY" in output(result)
    skipped = [line for line in result.stderr.splitlines() if "broker_plugin_skipped" in line]
    assert len(skipped) == 1, result.stderr
    assert "typobroker" in skipped[0]
    assert "uninstall" in skipped[0]

    sites.monkeypatch.setattr(sys, "path", [p for p in sys.path if "working" not in p])
    sites.add(tables_plugin(sites, broken=True))
    result = cli("plan", "-c", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 1, output(result)
    text = output(result)
    for word in ("'tables'", "tablesplug.broker:PLUGIN", "NameError", "tables_0001", "fix"):
        assert word in text
    assert "BUY" not in text


def test_a_new_database_gets_only_the_configured_brokers_tables(
    sites: Sites, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed plugin no account uses leaves no tables; a reload that adds an account
    with a broker that keeps tables gets them when its broker is first built."""
    from sqlalchemy import inspect

    sites.add(tables_plugin(sites, broken=False))
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__S__BROKER_SETTINGS__API_KEY", "k")
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__S__BROKER_SETTINGS__SECRET_KEY", "s")
    secret = tmp_path / "secret.toml"
    secret.write_text(
        f'state_dir = "state"\nexchange = "24/7"\ndatabase_url = "{database_url}"\n'
        '[accounts.s]\nbroker = "tests.fakes.broker:SECRET_PLUGIN"\ntype = "taxable"\n'
        '[accounts.s.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    trimtab = open_app(secret)
    try:
        tables = set(inspect(trimtab.database.engine).get_table_names())
        assert "tables_things" not in tables
        assert "sim_orders" not in tables
        monkeypatch.delenv("TRIMTAB_ACCOUNTS__S__BROKER_SETTINGS__API_KEY")
        monkeypatch.delenv("TRIMTAB_ACCOUNTS__S__BROKER_SETTINGS__SECRET_KEY")
        trimtab.settings = load_config(config(tmp_path, database=database_url))
        trimtab.brokers.clear()
        broker = trimtab.broker("a")
        assert broker.snapshot({"VTI"}).cash > 0
        assert "sim_orders" in set(inspect(trimtab.database.engine).get_table_names())
    finally:
        trimtab.close()
