"""The demo a new user runs: the OTC weekly refresh through `spine`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from spine_host import Host
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


def storage_url(project: Path) -> str:
    return str(tomllib.loads((project / "spine.toml").read_text("utf-8"))["storage"]["url"])


def execute(project: Path, *statements: str) -> list[dict[str, object]]:
    """Run SQL on the project's database; return the last statement's rows."""
    with Host(storage_url=storage_url(project), environ={}) as host:
        for statement in statements[:-1]:
            host.storage.execute(statement)
        return host.storage.query(statements[-1])


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

    rejects = run_json(project, "rejects", "list")
    assert isinstance(rejects, list)
    assert len(rejects) == 2
    assert sorted(reject["line_number"] for reject in rejects) == [8, 20]

    checks = run_json(project, "quality", "list")
    assert {check["check_name"]: check["status"] for check in checks} == {
        "row_count": "PASS",
        "venues": "PASS",
        "no_negative_volume": "PASS",
    }


def test_the_demo_run_twice_shows_every_step_skipped_because_its_stage_was_reached(
    project: Path,
) -> None:
    refresh = ("workflows", "run", "otc.weekly_refresh", "-p", f"week_ending={WEEK}")
    assert spine(project, *refresh).returncode == 0
    second = spine(project, *refresh)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "COMPLETED (0 completed, 3 skipped, 0 failed, of 3 steps)" in second.stdout
    assert second.stdout.count("SKIPPED") == 3
    assert second.stdout.count("stage reached") == 3

    latest = run_json(project, "runs", "list", "--workflow", "otc.weekly_refresh")
    assert isinstance(latest, list)
    run = run_json(project, "runs", "show", str(latest[0]["run_id"]))
    assert isinstance(run, dict)
    assert run["status"] == "COMPLETED"
    assert run["steps_skipped"] == 3
    assert run["steps_completed"] == 0
    assert [(step["status"], step["skip_reason"]) for step in run["steps"]] == [
        ("SKIPPED", "stage reached")
    ] * 3
    shown = spine(project, "runs", "show", str(latest[0]["run_id"]))
    assert "0 completed, 3 skipped, 0 failed, of 3" in shown.stdout
    assert shown.stdout.count("stage reached") == 3


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


def test_a_forced_ingest_makes_the_refresh_check_and_summarize_again(project: Path) -> None:
    refresh = ("workflows", "run", "otc.weekly_refresh", "-p", f"week_ending={WEEK}")
    assert spine(project, *refresh).returncode == 0
    forced = spine(project, "pipelines", "run", "otc.ingest_week", "-p", f"week_ending={WEEK}",
                   "--force")  # fmt: skip
    assert forced.returncode == 0, forced.stderr

    run = run_json(project, *refresh)

    assert isinstance(run, dict)
    outputs = {step["step_name"]: step["outputs"] for step in run["steps"]}
    statuses = {step["step_name"]: step["status"] for step in run["steps"]}
    # The week's data was just re-done, so the check and summary built on the old data are
    # stale: they run again rather than being skipped as already done.
    assert outputs["ingest"]["skipped"] is True
    assert statuses == {"ingest": "SKIPPED", "check": "COMPLETED", "summarize": "COMPLETED"}
    assert "skipped" not in outputs["check"]
    assert "skipped" not in outputs["summarize"]
    assert outputs["summarize"]["rows_out"] > 0


def test_a_failed_forced_load_keeps_the_weeks_rows(project: Path) -> None:
    ingest = ("pipelines", "run", "otc.ingest_week", "-p", f"week_ending={WEEK}", "--force")
    assert spine(project, *ingest).returncode == 0
    count = f"SELECT count(*) AS n FROM otc_weekly_volume WHERE week_ending = '{WEEK}'"
    (loaded,) = execute(project, count)
    assert loaded["n"] > 0
    # The database itself refuses the load (a real failure, as a full disk would be).
    if storage_url(project).startswith("sqlite"):
        refuse = [
            "CREATE TRIGGER refuse_load BEFORE INSERT ON otc_weekly_volume "
            "BEGIN SELECT RAISE(ABORT, 'load refused'); END"
        ]
    else:
        refuse = [
            "CREATE FUNCTION refuse_load() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'load refused'; END $$",
            "CREATE TRIGGER refuse_load BEFORE INSERT ON otc_weekly_volume "
            "FOR EACH ROW EXECUTE FUNCTION refuse_load()",
        ]

    (kept,) = execute(project, *refuse, count)
    failed = spine(project, *ingest)

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "load refused" in failed.stdout + failed.stderr
    assert execute(project, count) == [kept] == [loaded]
