"""``otc.weekly``: the example's schedule, seen through `spine schedules` as a user sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from spine_otc.schedules import previous_friday, weekly

SPINE = str(Path(sys.executable).with_name("spine"))


def spine(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "spine.toml").write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "spine.db"}"\n', encoding="utf-8"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    return subprocess.run(
        [SPINE, *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60
    )


def test_next_shows_five_wednesdays_at_six_new_york_time_across_dst(tmp_path: Path) -> None:
    result = spine(
        tmp_path, "schedules", "next", "otc.weekly", "--count", "5", "--after", "2026-02-26"
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [(row[1], row[2], row[3], row[4]) for row in rows] == [
        ("Wed", "2026-03-04", "06:00:00", "-05:00"),
        ("Wed", "2026-03-11", "06:00:00", "-04:00"),  # clocks went forward on 2026-03-08
        ("Wed", "2026-03-18", "06:00:00", "-04:00"),
        ("Wed", "2026-03-25", "06:00:00", "-04:00"),
        ("Wed", "2026-04-01", "06:00:00", "-04:00"),
    ]
    assert [row[7] for row in rows] == ["11:00:00", "10:00:00", "10:00:00", "10:00:00", "10:00:00"]
    # each run loads the week that ended the Friday before
    assert [row[-1] for row in rows] == [
        "week_ending=2026-02-27",
        "week_ending=2026-03-06",
        "week_ending=2026-03-13",
        "week_ending=2026-03-20",
        "week_ending=2026-03-27",
    ]


def test_list_shows_the_schedule_from_the_otc_plugin(tmp_path: Path) -> None:
    result = spine(tmp_path, "schedules", "list", "--json")
    assert result.returncode == 0, result.stderr
    [listed] = [item for item in json.loads(result.stdout) if item["name"] == "otc.weekly"]
    assert listed["workflow"] == "otc.weekly_refresh"
    assert (listed["cron"], listed["timezone"], listed["from"]) == (
        "0 6 * * WED",
        "America/New_York",
        "otc",
    )


@pytest.mark.parametrize(
    ("day", "friday"),
    [
        ("2025-12-31", "2025-12-26"),  # Wednesday
        ("2026-01-02", "2025-12-26"),  # a Friday: the Friday before, not itself
        ("2026-01-03", "2026-01-02"),  # Saturday
    ],
)
def test_week_ending_is_the_friday_before_the_logical_date(day: str, friday: str) -> None:
    assert previous_friday(datetime.fromisoformat(day)) == friday


def test_the_weekly_params_come_from_the_new_york_date() -> None:
    # Wednesday 2025-12-31 06:00 EST is 11:00 UTC
    logical = datetime(2025, 12, 31, 11, 0, tzinfo=UTC)
    assert weekly.params_for(logical) == {"week_ending": "2025-12-26"}


def test_backfill_december_2025_runs_each_week_once_then_skips_them(tmp_path: Path) -> None:
    assert spine(tmp_path, "db", "upgrade").returncode == 0
    december = ("--from", "2025-12-01", "--to", "2025-12-31")
    first = spine(tmp_path, "schedules", "backfill", "otc.weekly", *december)
    assert first.returncode == 0, first.stdout + first.stderr
    rows = [line.split() for line in first.stdout.splitlines()[2:]]
    # Wednesdays 06:00 New York (11:00 UTC in winter), each for the Friday before.
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (day, "11:00:00", "SUCCEEDED")
        for day in ("2025-12-03", "2025-12-10", "2025-12-17", "2025-12-24", "2025-12-31")
    ]
    history = json.loads(spine(tmp_path, "schedules", "history", "otc.weekly", "--json").stdout)
    runs = [spine(tmp_path, "runs", "show", fire["run_id"], "--json") for fire in history]
    weeks = sorted(json.loads(run.stdout)["params"]["week_ending"] for run in runs)
    assert weeks == ["2025-11-28", "2025-12-05", "2025-12-12", "2025-12-19", "2025-12-26"]

    again = spine(tmp_path, "schedules", "backfill", "otc.weekly", *december)
    assert again.returncode == 0, again.stderr
    assert "5 of 5 fire time(s) already succeeded: skipped" in again.stderr
    assert "nothing to backfill: every fire of otc.weekly in the range already ran" in again.stdout
    again_history = spine(tmp_path, "schedules", "history", "otc.weekly", "--json").stdout
    assert len(json.loads(again_history)) == 5
