"""One fire of a schedule: the ``schedule_runs`` row for a (schedule, nominal time) pair.

A fire is claimed by inserting its row, so each nominal time has one row whatever the number of
scheduler replicas, and the row then follows the fire to its outcome:

    CLAIMED -> RUNNING -> SUCCEEDED | FAILED
    CLAIMED -> SKIPPED (overlap, ``after`` not met, stopped while waiting: ``reason`` says which)
    MISSED  (no scheduler ran it in time and the catch-up policy did not run it)
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = ["BACKFILL", "CATCH_UP", "ON_TIME", "OPEN_FIRE_STATUSES", "RUN_NOW", "Fire", "FireStatus"]

#: ``Fire.fired_by``: due and run on time.
ON_TIME = "schedule"
#: ``Fire.fired_by``: run late by the catch-up policy.
CATCH_UP = "catch-up"
#: ``Fire.fired_by``: asked for by ``spine schedules run-now`` (its time is the request's).
RUN_NOW = "run-now"
#: ``Fire.fired_by``: run by ``spine schedules backfill``.
BACKFILL = "backfill"


class FireStatus(enum.StrEnum):
    """Where a schedule fire stands; CLAIMED and RUNNING are open, the rest are outcomes."""

    CLAIMED = "CLAIMED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    MISSED = "MISSED"

    @property
    def open(self) -> bool:
        """Whether the fire is still being worked on (claimed or running)."""
        return self in (FireStatus.CLAIMED, FireStatus.RUNNING)


#: Status values of fires still being worked on.
OPEN_FIRE_STATUSES = (FireStatus.CLAIMED.value, FireStatus.RUNNING.value)


@attrs.frozen
class Fire:
    """One nominal fire time of one schedule, as recorded in ``schedule_runs``.

    It satisfies the ``ScheduleFire`` protocol that ``spine_schedule_fired`` receives.

    Attributes:
        schedule_name: the schedule.
        nominal_time: the time it was due, aware UTC; with the name, the fire's unique key.
        status: where it stands.
        reason: why it was SKIPPED, MISSED or FAILED.
        fired_by: what made it: ``schedule``, ``catch-up``, ``run-now`` or ``backfill``.
        logical_date: the nominal time in the schedule's zone, ISO 8601 (what params see).
        run_id: the workflow run it started, if any.
        execution_id: the pipeline execution it started, if any.
        claimed_by: the scheduler process that claimed it.
        claimed_at: when it was claimed.
        started_at: when its run started.
        finished_at: when it reached its outcome.
        error: the run's error, for a FAILED fire.
        heartbeat_at: when the claiming scheduler last said it still holds the open fire.
        fire_id: the row's id, once stored.
    """

    schedule_name: str
    nominal_time: datetime
    status: FireStatus
    reason: str | None = None
    fired_by: str = ON_TIME
    logical_date: str | None = None
    run_id: str | None = None
    execution_id: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: dict[str, Any] | None = None
    heartbeat_at: datetime | None = None
    fire_id: int | None = None

    @property
    def target_id(self) -> str | None:
        """The run or execution this fire started, if any."""
        return self.run_id or self.execution_id

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (times in ISO 8601 UTC)."""
        data: dict[str, Any] = {}
        for field in attrs.fields(Fire):
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                value = value.astimezone(UTC).isoformat()
            elif isinstance(value, FireStatus):
                value = value.value
            data[field.name] = value
        return data
