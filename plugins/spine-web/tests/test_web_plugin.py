"""The spine-web distribution: found through its entry point, cheap to import, its table built
by its revision script, and ``spine web`` refusing what it cannot do safely."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import spine_web
import sqlalchemy as sa
from spine_web.tables import metadata

from spine_host import Host
from spine_host.testing.hosts import make_test_host

# What `spine --help` must not import because spine-web is installed.
HEAVY = ["starlette", "jinja2", "uvicorn", "markupsafe", "sqlalchemy", "anyio", "spine_web.app"]

PROBE = """
import json, sys
from spine_host.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="spine", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_the_entry_point_loads_and_provides_the_web_tables() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    info = {plugin.name: plugin for plugin in host.plugin_report()}["web"]
    assert info.distribution == "spine-web"
    assert info.status.value == "ok", info.errors
    assert info.provides["tables"] == ["web"]
    assert sorted(info.hooks) == [
        "spine_doctor_checks",
        "spine_register_commands",
        "spine_register_tables",
    ]


def test_spine_help_lists_web_without_importing_the_server(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    output, modules = result.stdout.rsplit("\n", 2)[0], json.loads(result.stdout.splitlines()[-1])
    assert "web" in output
    assert "Serve the dashboard" in output
    loaded = sorted(
        name
        for name in modules
        if any(name == heavy or name.startswith(f"{heavy}.") for heavy in HEAVY)
    )
    assert loaded == []


def test_the_revision_script_builds_what_the_metadata_describes() -> None:
    with make_test_host(spine_web) as host, host.storage.connection() as connection:  # type: ignore[attr-defined]
        inspector = sa.inspect(connection)
        for table in metadata.sorted_tables:
            built = {column["name"]: column for column in inspector.get_columns(table.name)}
            assert list(built) == [column.name for column in table.columns]
            for column in table.columns:
                assert built[column.name]["nullable"] == column.nullable, column.name
            primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
            assert primary == [column.name for column in table.primary_key.columns]
            indexes = {index["name"] for index in inspector.get_indexes(table.name)}
            assert indexes == {index.name for index in table.indexes}


def test_a_database_without_spines_tables_is_refused_and_not_created(
    tmp_path: Path, spine_cli: Callable[..., Any]
) -> None:
    refused = spine_cli(tmp_path, "web", "--port", "0")
    assert refused.returncode == 2
    assert "run `spine db upgrade`" in refused.stderr
    assert not (tmp_path / "spine.db").exists()


def test_allowing_actions_needs_the_audit_table(
    tmp_path: Path, spine_cli: Callable[..., Any]
) -> None:
    # spine's own tables, not the plugin's: as after `pip install spine-web` without an upgrade.
    database = tmp_path / "spine.db"
    with make_test_host(storage_url=f"sqlite:///{database}"):
        pass
    (tmp_path / "spine.toml").write_text(f'[storage]\nurl = "sqlite:///{database}"\n')
    refused = spine_cli(tmp_path, "web", "--port", "0", "--allow-actions")
    assert refused.returncode == 2
    assert "spine db upgrade" in refused.stderr


def test_spine_doctor_reports_the_web_plugin_and_a_token_too_short(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from spine_host.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPINE_WEB_TOKEN", "short-secret")
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    checks = {check["check"]: check for check in json.loads(result.output)}
    assert checks["web"]["status"] == "ok"
    assert checks["web token"]["status"] == "fail"
    assert "12 characters" in checks["web token"]["detail"]
    assert "short-secret" not in result.output
    assert result.exit_code == 1
