"""What to do with the fires due since a schedule was last handled: run them, or record them MISSED.

A fire is *on time* while ``now - nominal <= misfire_grace``: it runs. Older due fires were
missed (no scheduler ran them in time) and the schedule's catch-up policy decides:

- ``none``: each is recorded MISSED;
- ``latest``: the latest runs, unless an on-time fire follows it; the rest are MISSED;
- ``all``: the latest ``catchup_limit`` run; older ones are MISSED.

Every due nominal time gets a plan entry, so none is dropped silently. The one exception is
bounded and says so: past ``max_recorded_misses`` misses in a row (a per-second schedule down
for a week), the next one is recorded MISSED with a reason naming the whole range, and the
fires inside the range get no row of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from spine_host.orchestration.fire_times import iter_fire_times, last_fire_times
from spine_host.orchestration.schedule import format_interval
from spine_host.orchestration.schedule_fire import CATCH_UP

if TYPE_CHECKING:
    from spine_host.orchestration.schedule import Schedule

__all__ = ["MAX_RECORDED_MISSES", "PlannedFire", "plan_fires"]

#: Misses recorded one by one before the rest of a long outage is summarised in one row.
MAX_RECORDED_MISSES = 1000


@attrs.frozen
class PlannedFire:
    """One due nominal time and what to do with it.

    Attributes:
        nominal: the nominal fire time, aware UTC.
        run: True to run it, False to record it MISSED.
        reason: why it is missed, or ``catch-up`` for a late fire that runs.
    """

    nominal: datetime
    run: bool
    reason: str | None = None


def plan_fires(
    schedule: Schedule,
    since: datetime,
    now: datetime,
    *,
    max_recorded_misses: int = MAX_RECORDED_MISSES,
) -> list[PlannedFire]:
    """The plan for every fire of ``schedule`` due in ``(since, now]``, oldest first."""
    grace = timedelta(seconds=schedule.misfire_grace)
    late_until = now - grace
    late: list[datetime] = []
    on_time: list[datetime] = []
    summary: PlannedFire | None = None
    for nominal in iter_fire_times(schedule, since):
        if nominal > now:
            break
        if nominal >= late_until:
            on_time.append(nominal)
        elif len(late) < max_recorded_misses:
            late.append(nominal)
        else:
            summary, tail = _summarised(schedule, nominal, late_until)
            late.extend(tail)
            on_time.extend(_on_time(schedule, late_until, now))
            break
    plan = _apply_policy(schedule, late, bool(on_time))
    if summary is not None:
        plan.insert(len([item for item in plan if item.nominal < summary.nominal]), summary)
    plan.extend(PlannedFire(nominal, run=True) for nominal in on_time)
    return plan


def _apply_policy(
    schedule: Schedule, late: list[datetime], on_time_follows: bool
) -> list[PlannedFire]:
    if not late:
        return []
    grace = format_interval(schedule.misfire_grace)
    if schedule.catchup == "none":
        reason = f"no scheduler ran it within misfire_grace ({grace}); catchup = none"
        return [PlannedFire(nominal, run=False, reason=reason) for nominal in late]
    keep = 0 if on_time_follows else 1
    if schedule.catchup == "all":
        keep = schedule.catchup_limit
        reason = f"more than catchup_limit ({schedule.catchup_limit}) fires were due at once"
    else:
        reason = "catchup = latest runs only the latest due fire"
    cut = max(len(late) - keep, 0)
    return [PlannedFire(nominal, run=False, reason=reason) for nominal in late[:cut]] + [
        PlannedFire(nominal, run=True, reason=CATCH_UP) for nominal in late[cut:]
    ]


def _summarised(
    schedule: Schedule, first_unrecorded: datetime, late_until: datetime
) -> tuple[PlannedFire, list[datetime]]:
    """The summary row for a long run of misses, and the late fires the policy may still run."""
    keep = schedule.catchup_limit if schedule.catchup == "all" else 1
    tail = last_fire_times(
        schedule, late_until - timedelta(microseconds=1), keep, after=first_unrecorded
    )
    end = tail[0] if tail else late_until
    reason = (
        f"missed, with every later fire before {end.isoformat()}, while no scheduler ran "
        "(too many to record one by one)"
    )
    return PlannedFire(first_unrecorded, run=False, reason=reason), tail


def _on_time(schedule: Schedule, late_until: datetime, now: datetime) -> list[datetime]:
    on_time = []
    for nominal in iter_fire_times(schedule, late_until - timedelta(microseconds=1)):
        if nominal > now:
            break
        on_time.append(nominal)
    return on_time
