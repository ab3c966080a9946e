"""The schedules page: each schedule's trigger, next fires (local and UTC), last outcomes,
missed fires and paused state.

Definitions come from ``validate_schedules`` (plugins and ``spine.toml``, as ``spine schedules
list``), fire times from ``fire_times`` (the scheduler's own arithmetic, DST rules included),
and what happened from the ``ScheduleLedger`` (``schedules`` and ``schedule_runs``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.api import Host, Schedule, SpineError
from spine_host.orchestration.fire_times import fire_times
from spine_host.orchestration.schedule_fire import Fire
from spine_host.orchestration.schedule_ledger import ScheduleLedger, ScheduleState
from spine_host.orchestration.schedule_sources import schedule_origin, validate_schedules
from spine_host.storage import schema

__all__ = ["NextFire", "ScheduleView", "load_schedules"]

_fires = schema.schedule_runs

#: Upcoming fires shown per schedule.
NEXT_FIRES = 3
#: Recorded fires shown per schedule.
LAST_FIRES = 5


@attrs.frozen
class NextFire:
    """One upcoming fire: in the schedule's zone (with its offset) and in UTC."""

    local: str
    utc: datetime


@attrs.frozen(kw_only=True)
class ScheduleView:
    """One schedule as the page shows it."""

    schedule: Schedule
    origin: str
    state: ScheduleState | None
    next_fires: list[NextFire]
    last_fires: list[Fire]
    missed: int
    last_missed: datetime | None

    @property
    def paused(self) -> bool:
        """Whether an operator paused it."""
        return self.state is not None and self.state.paused

    @property
    def condition(self) -> str:
        """``disabled``, ``paused`` or ``enabled``, as ``spine schedules list`` says."""
        if not self.schedule.enabled:
            return "disabled"
        return "paused" if self.paused else "enabled"


def load_schedules(host: Host, now: datetime) -> tuple[list[ScheduleView], str | None]:
    """Every schedule's view, and the configuration problem that hides them (or None)."""
    try:
        schedules = validate_schedules(host)
    except SpineError as exc:
        return [], exc.message
    ledger = ScheduleLedger(host.storage, host.redactor)
    try:
        states = ledger.states()
    except SpineError:  # the tables are missing: nothing recorded yet
        states = {}
    views = []
    for schedule in schedules:
        recorded = schedule.name in states
        views.append(
            ScheduleView(
                schedule=schedule,
                origin=schedule_origin(host, schedule),
                state=states.get(schedule.name),
                next_fires=[
                    NextFire(_local(schedule, moment), moment)
                    for moment in fire_times(schedule, now, NEXT_FIRES)
                ],
                last_fires=ledger.history(schedule.name, limit=LAST_FIRES) if recorded else [],
                **_missed(host, schedule.name) if recorded else {"missed": 0, "last_missed": None},
            )
        )
    return views, None


def _missed(host: Host, name: str) -> dict[str, Any]:
    """How many fires of ``name`` were MISSED, and the latest one (index: name, status)."""
    rows = host.storage.query(
        sa.select(
            sa.func.count().label("missed"), sa.func.max(_fires.c.nominal_fire_at).label("last")
        ).where(_fires.c.schedule_name == name, _fires.c.status == "MISSED")
    )
    return {"missed": int(rows[0]["missed"] or 0), "last_missed": rows[0]["last"]}


def _local(schedule: Schedule, moment: datetime) -> str:
    """``Wed 2026-12-09 06:00 -05:00 America/New_York``."""
    local = moment.astimezone(schedule.zone)
    offset = local.strftime("%z")
    return f"{local:%a %Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]} {schedule.timezone}"
