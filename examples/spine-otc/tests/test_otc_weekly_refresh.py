"""The demo a new user runs: the OTC weekly refresh through `spine`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from spine_host.testing.postgres import temporary_database

SPINE = str(Path(sys.executable).with_name("spine"))
WEEK = "2025-12-26"


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A working directory whose spine.toml points at a fresh, migrated database."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'spine.db'}"
        else:
            request.getfixturevalue("postgres_url")  # skips, or fails in CI, without a server
            url = stack.enter_context(temporary_database())
        (tmp_path / "spine.toml").write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
        assert spine(tmp_path, "db", "upgrade").returncode == 0
        yield tmp_path


def spine(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    return subprocess.run(
        [SPINE, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def run_json(cwd: Path, *args: str) -> object:
    result = spine(cwd, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_weekly_refresh_loads_checks_and_summarizes_a_week(project: Path) -> None:
    result = spine(project, "workflows", "run", "otc.weekly_refresh", "-p", f"week_ending={WEEK}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "COMPLETED" in result.stdout

    (run,) = run_json(project, "runs", "list", "--workflow", "otc.weekly_refresh")
    assert run["status"] == "COMPLETED"

    rejects = run_json(project, "rejects", "list")["rejects"]
    assert len(rejects) == 2
    assert sorted(reject["line_number"] for reject in rejects) == [8, 20]

    checks = run_json(project, "quality", "list")
    assert {check["check_name"]: check["status"] for check in checks} == {
        "row_count": "PASS",
        "venues": "PASS",
        "no_negative_volume": "PASS",
    }


def test_a_finished_week_is_skipped_until_forced(project: Path) -> None:
    args = ("pipelines", "run", "otc.ingest_week", "-p", f"week_ending={WEEK}", "--json")
    first = spine(project, *args)
    assert first.returncode == 0, first.stderr
    again = json.loads(spine(project, *args).stdout)
    assert again["status"] == "SKIPPED"
    forced = json.loads(spine(project, *args, "--force").stdout)
    assert forced["status"] == "COMPLETED"
    assert forced["result"]["rows_out"] == json.loads(first.stdout)["result"]["rows_out"]


def test_a_saturday_is_refused_before_anything_runs(project: Path) -> None:
    result = spine(
        project, "workflows", "run", "otc.weekly_refresh", "-p", "week_ending=2025-12-27"
    )
    assert result.returncode == 2
    assert "week_ending" in result.stderr
    assert "Friday" in result.stderr
