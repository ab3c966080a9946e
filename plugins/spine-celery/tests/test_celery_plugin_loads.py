"""spine-celery installs, provides ``celery`` and ``spine worker``, and costs nothing to load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from spine_host import Host

SPINE = Path(sys.executable).with_name("spine")
# Celery and its transports: none may load before a run, a check or a worker uses them.
CELERY_MODULES = ["celery", "kombu", "redis", "amqp", "billiard", "vine"]

PROBE = """
import json, sys
from spine_host.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="spine", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _environment() -> dict[str, str]:
    # No SPINE_* settings of the caller: the plugin as installed.
    return {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}


def test_entry_point_loads_and_provides_the_celery_executor() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    info = {plugin.name: plugin for plugin in host.plugin_report()}["celery"]

    assert info.distribution == "spine-celery"
    assert info.status.value == "ok", info.errors
    assert info.provides == {"executors": ["celery"]}
    from spine_celery.executor import CeleryExecutor

    assert host.registries.executors.get("celery") is CeleryExecutor


def test_spine_plugins_lists_celery(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SPINE), "plugins", "--json"],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed["celery"]["status"] == "ok", listed["celery"]["error"]
    assert listed["celery"]["provides"]["executors"] == ["celery"]
    assert sorted(listed["celery"]["hooks"]) == [
        "spine_register_commands",
        "spine_register_executors",
    ]


def test_spine_help_lists_worker_without_importing_celery(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "--help"],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )

    assert "worker     Run a Celery worker for spine's workflow steps" in result.stdout
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(set(CELERY_MODULES) & set(loaded)) == []


def test_worker_help_imports_no_celery(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "worker", "--help"],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )

    assert "--queues NAME[,NAME...]" in result.stdout
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(set(CELERY_MODULES) & set(loaded)) == []


def test_importing_the_plugin_and_its_executor_imports_no_celery() -> None:
    probe = (
        "import sys, spine_celery, spine_celery.executor; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(CELERY_MODULES)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"
