"""``spine db upgrade|status`` through the real command line (click's runner, real files)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from spine_host import plugins
from spine_host.cli import cli
from spine_host.cli.db import db_group
from spine_host.storage import schema
from spine_host.storage.migrations import VERSION_TABLE, head_revision

if "db" not in cli.commands:  # until spine_host/cli/__init__.py registers it
    cli.add_command(db_group)


@pytest.fixture(autouse=True)
def sqlite_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure the builtin sqlite plugin is loaded (until BUILTIN_PLUGINS lists it)."""
    if not any(name == "builtin.sqlite" for name, _ in plugins.BUILTIN_PLUGINS):
        monkeypatch.setattr(
            plugins,
            "BUILTIN_PLUGINS",
            (*plugins.BUILTIN_PLUGINS, ("builtin.sqlite", "spine_host.builtins.sqlite")),
        )


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPINE_CONFIG", raising=False)
    path = tmp_path / "spine.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "history.db"}"\n', encoding="utf-8")
    return path


def spine(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_upgrade_creates_the_tables_once_and_status_shows_head(config: Path) -> None:
    status = spine("--config", str(config), "db", "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["current"] is None

    first = spine("--config", str(config), "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert f"to revision {head_revision()}" in first.output

    again = spine("--config", str(config), "db", "upgrade")
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output

    table = spine("--config", str(config), "db", "status")
    assert table.exit_code == 0, table.output
    assert "up to date" in table.output
    assert head_revision() in table.output

    data = json.loads(spine("--config", str(config), "db", "status", "--json").output)
    # Installed plugins may own tables too (the example's, a third party's): each is listed.
    plugin_tables = data.pop("plugin_tables")
    assert data == {
        "url": f"sqlite:///{config.parent / 'history.db'}",
        "dialect": "sqlite",
        "current": head_revision(),
        "head": head_revision(),
        "up_to_date": True,
    }
    assert all(tables["up_to_date"] for tables in plugin_tables)


def test_without_a_config_file_the_default_is_spine_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPINE_CONFIG", raising=False)
    result = spine("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "spine.db").is_file()


def test_upgrade_with_url_overrides_the_configured_database(config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    result = spine("--config", str(config), "db", "upgrade", "--url", f"sqlite:///{other}")
    assert result.exit_code == 0, result.output
    assert other.is_file()
    assert not (tmp_path / "history.db").exists()


@pytest.mark.parametrize(
    "url",
    [
        # DB2's dialect (ibm_db_sa) is installed with spine-db2.
        pytest.param("db2+ibm_db://u:s3cret@h:50000/DB", marks=pytest.mark.shipped_plugins),
        "postgresql://u:s3cret@nowhere.invalid/spine",
    ],
)
def test_upgrade_sql_prints_every_table_without_connecting(config: Path, url: str) -> None:
    result = spine("--config", str(config), "db", "upgrade", "--sql", "--url", url)
    assert result.exit_code == 0, result.output
    created = set(re.findall(r"CREATE TABLE (\w+)", result.output))
    # Every spine table; installed plugins' tables follow (the example's, any third party's).
    assert set(schema.metadata.tables) | {VERSION_TABLE} <= created
    assert "s3cret" not in result.output
    assert not (config.parent / "history.db").exists()


def test_an_unknown_scheme_is_a_config_error_naming_it(config: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "db", "status", "--url", "mysql://u:s3cret@h/db"]
    )
    assert result.exit_code == 2
    assert "'mysql'" in result.output
    assert "sqlite" in result.output
    assert "s3cret" not in result.output
