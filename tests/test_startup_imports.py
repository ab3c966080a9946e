"""Start-up stays cheap: ``import spine_host``, ``spine --help`` and ``spine --version`` import no
driver or heavy library, ``spine plugins`` imports no plugin's implementation modules, and
``spine runs list`` on SQLite reads without SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Top-level packages no start-up path may import.
HEAVY = [
    "psycopg",
    "ibm_db",
    "ibm_db_sa",
    "requests",
    "pyarrow",
    "sqlalchemy",
    "alembic",
    "apscheduler",
    "cattrs",
    "packaging",
]
# Standard-library modules that cost as much as the rest of `spine --help`.
HEAVY_STDLIB = ["importlib.metadata", "email"]

PROBE = """
import json, sys
from spine_host.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="spine", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""

IMPORT_PROBE = """
import json, sys
import spine_host
from spine_host import hookimpl, SpineError, PluginError, Severity
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(script: str, *args: str, cwd: Path | None = None) -> list[str]:
    """Every module a fresh interpreter has imported after running ``script`` with ``args``."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def heavy_among(modules: list[str]) -> list[str]:
    """The modules of ``modules`` that are on the heavy lists."""
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in HEAVY
        or any(name == heavy or name.startswith(f"{heavy}.") for heavy in HEAVY_STDLIB)
    )


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins", "--help"]])
def test_no_heavy_module_is_imported(args: list[str]) -> None:
    imported = heavy_among(modules_after(PROBE, *args))
    assert imported == [], f"spine {' '.join(args)} imported {imported}"


@pytest.mark.slow
def test_help_reads_only_the_disabled_plugins_of_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "spine.toml").write_text(
        '[storage]\nurl = "sqlite:///spine.db"\n[plugins]\ndisable = ["no-such-plugin"]\n'
    )
    imported = heavy_among(modules_after(PROBE, "--help", cwd=tmp_path))
    assert imported == [], f"spine --help with a spine.toml imported {imported}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list"],
        ["runs", "list", "--json"],
        ["runs", "list", "--workflow", "startup.probe", "--status", "failed", "--since", "7d"],
    ],
)
def test_listing_runs_on_sqlite_imports_no_sqlalchemy(tmp_path: Path, args: list[str]) -> None:
    from datetime import timedelta

    from spine_host.host import Host
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import RunStatus, WorkflowRun
    from spine_host.storage import schema
    from spine_host.storage.types import utc_now

    (tmp_path / "spine.toml").write_text('[storage]\nurl = "sqlite:///spine.db"\n')
    url = f"sqlite:///{tmp_path}/spine.db"
    with Host(load_entrypoints=False, storage_url=url, environ={}) as host:
        schema.metadata.create_all(host.storage.engine)  # type: ignore[attr-defined]
        started = utc_now() - timedelta(hours=1)
        WorkflowHistoryRepository(host.storage).save_run(
            WorkflowRun(
                run_id="5a" * 16,
                workflow="startup.probe",
                status=RunStatus.FAILED,
                params={"week_ending": "2025-12-26"},
                error={"message": "boom"},
                error_category="SOURCE",
                started_at=started,
                finished_at=started + timedelta(seconds=3),
            )
        )
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "5a" * 16 in result.stdout, result.stderr  # the run was listed...
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    imported = sorted(name for name in loaded if name.split(".")[0] in {"sqlalchemy", "alembic"})
    assert imported == [], f"spine {' '.join(args)} imported {imported[:5]}..."  # ...by sqlite3


@pytest.mark.slow
def test_importing_the_package_and_its_plugin_names_is_light() -> None:
    loaded = modules_after(IMPORT_PROBE)
    assert heavy_among(loaded) == []
    # The host, its configuration and the scheduler load when first used, not with the package.
    assert not {"spine_host.host", "spine_host.config", "spine_host.orchestration"} & set(loaded)


@pytest.mark.slow
@pytest.mark.shipped_plugins
def test_listing_plugins_imports_no_implementation_module() -> None:
    loaded = set(modules_after(PROBE, "plugins", "--json"))
    implementation = {
        "spine_otc.pipelines",
        "spine_otc.workflow",
        "spine_otc.schedules",
        "spine_http.source",
        "spine_http.webhook",
        "spine_slack.channel",
        "spine_servicenow.channel",
    }
    assert "spine_otc" in loaded  # the example plugin was loaded...
    assert implementation & loaded == set()  # ...and registered by name only


@pytest.mark.shipped_plugins
def test_every_shipped_plugin_is_installed_so_the_check_means_something() -> None:
    from importlib.metadata import entry_points

    names = {entry_point.name for entry_point in entry_points(group="spine")}
    assert {"postgres", "db2", "slack", "http", "servicenow", "otc"} <= names


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[plugins]\ndisable = ["db2", "${OFF}"]\n[storage]\nbad_key = 1\n', ["db2", "slack"]),
        ('[plugins]\ndisable = "db2"\n', []),  # load_config reports it; listing help does not
        ("not toml [", []),
        ("", []),
    ],
)
def test_the_disabled_plugins_are_read_without_the_rest_of_the_config(
    tmp_path: Path, content: str, expected: list[str]
) -> None:
    from spine_host.config import disabled_plugins

    config = tmp_path / "spine.toml"
    config.write_text(content)
    assert disabled_plugins(config, environ={"OFF": "slack"}) == expected
