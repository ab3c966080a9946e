"""A run's attempt records: numbered, filled in as they end, queued for writing, final per step.

Every :class:`~spine_host.orchestration.records.StepAttempt` the run loop creates or ends goes
through an :class:`AttemptLedger`: it numbers the attempt (a resume continues a step's
numbering), appends it to the run's ``steps``, hands it to the run's
:class:`~spine_host.orchestration._attempt_writer.AttemptWriter` and remembers each step's
final attempt. What a record says comes from here; when it runs and what runs next does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.orchestration.records import StepAttempt, StepStatus
from spine_host.pipelines.context import new_id
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.orchestration._attempt_writer import AttemptWriter
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.orchestration.steps import AttemptOutcome
    from spine_host.orchestration.workflow import Step

__all__ = ["AttemptLedger", "unknown_failure"]


class AttemptLedger:
    """Creates and ends the attempt records of ``run`` and queues them on ``writer``.

    Args:
        run: the RUNNING run (its ``steps`` list receives every attempt recorded).
        writer: writes the queued records, owner-checked, in batches.
        next_attempt: per step, the first attempt number to use (resumes continue numbering).
    """

    def __init__(
        self,
        run: WorkflowRun,
        writer: AttemptWriter,
        next_attempt: Mapping[str, int] | None = None,
    ) -> None:
        self.run = run
        self.writer = writer
        self.next_attempt = dict(next_attempt or {})
        #: Each decided step's last attempt in this run.
        self.final: dict[str, StepAttempt] = {}

    def new_attempt(self, step: Step, params: Mapping[str, Any]) -> StepAttempt:
        """A numbered RUNNING record for a new attempt of ``step``, not yet recorded.

        It is recorded by :meth:`started` once submitted, so an attempt the executor refused
        leaves no row.
        """
        return StepAttempt(
            run_id=self.run.run_id,
            step_name=step.name,
            attempt=self._number(step.name),
            status=StepStatus.RUNNING,
            pipeline=step.pipeline,
            execution_id=new_id(),
            params=json_safe(params),
            started_at=utc_now(),
        )

    def started(self, record: StepAttempt) -> None:
        """Record an attempt that was submitted (it is RUNNING)."""
        self.writer.started(record)
        self.run.steps.append(record)

    def not_run(
        self,
        step: Step,
        status: StepStatus,
        error: SpineError | None = None,
        *,
        skip_reason: str | None = None,
    ) -> None:
        """Record ``step`` decided without running: SKIPPED (and why), or FAILED (condition)."""
        now = utc_now()
        record = StepAttempt(
            run_id=self.run.run_id,
            step_name=step.name,
            attempt=self._number(step.name),
            status=status,
            pipeline=step.pipeline,
            skip_reason=skip_reason,
            started_at=now,
            finished_at=now,
        )
        if error is not None:
            _set_error(record, error)
        self.final[step.name] = record
        self.writer.started(record)
        self.writer.finished(record)
        self.run.steps.append(record)

    def ended(self, record: StepAttempt, outcome: AttemptOutcome) -> None:
        """Fill in ``record`` from how its attempt ended, and queue it."""
        record.status = outcome.status
        record.finished_at = utc_now()
        record.outputs = outcome.outputs
        record.execution_id = outcome.execution_id or record.execution_id
        record.rows_in = outcome.rows_in
        record.rows_out = outcome.rows_out
        record.rows_rejected = outcome.rows_rejected
        record.skip_reason = outcome.skip_reason
        if outcome.error is not None:
            _set_error(record, outcome.error)
        self.writer.finished(record)

    def timed_out(self, record: StepAttempt, error: SpineError) -> None:
        """End an abandoned attempt TIMED_OUT with ``error``, and queue it."""
        record.status = StepStatus.TIMED_OUT
        record.finished_at = utc_now()
        _set_error(record, error)
        self.writer.finished(record)

    def crashed(self, records: Iterable[StepAttempt], error: SpineError) -> None:
        """End attempts the runner stopped waiting for CRASHED with ``error``, and queue them."""
        now = utc_now()
        for record in records:
            record.status = StepStatus.CRASHED
            record.finished_at = now
            _set_error(record, error)
            self.writer.finished(record)

    def cancelled(self, records: Iterable[StepAttempt]) -> None:
        """End attempts let go because their run was cancelled CANCELLED, and queue them.

        They carry no error: nothing went wrong in them; the run records who cancelled and why.
        """
        now = utc_now()
        for record in records:
            record.status = StepStatus.CANCELLED
            record.finished_at = now
            self.writer.finished(record)
            self.final[record.step_name] = record

    def withdraw(self, records: Iterable[StepAttempt]) -> None:
        """Forget new attempts whose start could not be recorded (they never ran)."""
        for record in records:
            self.run.steps.remove(record)
            self.next_attempt[record.step_name] = record.attempt

    def conclude(self, record: StepAttempt) -> None:
        """Make ``record`` its step's final attempt in this run."""
        self.final[record.step_name] = record

    def _number(self, step_name: str) -> int:
        attempt = self.next_attempt.get(step_name, 1)
        self.next_attempt[step_name] = attempt + 1
        return attempt


def _set_error(record: StepAttempt, error: SpineError) -> None:
    """Store ``error`` (JSON-safe, and its category) on ``record``."""
    record.error = error.to_dict()
    record.error_category = error.category.value


def unknown_failure(record: StepAttempt) -> SpineError:
    """The error of an attempt that failed without giving one."""
    return SpineError(
        f"step {record.step_name!r} failed without an error", category=ErrorCategory.INTERNAL
    )
