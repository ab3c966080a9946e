"""What a workflow run leaves behind: :class:`WorkflowRun` and one :class:`StepAttempt` per try.

These are the rows of ``workflow_runs`` and ``workflow_steps`` as Python values. Observers of
``spine_run_started`` / ``spine_step_finished`` / ``spine_run_finished`` receive them, the CLI
prints them, and ``resume`` reads completed steps' outputs back from them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "SKIP_CONDITION",
    "SKIP_STAGE_REACHED",
    "SKIP_UPSTREAM_FAILED",
    "TERMINAL_RUN_STATUSES",
    "CancelRequest",
    "RunStatus",
    "StepAttempt",
    "StepStatus",
    "WorkflowRun",
    "work_done",
]


class RunStatus(enum.StrEnum):
    """Where a workflow run stands."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    #: A step with ``on_failure="stop"`` failed or timed out.
    FAILED = "FAILED"
    #: Only steps with ``on_failure="continue"`` failed; independent branches ran.
    PARTIAL = "PARTIAL"
    #: The run's own timeout passed.
    TIMED_OUT = "TIMED_OUT"
    #: Its runner stopped sending heartbeats (killed, host lost); found by the reaper.
    CRASHED = "CRASHED"
    #: Someone asked for it to stop (``spine runs cancel``): see ``cancel_*`` for who and why.
    CANCELLED = "CANCELLED"


#: A pipeline step whose work a previous run already did (its manifest stage is reached).
SKIP_STAGE_REACHED = "stage reached"
#: A step whose condition said no, or that sits only behind branches not taken.
SKIP_CONDITION = "condition"
#: A step that needs a step which did not complete.
SKIP_UPSTREAM_FAILED = "upstream failed"


def work_done(status: StepStatus, skip_reason: str | None) -> bool:
    """Whether a step that ended so did its work: COMPLETED, or SKIPPED as done before.

    Such a step satisfies the steps that need it (they run, with its outputs as inputs).
    """
    return status is StepStatus.COMPLETED or (
        status is StepStatus.SKIPPED and skip_reason == SKIP_STAGE_REACHED
    )


#: States a run never leaves by itself; only ``resume`` reopens one (all but COMPLETED).
TERMINAL_RUN_STATUSES = frozenset(status for status in RunStatus if status != RunStatus.RUNNING)


class StepStatus(enum.StrEnum):
    """How one attempt of one step ended (or that it is still running)."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    #: Not run: its work was already done (``stage reached``), its condition chose another
    #: branch, or a step it needs failed under ``continue`` (``skip_reason`` says which).
    SKIPPED = "SKIPPED"
    TIMED_OUT = "TIMED_OUT"
    CRASHED = "CRASHED"
    #: Let go because its run was cancelled; whatever it committed afterwards was refused.
    CANCELLED = "CANCELLED"

    @property
    def failed(self) -> bool:
        """True for the outcomes where the step's own work went wrong.

        A CANCELLED attempt did not fail: it was stopped on request. ``resume`` runs it again
        all the same, as every step not COMPLETED or SKIPPED.
        """
        return self in (StepStatus.FAILED, StepStatus.TIMED_OUT, StepStatus.CRASHED)


@attrs.frozen(kw_only=True)
class CancelRequest:
    """Someone asked for a run to stop: when, who (``user@host``) and why."""

    requested_at: datetime
    requested_by: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        """``cancelled by alice@etl-1: bad input file``, as people read it."""
        who = f" by {self.requested_by}" if self.requested_by else ""
        why = f": {self.reason}" if self.reason else ""
        return f"cancelled{who}{why}"


@attrs.define(kw_only=True)
class StepAttempt:
    """One attempt of one step: a row of ``workflow_steps`` (satisfies ``StepRecord``)."""

    run_id: str
    step_name: str
    attempt: int
    status: StepStatus
    pipeline: str | None = None
    execution_id: str | None = None
    params: dict[str, Any] | None = None
    outputs: Any = None
    error: dict[str, Any] | None = None
    error_category: str | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    rows_rejected: int | None = None
    #: Why a SKIPPED attempt did not run (see the ``SKIP_*`` constants).
    skip_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: The process (``host:pid:nonce``) of a remote executor's worker that claimed the attempt.
    worker: str | None = None

    @property
    def satisfied(self) -> bool:
        """Whether the step's work is done: COMPLETED, or SKIPPED because it was done before."""
        return work_done(self.status, self.skip_reason)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_row(self) -> dict[str, Any]:
        """The ``workflow_steps`` row."""
        return attrs.asdict(self, recurse=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StepAttempt:
        """Build from a ``workflow_steps`` row (extra columns are ignored)."""
        values = {name: row[name] for name in _STEP_FIELDS if name in row}
        values["status"] = StepStatus(values["status"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for ``--json`` output."""
        data = self.to_row()
        data["status"] = self.status.value
        for name in ("started_at", "finished_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        data["duration"] = self.duration
        return data


@attrs.define(kw_only=True)
class WorkflowRun:
    """One run of a workflow: a row of ``workflow_runs`` (satisfies ``RunRecord``).

    ``steps`` holds every attempt, in start order, when the run was loaded with its steps.
    """

    run_id: str
    workflow: str
    status: RunStatus
    params: dict[str, Any] = attrs.field(factory=dict)
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    error_category: str | None = None
    triggered_by: str | None = "manual"
    parent_run_id: str | None = None
    schedule_name: str | None = None
    logical_date: datetime | None = None
    owner: str | None = None
    heartbeat_at: datetime | None = None
    steps_total: int = 0
    steps_completed: int = 0
    steps_failed: int = 0
    steps_skipped: int = 0
    rows_in: int | None = None
    rows_out: int | None = None
    rows_rejected: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: When a cancellation was asked for, by whom (``user@host``) and why; None when not.
    cancel_requested_at: datetime | None = None
    cancel_requested_by: str | None = None
    cancel_reason: str | None = None
    steps: list[StepAttempt] = attrs.field(factory=list)

    @property
    def finished(self) -> bool:
        """True once the run reached a terminal state."""
        return self.status in TERMINAL_RUN_STATUSES

    def latest_attempts(self) -> dict[str, StepAttempt]:
        """The last attempt of each step, by step name."""
        latest: dict[str, StepAttempt] = {}
        for attempt in self.steps:
            current = latest.get(attempt.step_name)
            if current is None or attempt.attempt > current.attempt:
                latest[attempt.step_name] = attempt
        return latest

    def to_row(self) -> dict[str, Any]:
        """The ``workflow_runs`` row (without ``steps``)."""
        row = attrs.asdict(self, recurse=False)
        del row["steps"]
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WorkflowRun:
        """Build from a ``workflow_runs`` row (extra columns are ignored)."""
        values = {name: row[name] for name in _RUN_FIELDS if name in row}
        values["status"] = RunStatus(values["status"])
        values["params"] = values.get("params") or {}
        return cls(**values)

    def to_dict(self, *, with_steps: bool = True) -> dict[str, Any]:
        """JSON-safe form for ``--json`` output."""
        data = self.to_row()
        data["status"] = self.status.value
        for name in (
            "logical_date",
            "heartbeat_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
        ):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        if with_steps:
            data["steps"] = [attempt.to_dict() for attempt in self.steps]
        return data


# Field names read from rows, computed once (list_runs converts many rows per call).
_STEP_FIELDS = tuple(field.name for field in attrs.fields(StepAttempt))
_RUN_FIELDS = tuple(field.name for field in attrs.fields(WorkflowRun) if field.name != "steps")
