"""The scheduler's truth in the database: ``schedules`` (definitions, operator state) and
``schedule_runs`` (one row per fire, claimed by inserting it).

Exactly once across replicas rests on one thing: the unique key (schedule, nominal fire time in
UTC) of ``schedule_runs``. :meth:`ScheduleLedger.claim` inserts the rows of many fires in one
statement that skips the keys already taken (``ON CONFLICT DO NOTHING`` on SQLite and
PostgreSQL, one insert per row elsewhere) and returns the fires this caller won.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from spine_host.errors import SpineError
from spine_host.json_values import json_safe
from spine_host.orchestration.schedule_fire import (
    ON_TIME,
    OPEN_FIRE_STATUSES,
    RUN_NOW,
    Fire,
    FireStatus,
)
from spine_host.redaction import Redactor
from spine_host.storage import schema
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.orchestration.schedule import Schedule
    from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["ScheduleLedger", "ScheduleState"]

_runs = schema.schedule_runs
_schedules = schema.schedules
_CLAIM_CHUNK = 200  # rows per INSERT: well under every dialect's bound-parameter limit
_REASON_LENGTH = 200  # schedule_runs.reason


@attrs.frozen
class ScheduleState:
    """A schedule's row in ``schedules``: what operators and the service changed."""

    name: str
    paused: bool
    catchup_from: datetime | None
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    last_outcome: str | None
    created_at: datetime | None = None


class ScheduleLedger:
    """Reads and writes ``schedules`` and ``schedule_runs`` in ``storage``.

    Args:
        storage: the host's storage adapter.
        redactor: masks secrets (values from ``${ENV}``, secret-named keys) in the schedule
            definitions written to ``schedules``.
    """

    def __init__(self, storage: DatabaseAdapter, redactor: Redactor | None = None) -> None:
        self.storage = storage
        self.redactor = redactor or Redactor()

    # -- definitions and operator state --------------------------------------------------------

    def sync(
        self, schedules: Iterable[Schedule], origins: Mapping[str, str], *, now: datetime
    ) -> dict[str, ScheduleState]:
        """Write each schedule's definition; a new one starts catching up from ``now``.

        A schedule enabled again after being disabled also catches up only from ``now``: the
        fires it was disabled for were not missed, they were not wanted. Rows of schedules no
        longer defined are kept (their history still refers to them). Returns every state.

        Replicas starting together sync one at a time (a named lock), so none of them inserts a
        row another has just inserted.
        """
        with self.storage.lock("spine:schedules-sync"):
            self._sync(schedules, origins, now)
        return self.states()

    def _sync(
        self, schedules: Iterable[Schedule], origins: Mapping[str, str], now: datetime
    ) -> None:
        states = self.states()
        with self.storage.transaction():
            for schedule in schedules:
                values = _definition(schedule, origins.get(schedule.name), self.redactor)
                state = states.get(schedule.name)
                if state is None:
                    self.storage.execute(
                        sa.insert(_schedules).values(
                            **values, paused=False, catchup_from=now, created_at=now
                        )
                    )
                    continue
                was_enabled = self._enabled(schedule.name)
                if schedule.enabled and not was_enabled:
                    values["catchup_from"] = now
                self.storage.execute(
                    sa.update(_schedules)
                    .where(_schedules.c.schedule_name == schedule.name)
                    .values(**values)
                )

    def states(self) -> dict[str, ScheduleState]:
        """Every row of ``schedules`` by name."""
        rows = self.storage.query(
            sa.select(
                _schedules.c.schedule_name,
                _schedules.c.paused,
                _schedules.c.catchup_from,
                _schedules.c.next_fire_at,
                _schedules.c.last_fire_at,
                _schedules.c.last_outcome,
                _schedules.c.created_at,
            )
        )
        return {
            row["schedule_name"]: ScheduleState(
                name=row["schedule_name"],
                paused=bool(row["paused"]),
                catchup_from=row["catchup_from"],
                next_fire_at=row["next_fire_at"],
                last_fire_at=row["last_fire_at"],
                last_outcome=row["last_outcome"],
                created_at=row["created_at"],
            )
            for row in rows
        }

    def paused_names(self) -> set[str]:
        """Names of the schedules an operator paused."""
        rows = self.storage.query(
            sa.select(_schedules.c.schedule_name).where(_schedules.c.paused == sa.true())
        )
        return {row["schedule_name"] for row in rows}

    def set_paused(self, name: str, paused: bool, *, now: datetime) -> bool:
        """Pause or resume ``name``; resuming catches up only from ``now``.

        Returns False when the schedule has no row yet (no scheduler or command synced it).
        """
        values: dict[str, Any] = {"paused": paused}
        if not paused:
            values["catchup_from"] = now
        changed = self.storage.execute(
            sa.update(_schedules).where(_schedules.c.schedule_name == name).values(**values)
        )
        return changed > 0

    def set_next(self, upcoming: Mapping[str, datetime | None]) -> None:
        """Record when each schedule fires next (for people reading the table), in one batch."""
        if not upcoming:
            return
        statement = (
            sa.update(_schedules)
            .where(_schedules.c.schedule_name == sa.bindparam("b_name"))
            .values(next_fire_at=sa.bindparam("b_next", type_=_schedules.c.next_fire_at.type))
        )
        self.storage.executemany(
            statement, [{"b_name": name, "b_next": at} for name, at in sorted(upcoming.items())]
        )

    # -- fires ---------------------------------------------------------------------------------

    def claim_run_now(self, schedule: Schedule, owner: str) -> Fire | None:
        """Claim a run-now fire of ``schedule`` for ``owner`` at this instant; None in the
        unlikely case that exact instant was claimed already.

        Its nominal time is now, never a whole second (a trigger time always is), so it never
        takes the (schedule, time) key of a real fire.
        """
        now = utc_now()
        nominal = now if now.microsecond else now.replace(microsecond=1)
        claimed = self.claim(
            [
                Fire(
                    schedule_name=schedule.name,
                    nominal_time=nominal,
                    status=FireStatus.CLAIMED,
                    fired_by=RUN_NOW,
                    logical_date=nominal.astimezone(schedule.zone).isoformat(),
                    claimed_by=owner,
                    claimed_at=now,
                )
            ]
        )
        return claimed[0] if claimed else None

    def claim(self, fires: Sequence[Fire]) -> list[Fire]:
        """Insert the fires' rows; return those inserted here, with their ids.

        A fire whose (schedule, nominal time) row exists already (another replica claimed it,
        or it was recorded before) is left out of the result, never raised.
        """
        if not fires:
            return []
        ids: dict[tuple[str, datetime], int] = {}
        if self.storage.dialect in ("sqlite", "postgresql"):
            for start in range(0, len(fires), _CLAIM_CHUNK):
                chunk = fires[start : start + _CLAIM_CHUNK]
                ids.update(self._claim_on_conflict([_row(fire) for fire in chunk]))
        else:
            for fire in fires:
                ids.update(self._claim_one(_row(fire)))
        return [
            attrs.evolve(fire, fire_id=ids[(fire.schedule_name, fire.nominal_time)])
            for fire in fires
            if (fire.schedule_name, fire.nominal_time) in ids
        ]

    def reclaim(
        self, fire: Fire, *, owner: str, now: datetime, reason: str | None, fired_by: str
    ) -> Fire | None:
        """Take an ended FAILED, SKIPPED or MISSED fire back to CLAIMED (a backfill re-runs it).

        Returns the claimed fire, or None when it is not in one of those states any more.
        """
        changed = self.storage.execute(
            sa.update(_runs)
            .where(
                _runs.c.schedule_name == fire.schedule_name,
                _runs.c.nominal_fire_at == fire.nominal_time,
                _runs.c.status.in_(
                    [FireStatus.FAILED.value, FireStatus.SKIPPED.value, FireStatus.MISSED.value]
                ),
            )
            .values(
                status=FireStatus.CLAIMED.value,
                reason=_reason(reason),
                fired_by=fired_by,
                claimed_by=owner,
                claimed_at=now,
                heartbeat_at=now,
                run_id=None,
                execution_id=None,
                started_at=None,
                finished_at=None,
                error=None,
            )
        )
        return self.fire(fire.schedule_name, fire.nominal_time) if changed else None

    def update(self, fire: Fire, **values: Any) -> Fire:
        """Write ``values`` to the fire's row (only while this owner holds it); return the fire.

        Raises:
            SpineError: when the row no longer names ``fire.claimed_by`` as an open fire (a
                replica resolved it as abandoned): this process must not write its outcome.
        """
        if not self._update_open(fire, values):
            raise SpineError(
                f"schedule {fire.schedule_name!r}: the fire for {fire.nominal_time.isoformat()} "
                "is no longer held by this scheduler (another replica ended it as abandoned)",
                context={"schedule": fire.schedule_name, "nominal": fire.nominal_time},
            )
        updated = attrs.evolve(fire, **values)
        self._note_outcome(updated)
        return updated

    def note_missed(self, fires: Sequence[Fire]) -> None:
        """Update ``schedules.last_outcome`` for MISSED fires this caller recorded."""
        for fire in fires:
            self._note_outcome(fire)

    def fire(self, name: str, nominal: datetime) -> Fire | None:
        """The fire of ``name`` for ``nominal``, if recorded."""
        rows = self.storage.query(
            sa.select(_runs).where(
                _runs.c.schedule_name == name, _runs.c.nominal_fire_at == nominal
            )
        )
        return _fire(rows[0]) if rows else None

    def fires_between(self, name: str, start: datetime, end: datetime) -> dict[datetime, Fire]:
        """Recorded fires of ``name`` with ``start <= nominal <= end``, by nominal time."""
        rows = self.storage.query(
            sa.select(_runs).where(
                _runs.c.schedule_name == name,
                _runs.c.nominal_fire_at >= start,
                _runs.c.nominal_fire_at <= end,
            )
        )
        return {fire.nominal_time: fire for fire in map(_fire, rows)}

    def open_fires(self, name: str | None = None) -> list[Fire]:
        """Fires still CLAIMED or RUNNING, of ``name`` or of every schedule, oldest first."""
        statement = sa.select(_runs).where(_runs.c.status.in_(OPEN_FIRE_STATUSES))
        if name is not None:
            statement = statement.where(_runs.c.schedule_name == name)
        return [
            _fire(row) for row in self.storage.query(statement.order_by(_runs.c.nominal_fire_at))
        ]

    def last_nominal(self) -> dict[str, datetime]:
        """The latest recorded trigger time of every schedule with fires.

        Run-now fires are left out: their time is when someone asked, not a trigger time, and a
        scheduler must still catch up the trigger times before it.
        """
        rows = self.storage.query(
            sa.select(_runs.c.schedule_name, sa.func.max(_runs.c.nominal_fire_at).label("last"))
            .where(sa.or_(_runs.c.fired_by.is_(None), _runs.c.fired_by != RUN_NOW))
            .group_by(_runs.c.schedule_name)
        )
        # max() keeps its argument's type, so the values come back as aware UTC datetimes.
        return {row["schedule_name"]: row["last"] for row in rows if row["last"] is not None}

    def history(self, name: str, *, limit: int = 50) -> list[Fire]:
        """The latest ``limit`` fires of ``name``, newest first."""
        rows = self.storage.query(
            sa.select(_runs)
            .where(_runs.c.schedule_name == name)
            .order_by(_runs.c.nominal_fire_at.desc())
            .limit(limit)
        )
        return [_fire(row) for row in rows]

    def heartbeat(self, owner: str, *, now: datetime) -> bool:
        """Refresh the heartbeat of every open fire ``owner`` holds; always True (no fence)."""
        self.storage.execute(
            sa.update(_runs)
            .where(_runs.c.claimed_by == owner, _runs.c.status.in_(OPEN_FIRE_STATUSES))
            .values(heartbeat_at=now)
        )
        return True

    def end_abandoned(self, fire: Fire, **values: Any) -> bool:
        """End an open fire of a replica that is gone, if it is still open under that replica."""
        if not self._update_open(fire, values):
            return False
        self._note_outcome(attrs.evolve(fire, **values))
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _enabled(self, name: str) -> bool:
        rows = self.storage.query(
            sa.select(_schedules.c.enabled).where(_schedules.c.schedule_name == name)
        )
        return bool(rows and rows[0]["enabled"])

    def _update_open(self, fire: Fire, values: Mapping[str, Any]) -> bool:
        """Write ``values`` to the fire's row if it is still open under its claimer."""
        row = {_COLUMN.get(key, key): _stored(value) for key, value in values.items()}
        if "reason" in row:
            row["reason"] = _reason(row["reason"])
        changed = self.storage.execute(
            sa.update(_runs)
            .where(
                _runs.c.schedule_run_id == fire.fire_id,
                _runs.c.claimed_by == fire.claimed_by,
                _runs.c.status.in_(OPEN_FIRE_STATUSES),
            )
            .values(**row)
        )
        return changed > 0

    def _claim_on_conflict(self, rows: list[dict[str, Any]]) -> dict[tuple[str, datetime], int]:
        if self.storage.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        statement = (
            insert(_runs)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[_runs.c.schedule_name, _runs.c.nominal_fire_at])
            .returning(_runs.c.schedule_run_id, _runs.c.schedule_name, _runs.c.nominal_fire_at)
        )
        with self.storage.transaction():
            inserted = self.storage.query(statement)
        return {
            (row["schedule_name"], row["nominal_fire_at"]): row["schedule_run_id"]
            for row in inserted
        }

    def _claim_one(self, row: dict[str, Any]) -> dict[tuple[str, datetime], int]:
        try:
            self.storage.execute(sa.insert(_runs).values(**row))
        except SpineError as error:
            if isinstance(error.cause, sa.exc.IntegrityError):
                return {}
            raise
        stored = self.fire(row["schedule_name"], row["nominal_fire_at"])
        assert stored is not None  # inserted just now
        assert stored.fire_id is not None
        return {(stored.schedule_name, stored.nominal_time): stored.fire_id}

    def _note_outcome(self, fire: Fire) -> None:
        last = _schedules.c.last_fire_at
        self.storage.execute(
            sa.update(_schedules)
            .where(
                _schedules.c.schedule_name == fire.schedule_name,
                sa.or_(last.is_(None), last <= fire.nominal_time),
            )
            .values(last_fire_at=fire.nominal_time, last_outcome=fire.status.value)
        )


# Fire attribute -> schedule_runs column, where they differ.
_COLUMN = {"nominal_time": "nominal_fire_at"}


def _stored(value: Any) -> Any:
    if isinstance(value, FireStatus):
        return value.value
    if isinstance(value, dict):
        return json_safe(value)
    return value


def _reason(text: str | None) -> str | None:
    if text is None or len(text) <= _REASON_LENGTH:
        return text
    return text[: _REASON_LENGTH - 3] + "..."


def _row(fire: Fire) -> dict[str, Any]:
    return {
        "schedule_name": fire.schedule_name,
        "nominal_fire_at": fire.nominal_time,
        "logical_date": fire.logical_date,
        "status": fire.status.value,
        "reason": _reason(fire.reason),
        "fired_by": fire.fired_by,
        "claimed_by": fire.claimed_by,
        "claimed_at": fire.claimed_at,
        "heartbeat_at": fire.claimed_at if fire.status.open else None,
        "finished_at": fire.finished_at,
        "error": fire.error,
    }


def _fire(row: Mapping[str, Any]) -> Fire:
    return Fire(
        schedule_name=row["schedule_name"],
        nominal_time=row["nominal_fire_at"],
        status=FireStatus(row["status"]),
        reason=row["reason"],
        fired_by=row["fired_by"] or ON_TIME,
        logical_date=row["logical_date"],
        run_id=row["run_id"],
        execution_id=row["execution_id"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        heartbeat_at=row["heartbeat_at"],
        fire_id=row["schedule_run_id"],
    )


def _definition(schedule: Schedule, origin: str | None, redactor: Redactor) -> dict[str, Any]:
    data = schedule.to_dict()
    return {
        "schedule_name": schedule.name,
        "target_kind": schedule.target_kind,
        "target": schedule.target,
        "params": json_safe(redactor.redact_data(data["params"])),
        "cron_expression": schedule.cron,
        "interval_seconds": int(schedule.interval) if schedule.interval is not None else None,
        "time_zone": schedule.timezone,
        "catchup": schedule.catchup,
        "catchup_limit": schedule.catchup_limit,
        "misfire_grace_seconds": int(schedule.misfire_grace),
        "overlap_policy": schedule.overlap,
        "after_schedules": list(schedule.after),
        "enabled": schedule.enabled,
        "origin": origin,
    }
