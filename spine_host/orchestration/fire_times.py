"""A schedule's nominal fire times, as aware UTC datetimes, with one rule for daylight saving.

APScheduler 3's triggers do the arithmetic (no cron parser here). Left to itself in a zone with
daylight saving, its ``CronTrigger`` fires ``30 1 * * *`` twice on the fall-back day and returns
a non-existent 02:30 on the spring-forward day (which reads as 03:30, not 03:00). So the cron
trigger runs on wall-clock time in a zone without daylight saving, listing every local
wall-clock time the expression names, and each one becomes an instant here:

- a wall-clock time that happens twice (fall back) fires once, at its first occurrence;
- a wall-clock time that does not exist (spring forward) fires once, at the next valid instant
  (02:30 America/New_York on 2026-03-08 fires at 03:00 EDT = 07:00 UTC); several missing times
  that land on one instant fire once;
- no nominal time repeats, none is skipped.

Intervals are elapsed time, untouched by daylight saving: counted from the Unix epoch in UTC,
so every replica computes the same nominal times whenever it started.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice, takewhile
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from spine_host.orchestration.schedule import Schedule

__all__ = ["fire_times", "iter_fire_times", "last_fire_times"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)
_FIRST_LOOKBACK = timedelta(hours=1)
_LONGEST_LOOKBACK = timedelta(days=366 * 8)  # a cron for 29 February fires within 8 years


def fire_times(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` nominal fire times strictly after ``after``, as aware UTC datetimes.

    ``after`` must be timezone-aware. Fewer than ``count`` come back only when the schedule has
    no more (a cron expression for a date that never comes, such as February 30).
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    return list(islice(iter_fire_times(schedule, after), count))


def iter_fire_times(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """Every nominal fire time strictly after ``after``, in order, as aware UTC datetimes."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"after must be timezone-aware, got {after.isoformat()}")
    after = after.astimezone(UTC)
    if schedule.cron is not None:
        return _cron_times(schedule.cron, schedule.zone, after)
    assert schedule.interval is not None  # a Schedule has exactly one trigger
    return _interval_times(schedule.interval, after)


def last_fire_times(
    schedule: Schedule, until: datetime, count: int, *, after: datetime | None = None
) -> list[datetime]:
    """The last ``count`` nominal fire times at or before ``until`` (and after ``after``),
    oldest first, without walking every fire since ``after``.

    The window looked at grows from an hour until it holds ``count`` fires, so the work is
    bounded by ``count`` and the window, not by how long ago ``after`` was.
    """
    if count <= 0:
        return []
    floor = after if after is not None else until - _LONGEST_LOOKBACK
    window = _FIRST_LOOKBACK
    while True:
        start = max(floor, until - window)
        last: deque[datetime] = deque(maxlen=count)
        last.extend(takewhile(lambda instant: instant <= until, iter_fire_times(schedule, start)))
        if len(last) == count or start <= floor:
            return list(last)
        window *= 4


# -- helpers ------------------------------------------------------------------------------------


def _cron_times(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    from apscheduler.triggers.cron import CronTrigger

    # The trigger works on local wall-clock times, written as UTC datetimes: UTC has no
    # daylight saving, so it lists each wall-clock time the expression names exactly once.
    trigger = CronTrigger.from_crontab(expression, timezone=UTC)
    wall = after.astimezone(zone).replace(tzinfo=UTC, fold=0)
    last: datetime | None = None
    while True:
        nominal = trigger.get_next_fire_time(None, wall + _TICK)
        if nominal is None:
            return
        wall = nominal
        instant = _instant(nominal.replace(tzinfo=None), zone)
        # A wall-clock time in the repeated hour that is later than ``after``'s wall-clock
        # time can still be earlier than ``after`` itself: its first occurrence has passed.
        if instant > after and instant != last:
            last = instant
            yield instant


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a naive local wall-clock time fires at: its first occurrence, or the
    first valid instant after it when the clock skips it."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_clock(first, zone) == wall:
        return first
    # In a gap, fold=0 reads the time with the offset from before the change and fold=1 with
    # the one after; the change itself lies between the two readings. Find it to the second.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if _wall_clock(middle, zone) >= wall:
            high = middle
        else:
            low = middle
    return high


def _wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _interval_times(seconds: float, after: datetime) -> Iterator[datetime]:
    from apscheduler.triggers.interval import IntervalTrigger

    trigger = IntervalTrigger(seconds=seconds, start_date=_EPOCH, timezone=UTC)
    nominal = trigger.get_next_fire_time(None, after)
    while nominal is not None:
        if nominal > after:
            yield nominal.astimezone(UTC)
        nominal = trigger.get_next_fire_time(nominal, nominal)
