"""Nominal fire times: cron and interval, strictly after a moment, one rule for daylight saving.

The DST days are pinned for both kinds of change in two zones: New York changes at 02:00 local
(2026-03-08 forward, 2026-11-01 back), London at 01:00 UTC (2026-03-29 forward, 2026-10-25 back).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from spine_host import Schedule
from spine_host.orchestration.fire_times import fire_times, iter_fire_times

NEW_YORK = "America/New_York"
LONDON = "Europe/London"


def cron(expression: str, zone: str = "UTC") -> Schedule:
    return Schedule("test", workflow="w", cron=expression, timezone=zone)


def local_and_utc(schedule: Schedule, after_local: str, count: int) -> list[tuple[str, str]]:
    """Fires as ('2026-03-08 03:00 -0400', '2026-03-08 07:00') pairs, after a local moment."""
    after = datetime.fromisoformat(after_local).replace(tzinfo=schedule.zone)
    return [
        (f"{t.astimezone(schedule.zone):%Y-%m-%d %H:%M %z}", f"{t:%Y-%m-%d %H:%M}")
        for t in fire_times(schedule, after, count)
    ]


@pytest.mark.parametrize(
    ("expression", "zone", "after", "expected"),
    [
        pytest.param(
            "30 2 * * *",
            NEW_YORK,
            "2026-03-06T12:00",
            [
                ("2026-03-07 02:30 -0500", "2026-03-07 07:30"),
                # 02:30 does not exist: once, at the next valid instant, 03:00 EDT
                ("2026-03-08 03:00 -0400", "2026-03-08 07:00"),
                ("2026-03-09 02:30 -0400", "2026-03-09 06:30"),
            ],
            id="new-york-02:30-spring-forward",
        ),
        pytest.param(
            "30 1 * * *",
            NEW_YORK,
            "2026-03-06T12:00",
            [
                ("2026-03-07 01:30 -0500", "2026-03-07 06:30"),
                ("2026-03-08 01:30 -0500", "2026-03-08 06:30"),  # before the change: untouched
                ("2026-03-09 01:30 -0400", "2026-03-09 05:30"),
            ],
            id="new-york-01:30-spring-forward",
        ),
        pytest.param(
            "30 1 * * *",
            NEW_YORK,
            "2026-10-30T12:00",
            [
                ("2026-10-31 01:30 -0400", "2026-10-31 05:30"),
                # 01:30 happens twice: once, at the first (EDT) occurrence; not again at 06:30 UTC
                ("2026-11-01 01:30 -0400", "2026-11-01 05:30"),
                ("2026-11-02 01:30 -0500", "2026-11-02 06:30"),
            ],
            id="new-york-01:30-fall-back",
        ),
        pytest.param(
            "30 2 * * *",
            NEW_YORK,
            "2026-10-30T12:00",
            [
                ("2026-10-31 02:30 -0400", "2026-10-31 06:30"),
                ("2026-11-01 02:30 -0500", "2026-11-01 07:30"),  # after the change: once
                ("2026-11-02 02:30 -0500", "2026-11-02 07:30"),
            ],
            id="new-york-02:30-fall-back",
        ),
        pytest.param(
            "30 1 * * *",
            LONDON,
            "2026-03-27T12:00",
            [
                ("2026-03-28 01:30 +0000", "2026-03-28 01:30"),
                ("2026-03-29 02:00 +0100", "2026-03-29 01:00"),  # 01:30 does not exist
                ("2026-03-30 01:30 +0100", "2026-03-30 00:30"),
            ],
            id="london-01:30-spring-forward",
        ),
        pytest.param(
            "30 1 * * *",
            LONDON,
            "2026-10-23T12:00",
            [
                ("2026-10-24 01:30 +0100", "2026-10-24 00:30"),
                ("2026-10-25 01:30 +0100", "2026-10-25 00:30"),  # the first of two 01:30s
                ("2026-10-26 01:30 +0000", "2026-10-26 01:30"),
            ],
            id="london-01:30-fall-back",
        ),
    ],
)
def test_daily_fires_across_dst_changes(
    expression: str, zone: str, after: str, expected: list[tuple[str, str]]
) -> None:
    assert local_and_utc(cron(expression, zone), after, len(expected)) == expected


def test_wednesdays_at_six_keep_local_time_as_the_utc_offset_changes() -> None:
    fires = local_and_utc(cron("0 6 * * WED", NEW_YORK), "2026-02-26T00:00", 4)
    assert fires == [
        ("2026-03-04 06:00 -0500", "2026-03-04 11:00"),
        ("2026-03-11 06:00 -0400", "2026-03-11 10:00"),
        ("2026-03-18 06:00 -0400", "2026-03-18 10:00"),
        ("2026-03-25 06:00 -0400", "2026-03-25 10:00"),
    ]


def test_half_hourly_on_the_fall_back_night_fires_each_local_time_once() -> None:
    fires = local_and_utc(cron("*/30 * * * *", NEW_YORK), "2026-11-01T00:15", 5)
    assert fires == [
        ("2026-11-01 00:30 -0400", "2026-11-01 04:30"),
        ("2026-11-01 01:00 -0400", "2026-11-01 05:00"),
        ("2026-11-01 01:30 -0400", "2026-11-01 05:30"),
        # 01:00 and 01:30 EST are the same local times again: not fired twice
        ("2026-11-01 02:00 -0500", "2026-11-01 07:00"),
        ("2026-11-01 02:30 -0500", "2026-11-01 07:30"),
    ]


def test_missing_local_times_that_land_on_one_instant_fire_once() -> None:
    fires = local_and_utc(cron("*/30 * * * *", NEW_YORK), "2026-03-08T01:15", 3)
    # 02:00 and 02:30 do not exist; both move to 03:00, which is itself a fire: one fire
    assert fires == [
        ("2026-03-08 01:30 -0500", "2026-03-08 06:30"),
        ("2026-03-08 03:00 -0400", "2026-03-08 07:00"),
        ("2026-03-08 03:30 -0400", "2026-03-08 07:30"),
    ]


def test_a_whole_year_of_half_hours_repeats_no_local_time_and_skips_none() -> None:
    schedule = cron("0,30 * * * *", NEW_YORK)
    zone = ZoneInfo(NEW_YORK)
    start = datetime(2026, 1, 1, tzinfo=zone)
    fires = fire_times(schedule, start - timedelta(seconds=1), 365 * 48)
    assert fires == sorted(set(fires))  # strictly increasing: no instant twice
    walls = [f"{t.astimezone(zone):%Y-%m-%d %H:%M}" for t in fires]
    assert len(walls) == len(set(walls))  # no local wall-clock time twice
    every_half_hour = {
        f"{start.replace(tzinfo=None) + timedelta(minutes=30 * n):%Y-%m-%d %H:%M}"
        for n in range(365 * 48)
    }
    # Only the two times that do not exist (02:00 and 02:30 on 2026-03-08) are not local
    # fire times; they fired as 03:00, the next valid instant.
    assert every_half_hour - set(walls) == {"2026-03-08 02:00", "2026-03-08 02:30"}


def test_fires_are_strictly_after_the_given_moment() -> None:
    schedule = cron("0 6 * * *")
    at_a_fire = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    assert fire_times(schedule, at_a_fire, 1) == [datetime(2026, 1, 6, 6, 0, tzinfo=UTC)]


def test_a_moment_inside_the_repeated_hour_is_past_the_first_occurrence() -> None:
    # 06:15 UTC on 2026-11-01 is 01:15 EST, the second 01:15 of the night: 01:30 EDT is past.
    schedule = cron("30 1 * * *", NEW_YORK)
    after = datetime(2026, 11, 1, 6, 15, tzinfo=UTC)
    assert fire_times(schedule, after, 1) == [datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]


def test_intervals_count_elapsed_time_from_the_epoch_whatever_the_zone() -> None:
    schedule = Schedule("hourly", workflow="w", interval="1h", timezone=NEW_YORK)
    after = datetime(2026, 3, 8, 5, 20, tzinfo=UTC)  # 00:20 EST, the night clocks go forward
    fires = fire_times(schedule, after, 4)
    assert fires[0] == datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # on the hour, UTC
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(hours=1)] * 3


def test_an_interval_fire_time_does_not_depend_on_the_start() -> None:
    schedule = Schedule("quarter", pipeline="p", interval="15m")
    first = fire_times(schedule, datetime(2026, 1, 1, 0, 7, tzinfo=UTC), 1)
    later = fire_times(schedule, datetime(2026, 1, 1, 0, 14, 59, tzinfo=UTC), 1)
    assert first == later == [datetime(2026, 1, 1, 0, 15, tzinfo=UTC)]


def test_fire_times_are_aware_utc() -> None:
    fire = fire_times(cron("0 6 * * WED", NEW_YORK), datetime(2026, 1, 1, tzinfo=UTC), 1)[0]
    assert fire.utcoffset() == timedelta(0)


def test_a_date_that_never_comes_has_no_fire_times() -> None:
    assert fire_times(cron("0 0 30 2 *"), datetime(2026, 1, 1, tzinfo=UTC), 3) == []


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next(iter_fire_times(cron("* * * * *"), datetime(2026, 1, 1)))
