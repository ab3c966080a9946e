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


def _key_parameters(ref: StepRef) -> dict[str, Any]:
    return {"k_run_id": ref.run_id, "k_step_name": ref.step, "k_attempt": ref.attempt}


# Built once: building Core expressions costs more than running them, and a worker runs these
# for every attempt. Keys are bound as k_*; the run must be RUNNING with no cancel asked.
_BOUND_KEY = (
    _steps.c.run_id == sa.bindparam("k_run_id"),
    _steps.c.step_name == sa.bindparam("k_step_name"),
    _steps.c.attempt == sa.bindparam("k_attempt"),
)
_RUN_LIVE = (
    sa.select(_runs.c.run_id)
    .where(
        _runs.c.run_id == sa.bindparam("k_run_id"),
        _runs.c.status == RunStatus.RUNNING.value,
        _runs.c.cancel_requested_at.is_(None),
    )
    .exists()
)
_CLAIM = (
    _steps.update()
    .where(
        *_BOUND_KEY,
        _steps.c.execution_id == sa.bindparam("token"),
        _steps.c.status == StepStatus.RUNNING.value,
        _steps.c.worker.is_(None),
        _RUN_LIVE,
    )
    .values(
        worker=sa.bindparam("k_worker"),
        claimed_at=sa.bindparam("now", type_=_steps.c.claimed_at.type),
        heartbeat_at=sa.bindparam("now", type_=_steps.c.heartbeat_at.type),
    )
)
_MINE = (
    *_BOUND_KEY,
    _steps.c.worker == sa.bindparam("k_worker"),
    _steps.c.status == StepStatus.RUNNING.value,
)
_BEAT = (
    _steps.update()
    .where(*_MINE, _RUN_LIVE)
    .values(heartbeat_at=sa.bindparam("now", type_=_steps.c.heartbeat_at.type))
)
_END_COLUMNS = (
    "status",
    "finished_at",
    "heartbeat_at",
    "outputs",
    "rows_in",
    "rows_out",
    "rows_rejected",
    "skip_reason",
    "execution_id",
    "error",
    "error_category",
)
_END = (
    _steps.update()
    .where(*_MINE, _RUN_LIVE)
    .values({name: sa.bindparam(f"v_{name}", type_=_steps.c[name].type) for name in _END_COLUMNS})
)


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
        """Take the attempt for ``worker``; None when taken, else why it may not run.

        One conditional UPDATE (the attempt RUNNING, unclaimed, carrying ``ref.token``; its
        run RUNNING with no cancel asked); only a refused claim reads why.
        """
        parameters = {**_key_parameters(ref), "token": ref.token, "k_worker": worker}
        with self.storage.errors_classified(), self.storage.connection() as connection:
            taken = connection.execute(_CLAIM, {**parameters, "now": utc_now()}).rowcount
        if taken:
            return None
        return self._why_not_claimed(ref)

    def _why_not_claimed(self, ref: StepRef) -> str:
        with self.storage.errors_classified(), self.storage.connection() as connection:
            run = connection.execute(
                sa.select(_runs.c.status, _runs.c.cancel_requested_at).where(
                    _runs.c.run_id == ref.run_id
                )
            ).first()
            row = connection.execute(
                sa.select(_steps.c.status, _steps.c.worker, _steps.c.execution_id).where(*_key(ref))
            ).first()
        if run is None:
            return f"run {ref.run_id} does not exist"
        if run.status != RunStatus.RUNNING.value:
            return f"run {ref.run_id} is {run.status}"
        if run.cancel_requested_at is not None:
            return f"run {ref.run_id} is being cancelled"
        if row is None:
            return f"{ref.label} was never recorded"
        if row.execution_id != ref.token:
            return f"{ref.label} carries another token (a newer message replaced this one)"
        if row.status != StepStatus.RUNNING.value:
            return f"{ref.label} already ended {row.status}"
        return f"{ref.label} was already claimed by {row.worker}"

    def beat(self, ref: StepRef, worker: str) -> bool:
        """Write the attempt's heartbeat; False once it is no longer ``worker``'s RUNNING
        attempt of a live run (the runner crashed it, timed it out, or the run was reaped or
        cancelled)."""
        parameters = {**_key_parameters(ref), "k_worker": worker, "now": utc_now()}
        return bool(self.storage.execute(_BEAT, parameters))

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
        """Write the attempt's end over its row, in the caller's transaction, while it is
        ``worker``'s RUNNING attempt of a RUNNING run nobody asked to cancel (one conditional
        UPDATE: a reaper or runner that ended it first wins); whether it was written."""
        now = utc_now()
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "finished_at": now,
            "heartbeat_at": now,
            "outputs": outcome.outputs,
            "rows_in": outcome.rows_in,
            "rows_out": outcome.rows_out,
            "rows_rejected": outcome.rows_rejected,
            "skip_reason": outcome.skip_reason,
            "execution_id": outcome.execution_id or ref.execution_id,
            "error": outcome.error.to_dict() if outcome.error is not None else None,
            "error_category": outcome.error.category.value if outcome.error else None,
        }
        parameters = {f"v_{name}": value for name, value in values.items()}
        written = connection.execute(
            _END, {**parameters, **_key_parameters(ref), "k_worker": worker}
        )
        return bool(written.rowcount)

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

    def ended(self, run_id: str, before: datetime) -> dict[tuple[str, int], dict[str, Any]]:
        """``(step, attempt) -> row`` of the run's claimed attempts a worker ended before
        ``before`` (whose answer may never have come)."""
        rows = self.storage.query(
            sa.select(_steps).where(
                _steps.c.run_id == run_id,
                _steps.c.worker.is_not(None),
                _steps.c.status != StepStatus.RUNNING.value,
                _steps.c.finished_at < before,
            )
        )
        return {(row["step_name"], row["attempt"]): row for row in rows}
