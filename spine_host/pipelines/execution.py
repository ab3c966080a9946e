"""What one run of one pipeline was: :class:`Execution`, its status and its events."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from spine_host.errors import SpineError

__all__ = ["EventType", "Execution", "ExecutionEvent", "ExecutionStatus"]


class ExecutionStatus(enum.StrEnum):
    """Where an execution stands; every status but PENDING and RUNNING is terminal."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    #: Its workflow step overran the step's timeout; whatever it did afterwards was refused.
    TIMED_OUT = "TIMED_OUT"
    #: Its process died (or its run was reaped) before it ended; found by the reaper.
    CRASHED = "CRASHED"

    @property
    def terminal(self) -> bool:
        """True once the execution can change no more."""
        return self not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)

    @property
    def let_go(self) -> bool:
        """True when it ended without finishing (TIMED_OUT, CRASHED): its work may be redone."""
        return self in (ExecutionStatus.TIMED_OUT, ExecutionStatus.CRASHED)


class EventType(enum.StrEnum):
    """What happened to an execution; each is one ``execution_events`` row."""

    CREATED = "created"
    STARTED = "started"
    RETRIED = "retried"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CRASHED = "crashed"


@attrs.frozen(kw_only=True)
class Execution:
    """One run of one pipeline, as recorded in ``executions``.

    ``result`` is the JSON-safe value the pipeline returned; ``rows_in``, ``rows_out`` and
    ``rows_rejected`` come from the keys of that name when it is a mapping. ``run_id`` is the
    execution id, so an Execution is what the ``spine_run_started`` / ``spine_run_finished``
    hooks receive for a pipeline run.
    """

    execution_id: str
    pipeline: str
    status: ExecutionStatus
    result: Any = None
    error: SpineError | None = attrs.field(default=None, eq=False)
    attempts: int = 0
    params: dict[str, Any] = attrs.field(factory=dict)
    batch_id: str | None = None
    parent_execution_id: str | None = None
    triggered_by: str | None = None
    idempotency_key: str | None = None
    partition_key: str | None = None
    owner: str | None = None
    heartbeat_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def run_id(self) -> str:
        """The execution id, under the name run observers read."""
        return self.execution_id

    @property
    def rows_in(self) -> int | None:
        """Rows the pipeline read, when its result says."""
        return _count(self.result, "rows_in")

    @property
    def rows_out(self) -> int | None:
        """Rows the pipeline wrote, when its result says."""
        return _count(self.result, "rows_out")

    @property
    def rows_rejected(self) -> int | None:
        """Rows the pipeline rejected, when its result says."""
        return _count(self.result, "rows_rejected")

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to finish, once finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for ``--json`` output and alerts."""
        return {
            "execution_id": self.execution_id,
            "pipeline": self.pipeline,
            "status": self.status.value,
            "attempts": self.attempts,
            "params": self.params,
            "result": self.result,
            "error": self.error.to_dict() if self.error is not None else None,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_rejected": self.rows_rejected,
            "batch_id": self.batch_id,
            "parent_execution_id": self.parent_execution_id,
            "triggered_by": self.triggered_by,
            "idempotency_key": self.idempotency_key,
            "partition_key": self.partition_key,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


@attrs.frozen(kw_only=True)
class ExecutionEvent:
    """One thing that happened to an execution, in order."""

    execution_id: str
    event_type: EventType
    occurred_at: datetime
    attempt: int | None = None
    message: str | None = None
    details: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form."""
        return {
            "execution_id": self.execution_id,
            "event_type": self.event_type.value,
            "occurred_at": self.occurred_at.isoformat(),
            "attempt": self.attempt,
            "message": self.message,
            "details": self.details,
        }


def _count(result: Any, key: str) -> int | None:
    if isinstance(result, Mapping):
        value = result.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
