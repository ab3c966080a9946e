"""What spine's history says about an attempt the executor is waiting for.

The history is the truth: a worker records an attempt's end in the database before it answers.
So when an answer says nothing useful (a duplicate delivery that was not run) or never comes
(a worker killed between recording the end and answering), the executor reads the attempt's
row: a recorded end is the outcome; an attempt still RUNNING under a worker's claim is that
worker's to answer (or the runner's heartbeat check's to crash).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa

from spine_host.orchestration.records import StepStatus
from spine_host.orchestration.step_ref import outcome_from_json
from spine_host.storage import schema

if TYPE_CHECKING:
    from spine_host.orchestration.step_ref import StepRef
    from spine_host.orchestration.steps import AttemptOutcome
    from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = ["RecordedAttempt", "recorded_attempt"]

_steps = schema.workflow_steps


@attrs.frozen
class RecordedAttempt:
    """An attempt's row, as far as the executor cares.

    Attributes:
        running: still RUNNING.
        worker: the worker that claimed it, if one did.
        same_token: the row carries the reference's token (not a newer message's).
        finished_at: when its end was recorded, if it ended.
        outcome: its recorded end as an outcome, if it ended.
    """

    running: bool
    worker: str | None
    same_token: bool
    finished_at: dt.datetime | None
    outcome: AttemptOutcome | None

    def ended_before(self, cutoff: dt.datetime) -> bool:
        """Its end was recorded before ``cutoff``."""
        return self.finished_at is not None and self.finished_at < cutoff


def recorded_attempt(storage: SqlAlchemyAdapter, ref: StepRef) -> RecordedAttempt | None:
    """The row of attempt ``ref``; None when the history has no such attempt."""
    rows = storage.query(
        sa.select(
            _steps.c.status,
            _steps.c.worker,
            _steps.c.execution_id,
            _steps.c.finished_at,
            _steps.c.outputs,
            _steps.c.error,
            _steps.c.skip_reason,
            _steps.c.rows_in,
            _steps.c.rows_out,
            _steps.c.rows_rejected,
        ).where(
            _steps.c.run_id == ref.run_id,
            _steps.c.step_name == ref.step,
            _steps.c.attempt == ref.attempt,
        )
    )
    if not rows:
        return None
    row = rows[0]
    running = row["status"] == StepStatus.RUNNING.value
    return RecordedAttempt(
        running=running,
        worker=row["worker"],
        same_token=row["execution_id"] == ref.token,
        finished_at=row["finished_at"],
        outcome=None if running else outcome_from_json(row),
    )
