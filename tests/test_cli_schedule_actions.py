"""``spine schedules run-now|pause|resume|history|backfill`` and ``spine scheduler run``'s refusals,
as an operator runs them: real ``spine`` processes on a SQLite file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.plugin_distributions import SPINE
from tests.plugins.schedule_processes import REPO, prepare

# The example plugin (spine-otc, installed for the README's demo) is left out: these tests
# list and count schedules.
# Real `spine` processes, a second each: run in the main session, left out of the bare one.
pytestmark = pytest.mark.slow

SCHEDULES = """
[plugins]
disable = ["otc"]

[schedules.fast]
workflow = "sched.tick"
cron = "0 6 * * *"
timezone = "Europe/London"

[schedules.broken]
workflow = "sched.fail"
interval = "1h"
"""


NO_EXAMPLE = '[plugins]\ndisable = ["otc"]\n'


def runner(config: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    """``run(*args)``: ``spine --config CONFIG ARGS`` in a real process."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SPINE, "--config", str(config), *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def spine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return runner(*prepare(tmp_path, f"sqlite:///{tmp_path}/spine.db", SCHEDULES))


def statuses(table: str) -> list[str]:
    """The STATUS column of a fire table (the time before it is two words)."""
    return [line.split()[2] for line in table.splitlines()[2:]]


def listed(spine) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {item["name"]: item for item in json.loads(spine("schedules", "list", "--json").stdout)}


def test_run_now_runs_once_and_is_in_the_history(spine) -> None:
    result = spine("schedules", "run-now", "fast")
    assert result.returncode == 0, result.stderr
    assert "SUCCEEDED" in result.stdout
    assert "run-now" in result.stdout
    history = json.loads(spine("schedules", "history", "fast", "--json").stdout)
    assert [(fire["status"], fire["fired_by"]) for fire in history] == [("SUCCEEDED", "run-now")]
    assert history[0]["run_id"]
    shown = spine("runs", "show", history[0]["run_id"])
    assert "schedule:fast" in shown.stdout


def test_run_now_of_a_failing_target_exits_1_with_the_reason(spine) -> None:
    result = spine("schedules", "run-now", "broken")
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    assert "told to fail" in result.stdout


def test_pause_and_resume_show_in_list_and_next(spine) -> None:
    assert spine("schedules", "pause", "fast").returncode == 0
    listed = {
        item["name"]: item for item in json.loads(spine("schedules", "list", "--json").stdout)
    }
    assert (listed["fast"]["paused"], listed["broken"]["paused"]) == (True, False)
    table = spine("schedules", "list").stdout
    assert "paused" in next(line for line in table.splitlines() if line.startswith("fast"))
    upcoming = json.loads(spine("schedules", "next", "--count", "3", "--json").stdout)
    assert {fire["schedule"] for fire in upcoming} == {"broken"}
    assert spine("schedules", "resume", "fast").returncode == 0
    listed = {
        item["name"]: item for item in json.loads(spine("schedules", "list", "--json").stdout)
    }
    assert listed["fast"]["paused"] is False


def test_unknown_schedule_is_a_usage_error_naming_the_known_ones(spine) -> None:
    for command in ("run-now", "pause", "resume", "history"):
        result = spine("schedules", command, "nope")
        assert result.returncode == 2, (command, result.stderr)
        assert "no schedule named 'nope'; known: broken, fast" in result.stderr


def test_history_of_a_schedule_that_never_fired_says_so(spine) -> None:
    result = spine("schedules", "history", "fast")
    assert result.returncode == 0
    assert "fast has not fired yet" in result.stdout


def test_backfill_runs_each_fire_once_then_skips_them_all(spine) -> None:
    dry = spine("schedules", "backfill", "fast", "--from", "2026-03-28", "--to", "2026-03-30",
                "--dry-run", "--json")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    # 06:00 London: GMT until 29 March 2026, BST from then.
    assert [(row["utc"], row["action"]) for row in json.loads(dry.stdout)] == [
        ("2026-03-28 06:00:00", "run"),
        ("2026-03-29 05:00:00", "run"),
        ("2026-03-30 05:00:00", "run"),
    ]
    first = spine("schedules", "backfill", "fast", "--from", "2026-03-28", "--to", "2026-03-30")
    assert first.returncode == 0, first.stderr
    assert statuses(first.stdout) == ["SUCCEEDED"] * 3
    again = spine("schedules", "backfill", "fast", "--from", "2026-03-28", "--to", "2026-03-30")
    assert again.returncode == 0
    assert "3 of 3 fire time(s) already succeeded: skipped" in again.stderr
    assert "nothing to backfill" in again.stdout
    history = json.loads(spine("schedules", "history", "fast", "--json").stdout)
    assert [fire["fired_by"] for fire in history] == ["backfill"] * 3


def test_backfill_runs_failed_fires_again(spine) -> None:
    first = spine("schedules", "backfill", "broken", "--from", "2026-01-01", "--to", "2026-01-01")
    assert first.returncode == 1
    assert statuses(first.stdout) == ["FAILED"] * 24
    again = spine("schedules", "backfill", "broken", "--from", "2026-01-01", "--to", "2026-01-01")
    assert again.returncode == 1
    assert statuses(again.stdout) == ["FAILED"] * 24  # each hour ran again, still failing
    history = json.loads(spine("schedules", "history", "broken", "--json").stdout)
    assert len(history) == 24  # one row per fire time, whatever the attempts


def test_backfill_refuses_a_range_that_ends_before_it_starts(spine) -> None:
    result = spine("schedules", "backfill", "fast", "--from", "2026-03-30", "--to", "2026-03-28")
    assert result.returncode == 2
    assert "--to is before --from" in result.stderr


def test_scheduler_run_without_schedules_is_a_usage_error(tmp_path: Path) -> None:
    run = runner(*prepare(tmp_path, f"sqlite:///{tmp_path}/spine.db", NO_EXAMPLE))
    result = run("scheduler", "run")
    assert result.returncode == 2
    assert "no schedules to fire" in result.stderr


def test_a_secret_in_schedule_params_is_never_printed_or_stored_in_schedules(
    tmp_path: Path,
) -> None:
    secret = "s3cr3t-token-value-41"
    config, env = prepare(
        tmp_path,
        f"sqlite:///{tmp_path}/spine.db",
        NO_EXAMPLE
        + '[schedules.api]\nworkflow = "sched.tick"\ninterval = "1h"\n'
        + 'params = { token = "${SCHED_TOKEN}", day = "{logical_date:%Y-%m-%d}" }\n',
    )
    env["SCHED_TOKEN"] = secret
    run = runner(config, env)

    outputs = [
        run("schedules", "list"),
        run("schedules", "list", "--json"),
        run("schedules", "next", "api", "--count", "2"),
        run("schedules", "next", "api", "--json"),
        run("schedules", "pause", "api"),  # writes the definition to the schedules table
    ]
    for result in outputs:
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout + result.stderr
    assert "token=***" in outputs[2].stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "spine.db") as connection:
        stored = connection.execute("SELECT params FROM schedules").fetchall()
    assert stored
    assert secret not in repr(stored)
