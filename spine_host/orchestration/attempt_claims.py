"""Claims of remote attempts: a worker takes an attempt, keeps it alive, ends it; the runner
crashes the ones whose worker went silent.

A remote executor's message may be delivered twice (a broker redelivers an unacknowledged
message when its worker dies) or late (after the runner gave up on the attempt). So the
worker does nothing until it has *claimed* the attempt: one conditional UPDATE of its
``workflow_steps`` row that succeeds only while the row is RUNNING, unclaimed and carries the
message's token (the attempt's execution id), and while the run is RUNNING with no cancellation
asked for. A second delivery finds the row claimed, ended or replaced and does nothing.

While it runs the step the worker writes ``heartbeat_at`` on its row; every commit the step
makes through spine's storage checks that the row is still RUNNING and this worker's
(:meth:`AttemptClaims.fence_check`); and the worker writes the attempt's end itself, under the
same check, before it answers. So an attempt's end is in the history before the runner hears
of it (and stays there if the runner died meanwhile), and a runner that decides an attempt is
lost (:meth:`AttemptClaims.crash_stale`) makes everything its worker commits afterwards fail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spine_host.orchestration._attempt_endings import end_executions
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.storage import schema
from spine_host.storage.fencing import share_locked
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.orchestration.step_ref import StepRef
    from spine_host.orchestration.steps import AttemptOutcome
    from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = ["AttemptClaims", "StaleAttempt"]

_runs = schema.workflow_runs
_steps = schema.workflow_steps


def _key(ref: StepRef) -> list[sa.ColumnElement[bool]]:
    return [
        _steps.c.run_id == ref.run_id,
        _steps.c.step_name == ref.step,
        _steps.c.attempt == ref.attempt,
    ]


class StaleAttempt(tuple[str, int, "str | None"]):
    """``(step_name, attempt, worker)`` of an attempt the runner crashed for silence."""

    __slots__ = ()

    @property
    def step_name(self) -> str:
        """The step."""
        return self[0]

    @property
    def attempt(self) -> int:
        """The attempt number."""
        return self[1]

    @property
    def worker(self) -> str | None:
        """The worker that claimed it and went silent."""
        return self[2]


class AttemptClaims:
    """The claim columns of ``workflow_steps`` (``worker``, ``claimed_at``, ``heartbeat_at``).

    Args:
        storage: the history database.
    """

    def __init__(self, storage: SqlAlchemyAdapter) -> None:
        self.storage = storage

    # -- the worker's side ---------------------------------------------------------------------

    def claim(self, ref: StepRef, worker: str) -> str | None:
        """Take the attempt for ``worker``; None when taken, else why it may not run."""
        now = utc_now()
        with self.storage.errors_classified(), self.storage.connection() as connection:
            run = connection.execute(
                share_locked(
                    sa.select(_runs.c.status, _runs.c.cancel_requested_at).where(
                        _runs.c.run_id == ref.run_id
                    ),
                    connection.dialect,
                )
            ).first()
            if run is None:
                return f"run {ref.run_id} does not exist"
            if run.status != RunStatus.RUNNING.value:
                return f"run {ref.run_id} is {run.status}"
            if run.cancel_requested_at is not None:
                return f"run {ref.run_id} is being cancelled"
            taken = connection.execute(
                _steps.update()
                .where(
                    *_key(ref),
                    _steps.c.execution_id == ref.token,
                    _steps.c.status == StepStatus.RUNNING.value,
                    _steps.c.worker.is_(None),
                )
                .values(worker=worker, claimed_at=now, heartbeat_at=now)
            ).rowcount
            if taken:
                return None
            row = connection.execute(
                sa.select(_steps.c.status, _steps.c.worker, _steps.c.execution_id).where(*_key(ref))
            ).first()
        if row is None:
            return f"{ref.label} was never recorded"
        if row.execution_id != ref.token:
            return f"{ref.label} carries another token (a newer message replaced this one)"
        if row.status != StepStatus.RUNNING.value:
            return f"{ref.label} already ended {row.status}"
        return f"{ref.label} was already claimed by {row.worker}"

    def beat(self, ref: StepRef, worker: str) -> bool:
        """Write the attempt's heartbeat; False once it is no longer ``worker``'s RUNNING
        attempt (the runner crashed it, timed it out, or the run was reaped or cancelled)."""
        statement = (
            _steps.update()
            .where(
                *_key(ref),
                _steps.c.worker == worker,
                _steps.c.status == StepStatus.RUNNING.value,
            )
            .values(heartbeat_at=utc_now())
        )
        return bool(self.storage.execute(statement))

    def fence_check(self, ref: StepRef, worker: str) -> Callable[[sa.Connection], str | None]:
        """A fence check for the attempt's commits: still ``worker``'s RUNNING attempt of a
        RUNNING run nobody asked to cancel. Share-locks both rows until the commit."""

        def check(connection: sa.Connection) -> str | None:
            row = connection.execute(
                share_locked(
                    sa.select(_steps.c.status, _steps.c.worker).where(*_key(ref)),
                    connection.dialect,
                )
            ).first()
            if row is None:
                return f"{ref.label} does not exist"
            if row.status != StepStatus.RUNNING.value:
                return f"{ref.label} is {row.status}"
            if row.worker != worker:
                return f"{ref.label} belongs to {row.worker}"
            run = connection.execute(
                share_locked(
                    sa.select(_runs.c.status, _runs.c.cancel_requested_at).where(
                        _runs.c.run_id == ref.run_id
                    ),
                    connection.dialect,
                )
            ).first()
            if run is None or run.status != RunStatus.RUNNING.value:
                return f"run {ref.run_id} is {run.status if run else 'gone'}"
            if run.cancel_requested_at is not None:
                return f"run {ref.run_id} is being cancelled"
            return None

        return check

    def record_end(
        self, connection: sa.Connection, ref: StepRef, worker: str, outcome: AttemptOutcome
    ) -> bool:
        """Write the attempt's end over its row while it is ``worker``'s RUNNING attempt, in
        the caller's transaction (which the attempt's fence guards); whether it was written."""
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "finished_at": utc_now(),
            "heartbeat_at": utc_now(),
            "outputs": outcome.outputs,
            "rows_in": outcome.rows_in,
            "rows_out": outcome.rows_out,
            "rows_rejected": outcome.rows_rejected,
            "skip_reason": outcome.skip_reason,
            "execution_id": outcome.execution_id or ref.execution_id,
        }
        if outcome.error is not None:
            values["error"] = outcome.error.to_dict()
            values["error_category"] = outcome.error.category.value
        written = connection.execute(
            _steps.update()
            .where(
                *_key(ref),
                _steps.c.worker == worker,
                _steps.c.status == StepStatus.RUNNING.value,
            )
            .values(values)
        ).rowcount
        return bool(written)

    # -- the runner's side ---------------------------------------------------------------------

    def crash_stale(
        self, run_id: str, owner: str, cutoff: datetime, error: dict[str, Any]
    ) -> list[StaleAttempt]:
        """End CRASHED the claimed RUNNING attempts of run ``run_id`` whose worker wrote no
        heartbeat since ``cutoff``, while ``owner`` still holds the run; the ones this did.

        Each UPDATE repeats the staleness condition, so a worker that beat (or ended the
        attempt) meanwhile keeps it. Their pipeline executions end CRASHED too.
        """
        stale_condition = [
            _steps.c.run_id == run_id,
            _steps.c.status == StepStatus.RUNNING.value,
            _steps.c.worker.is_not(None),
            _steps.c.heartbeat_at < cutoff,
        ]
        crashed: list[StaleAttempt] = []
        with self.storage.errors_classified(), self.storage.connection() as connection:
            owned = connection.execute(
                share_locked(
                    sa.select(_runs.c.run_id).where(
                        _runs.c.run_id == run_id,
                        _runs.c.owner == owner,
                        _runs.c.status == RunStatus.RUNNING.value,
                    ),
                    connection.dialect,
                )
            ).first()
            if owned is None:
                return []
            rows = connection.execute(
                sa.select(
                    _steps.c.step_name, _steps.c.attempt, _steps.c.worker, _steps.c.execution_id
                ).where(*stale_condition)
            ).all()
            now = utc_now()
            for row in rows:
                done = connection.execute(
                    _steps.update()
                    .where(
                        *stale_condition,
                        _steps.c.step_name == row.step_name,
                        _steps.c.attempt == row.attempt,
                    )
                    .values(
                        status=StepStatus.CRASHED.value,
                        finished_at=now,
                        error=error,
                        error_category=error.get("category"),
                    )
                ).rowcount
                if done:
                    crashed.append(StaleAttempt((row.step_name, row.attempt, row.worker)))
                    if row.execution_id is not None:
                        end_executions(connection, [row.execution_id], "CRASHED", error, now)
        return crashed

    def claims_of(self, run_id: str) -> dict[tuple[str, int], tuple[str | None, datetime | None]]:
        """``(step, attempt) -> (worker, heartbeat_at)`` of the run's RUNNING attempts."""
        rows = self.storage.query(
            sa.select(
                _steps.c.step_name, _steps.c.attempt, _steps.c.worker, _steps.c.heartbeat_at
            ).where(_steps.c.run_id == run_id, _steps.c.status == StepStatus.RUNNING.value)
        )
        return {
            (row["step_name"], row["attempt"]): (row["worker"], row["heartbeat_at"]) for row in rows
        }
