"""Run history: ``workflow_runs`` and ``workflow_steps`` (one row per attempt), read and written.

Every write that changes a run's status carries its guard in the UPDATE's WHERE clause, so
the database, not a read-then-write in Python, decides:

- a terminal run (COMPLETED, FAILED, PARTIAL, TIMED_OUT, CRASHED) is never overwritten by a
  save; only :meth:`WorkflowHistoryRepository.reopen` (``resume``) moves a non-COMPLETED one
  back to RUNNING, and only one of two concurrent resumers wins;
- a runner writes its run, and its steps' attempts, only while it still owns it (``owner``
  matches and the run is RUNNING), so a runner the reaper gave up on cannot turn CRASHED back
  into COMPLETED, nor add attempts to a run a resume now owns;
- the reaper crashes only runs whose heartbeat is still stale at the moment of the UPDATE;
- a cancellation is asked for in the run's row (``cancel_requested_*``, written only by
  :meth:`WorkflowHistoryRepository.request_cancel`): from then on the owner's writes start no
  new attempt and the steps' commits are refused; the runner sees it at its next heartbeat.

Every write wraps its connection work in ``errors_classified()``, so a driver error (a
constraint, a lost connection) leaves as a classified :class:`SpineError`, never raw.

Queries use the ``workflow_runs`` indexes: ``(status, started_at)`` for ``status`` + ``since``
(the failed-since query), ``(workflow, status, started_at)`` when a workflow is named too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration._attempt_batches import BatchWrite, HeldHistoryWriter, write_attempts
from spine_host.orchestration._attempt_endings import (
    CANCELLED_EXECUTION_ERROR,
    end_running_attempts,
)
from spine_host.orchestration.records import (
    TERMINAL_RUN_STATUSES,
    CancelRequest,
    RunStatus,
    StepAttempt,
    StepStatus,
    WorkflowRun,
)
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.fencing import share_locked
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.types import utc_now

__all__ = [
    "REOPENABLE_RUN_STATUSES",
    "UNSUCCESSFUL_RUN_STATUSES",
    "BatchWrite",
    "WorkflowHistoryRepository",
]

#: What ``get_failed_runs`` returns: every way a run can end without succeeding.
UNSUCCESSFUL_RUN_STATUSES = (
    RunStatus.FAILED,
    RunStatus.PARTIAL,
    RunStatus.TIMED_OUT,
    RunStatus.CRASHED,
    RunStatus.CANCELLED,
)

#: What ``resume`` may reopen: every terminal state but COMPLETED.
REOPENABLE_RUN_STATUSES = frozenset(
    status.value for status in TERMINAL_RUN_STATUSES if status is not RunStatus.COMPLETED
)

_runs = schema.workflow_runs
_steps = schema.workflow_steps
_TERMINAL = sorted(status.value for status in TERMINAL_RUN_STATUSES)
_REOPENABLE = sorted(REOPENABLE_RUN_STATUSES)
#: How often the reaper tries to crash one run when the database aborts it (a deadlock).
_REAP_TRIES = 3
#: Columns only a cancellation request writes; a runner's own writes of its run leave them be.
_CANCEL_COLUMNS = frozenset({"cancel_requested_at", "cancel_requested_by", "cancel_reason"})
#: The longest cancellation reason kept (the column's length).
_REASON_LENGTH = 1000

# A run's owner, status and cancellation request, for fence checks.
_RUN_OWNER = sa.select(_runs.c.owner, _runs.c.status, _runs.c.cancel_requested_at).where(
    _runs.c.run_id == sa.bindparam("run_id")
)

# A run's cancellation request.
_CANCEL_SELECT = sa.select(
    _runs.c.cancel_requested_at, _runs.c.cancel_requested_by, _runs.c.cancel_reason
).where(_runs.c.run_id == sa.bindparam("run_id"))


class WorkflowHistoryRepository:
    """Reads and writes workflow run history through a SQLAlchemy-based storage adapter."""

    def __init__(self, storage: DatabaseAdapter) -> None:
        if not isinstance(storage, SqlAlchemyAdapter):
            raise SpineError(
                f"workflow history needs a SQLAlchemy-based storage adapter, got "
                f"{type(storage).__name__}",
                category=ErrorCategory.CONFIG,
            )
        self.storage = storage

    # -- runs ----------------------------------------------------------------------------------

    def save_run(self, run: WorkflowRun, *, owner: str | None = None) -> bool:
        """Insert the run, or update it unless it is terminal (or ``owner`` lost it).

        Returns whether the row was written. A terminal run in the database stays as it is.
        """
        row = run.to_row()
        with self.storage.errors_classified(), self.storage.connection() as connection:
            exists = connection.execute(
                sa.select(_runs.c.run_id).where(_runs.c.run_id == run.run_id)
            ).first()
            if exists is None:
                connection.execute(_runs.insert().values(row))
                return True
            statement = (
                _runs.update()
                .where(_runs.c.run_id == run.run_id, _runs.c.status.not_in(_TERMINAL))
                .values(_runner_values(run))
            )
            if owner is not None:
                statement = statement.where(_runs.c.owner == owner)
            return bool(connection.execute(statement).rowcount)

    def get_run(self, run_id: str, *, with_steps: bool = True) -> WorkflowRun | None:
        """The run with every attempt of every step (in start order); None when unknown."""
        rows = self.storage.query(sa.select(_runs).where(_runs.c.run_id == run_id))
        if not rows:
            return None
        run = WorkflowRun.from_row(rows[0])
        if with_steps:
            attempts = self.storage.query(
                sa.select(_steps)
                .where(_steps.c.run_id == run_id)
                .order_by(_steps.c.started_at, _steps.c.step_name, _steps.c.attempt)
            )
            run.steps = [StepAttempt.from_row(row) for row in attempts]
        return run

    def require_run(self, run_id: str) -> WorkflowRun:
        """:meth:`get_run`, or NOT_FOUND naming the id."""
        run = self.get_run(run_id)
        if run is None:
            raise SpineError(f"no workflow run {run_id!r}", category=ErrorCategory.NOT_FOUND)
        return run

    def list_runs(
        self,
        workflow: str | None = None,
        status: str | Collection[str] | None = None,
        since: datetime | None = None,
        limit: int | None = 50,
    ) -> list[WorkflowRun]:
        """Runs, newest first, filtered by workflow, status (one or several) and start time."""
        values: dict[str, Any] = {"workflow": workflow, "since": since, "limit": limit}
        if isinstance(status, str):
            values["status"] = status
        elif status is not None:
            values["statuses"] = [str(item) for item in status]
        statement = _list_statement(
            workflow is not None,
            "one" if isinstance(status, str) else "many" if status is not None else None,
            since is not None,
            limit is not None,
        )
        rows = self.storage.query(statement, values)
        return [WorkflowRun.from_row(row) for row in rows]

    def get_failed_runs(self, since: datetime, limit: int | None = 1000) -> list[WorkflowRun]:
        """Runs started at or after ``since`` that did not succeed (FAILED, PARTIAL, ...)."""
        return self.list_runs(status=UNSUCCESSFUL_RUN_STATUSES, since=since, limit=limit)

    def finish_run(self, run: WorkflowRun, *, owner: str) -> bool:
        """Write the run's terminal state if ``owner`` still holds it RUNNING."""
        statement = _owned_update(run.run_id, owner).values(_runner_values(run))
        return bool(self.storage.execute(statement))

    def abandon_run(self, run: WorkflowRun, *, owner: str, step_error: dict[str, Any]) -> bool:
        """Write an interrupted run's terminal state and end its RUNNING attempts CRASHED.

        One transaction, and only while ``owner`` still holds the run: a runner stopped by
        Ctrl-C or a storage failure leaves no attempt RUNNING under a finished run. Returns
        whether the run was written.
        """
        row = _runner_values(run)
        with self.storage.errors_classified(), self.storage.connection() as connection:
            if not connection.execute(_owned_update(run.run_id, owner).values(row)).rowcount:
                return False
            end_running_attempts(
                connection,
                run.run_id,
                StepStatus.CRASHED,
                step_error,
                run.finished_at or utc_now(),
            )
        return True

    def reopen(self, run_id: str, *, owner: str) -> WorkflowRun:
        """Move a FAILED / PARTIAL / TIMED_OUT / CRASHED / CANCELLED run back to RUNNING.

        ``owner`` becomes its runner; an earlier cancellation request is cleared with its error.

        Raises NOT_FOUND for an unknown run, VALIDATION for a COMPLETED or still running one
        (including the loser of two concurrent resumes).
        """
        now = utc_now()
        statement = (
            _runs.update()
            .where(_runs.c.run_id == run_id, _runs.c.status.in_(_REOPENABLE))
            .values(
                status=RunStatus.RUNNING.value,
                owner=owner,
                heartbeat_at=now,
                finished_at=None,
                error=None,
                error_category=None,
                cancel_requested_at=None,
                cancel_requested_by=None,
                cancel_reason=None,
            )
        )
        if self.storage.execute(statement) != 1:
            run = self.require_run(run_id)
            raise SpineError(
                f"run {run_id} is {run.status.value}; only "
                f"{', '.join(_REOPENABLE)} runs can be resumed",
                category=ErrorCategory.VALIDATION,
            )
        return self.require_run(run_id)

    def fence_check(self, run_id: str, owner: str) -> Callable[[sa.Connection], str | None]:
        """A fence check for a step of run ``run_id``: the run is still ``owner``'s RUNNING run,
        and nobody asked for it to be cancelled.

        Runs inside the step's committing transaction; on PostgreSQL it share-locks the run row,
        so a reaper's UPDATE waits for the commit instead of racing it.
        """

        def check(connection: sa.Connection) -> str | None:
            statement = share_locked(_RUN_OWNER, connection.dialect)
            row = connection.execute(statement, {"run_id": run_id}).first()
            if row is None:
                return f"run {run_id} does not exist"
            if row.status != RunStatus.RUNNING.value:
                return f"run {run_id} is {row.status}"
            if row.owner != owner:
                return f"run {run_id} now belongs to {row.owner}"
            if row.cancel_requested_at is not None:
                return f"run {run_id} is being cancelled"
            return None

        return check

    def heartbeat(self, run_id: str, *, owner: str) -> bool:
        """Say ``owner`` is alive; False when the run is no longer its RUNNING run."""
        statement = _owned_update(run_id, owner).values(heartbeat_at=utc_now())
        return bool(self.storage.execute(statement))

    def request_cancel(self, run_id: str, *, requested_by: str, reason: str | None) -> bool:
        """Ask for RUNNING run ``run_id`` to be cancelled; whether this call asked first.

        A second request keeps the first one's time, requester and reason. The reason is cut
        to 1,000 characters.
        """
        statement = (
            _runs.update()
            .where(
                _runs.c.run_id == run_id,
                _runs.c.status == RunStatus.RUNNING.value,
                _runs.c.cancel_requested_at.is_(None),
            )
            .values(
                cancel_requested_at=utc_now(),
                cancel_requested_by=requested_by[: schema.NAME_LENGTH],
                cancel_reason=reason[:_REASON_LENGTH] if reason else None,
            )
        )
        return bool(self.storage.execute(statement))

    def cancel_request(self, run_id: str) -> CancelRequest | None:
        """The cancellation asked for run ``run_id``, or None (also for an unknown run)."""
        rows = self.storage.query(_CANCEL_SELECT, {"run_id": run_id})
        if not rows or rows[0]["cancel_requested_at"] is None:
            return None
        row = rows[0]
        return CancelRequest(
            requested_at=row["cancel_requested_at"],
            requested_by=row["cancel_requested_by"],
            reason=row["cancel_reason"],
        )

    def cancel_abandoned(self, run: WorkflowRun, *, cutoff: datetime | None = None) -> bool:
        """End ``run``, whose runner is gone, CANCELLED with its RUNNING attempts; whether
        this call did.

        The same conditions as the reaper's: only while the run is still RUNNING under the
        owner it was read with and, given a ``cutoff``, its heartbeat is older than that.
        """
        return self._end_abandoned(run, RunStatus.CANCELLED, None, cutoff)

    def running_runs(self) -> list[WorkflowRun]:
        """Every RUNNING run (without steps): what the reaper looks at."""
        rows = self.storage.query(sa.select(_runs).where(_runs.c.status == RunStatus.RUNNING.value))
        return [WorkflowRun.from_row(row) for row in rows]

    def crash_stale_runs(self, cutoff: datetime, error: dict[str, Any]) -> list[WorkflowRun]:
        """Mark RUNNING runs whose heartbeat is older than ``cutoff`` CRASHED, with their steps.

        Returns the runs this call crashed (a concurrent reaper gets the others).
        """
        stale = [
            run
            for run in self.running_runs()
            if run.heartbeat_at is None or run.heartbeat_at < cutoff
        ]
        return self.crash_runs(stale, error, cutoff=cutoff)

    def crash_runs(
        self,
        runs: Sequence[WorkflowRun],
        error: dict[str, Any],
        *,
        cutoff: datetime | None = None,
    ) -> list[WorkflowRun]:
        """Mark each of ``runs`` CRASHED with its RUNNING steps and their executions.

        Each run is crashed only while it is still RUNNING under the owner it was read with
        (another reaper, or a resume, may have come first) and, given a ``cutoff``, while its
        heartbeat is still older than that at the moment of the UPDATE (a runner that beat
        meanwhile is alive). Returns the runs this call crashed.
        """
        crashed: list[WorkflowRun] = []
        for run in runs:
            if self._crash_one(run, error, cutoff):
                crashed.append(self.require_run(run.run_id))
        return crashed

    def _crash_one(self, run: WorkflowRun, error: dict[str, Any], cutoff: datetime | None) -> bool:
        """Crash ``run`` (still as read) with its running attempts; whether this call did."""
        return self._end_abandoned(run, RunStatus.CRASHED, error, cutoff)

    def _end_abandoned(
        self,
        run: WorkflowRun,
        status: RunStatus,
        error: dict[str, Any] | None,
        cutoff: datetime | None,
    ) -> bool:
        """End ``run`` (still as read) ``status`` with its running attempts; whether this did.

        A step committing at the same moment locks its execution row, then share-locks the
        run row; this locks the run row, then the execution row: PostgreSQL may resolve the
        crossing by aborting this transaction (a deadlock, TRANSIENT), so it is tried again.
        """
        condition = [
            _runs.c.run_id == run.run_id,
            _runs.c.status == RunStatus.RUNNING.value,
            _runs.c.owner == run.owner if run.owner is not None else _runs.c.owner.is_(None),
        ]
        if cutoff is not None:
            condition.append(sa.or_(_runs.c.heartbeat_at.is_(None), _runs.c.heartbeat_at < cutoff))
        for attempt in range(1, _REAP_TRIES + 1):
            now = utc_now()
            try:
                with self.storage.errors_classified(), self.storage.connection() as connection:
                    claimed = connection.execute(
                        _runs.update()
                        .where(*condition)
                        .values(
                            status=status.value,
                            finished_at=now,
                            error=error,
                            error_category=(error or {}).get("category"),
                        )
                    ).rowcount
                    if claimed:
                        end_running_attempts(
                            connection,
                            run.run_id,
                            StepStatus(status.value),
                            error,
                            now,
                            execution_error=error or CANCELLED_EXECUTION_ERROR,
                        )
                return bool(claimed)
            except SpineError as exc:
                if exc.category is not ErrorCategory.TRANSIENT or attempt == _REAP_TRIES:
                    raise
        return False

    # -- steps ---------------------------------------------------------------------------------

    def record_attempts(
        self, started: Sequence[StepAttempt], finished: Sequence[StepAttempt], *, owner: str
    ) -> BatchWrite:
        """Write a batch of attempt changes in one transaction, if ``owner`` still owns the run.

        ``started`` are new attempts (inserted); ``finished`` are attempts that ended: updated
        when their row exists, inserted in their final state when they started and ended
        within this batch (so a quick step costs one row write, not two).

        The same transaction first checks that the run is still ``owner``'s RUNNING run,
        reading its row share-locked (FOR SHARE on PostgreSQL; SQLite's writer holds the whole
        database), so a concurrent reaper or resume waits for this batch or this batch sees it.
        When
        the run was taken (reaped, then perhaps resumed by another runner) nothing is written
        and the result is ``lost``: the caller must stop, its attempts belong to nobody now.
        When a cancellation was asked for, a batch starting new attempts is refused (see
        :class:`BatchWrite`).
        """
        with self.storage.errors_classified(), self.storage.connection() as connection:
            return write_attempts(connection, started, finished, owner)

    def held_writer(self) -> HeldHistoryWriter:
        """A writer of attempts that keeps one connection for a run's writes (see its doc)."""
        return HeldHistoryWriter(self.storage, self.record_attempts)


@functools.cache
def _list_statement(
    by_workflow: bool, by_status: str | None, by_since: bool, limited: bool
) -> sa.Select[Any]:
    """The list_runs SELECT for one combination of filters, built once and reused.

    Building a Core statement costs more than running this indexed query, so each shape is
    built once with bound parameters (SQLAlchemy's compiled cache then reuses its SQL too).
    """
    statement = sa.select(_runs)
    if by_workflow:
        statement = statement.where(_runs.c.workflow == sa.bindparam("workflow"))
    if by_status == "one":
        statement = statement.where(_runs.c.status == sa.bindparam("status"))
    elif by_status == "many":
        statement = statement.where(_runs.c.status.in_(sa.bindparam("statuses", expanding=True)))
    if by_since:
        statement = statement.where(
            _runs.c.started_at >= sa.bindparam("since", type_=_runs.c.started_at.type)
        )
    statement = statement.order_by(_runs.c.started_at.desc(), _runs.c.run_id.desc())
    if limited:
        statement = statement.limit(sa.bindparam("limit", type_=sa.Integer()))
    return statement


def _owned_update(run_id: str, owner: str) -> sa.Update:
    """An UPDATE of run ``run_id`` that matches only while ``owner`` holds it RUNNING."""
    return _runs.update().where(
        _runs.c.run_id == run_id,
        _runs.c.owner == owner,
        _runs.c.status == RunStatus.RUNNING.value,
    )


def _runner_values(run: WorkflowRun) -> dict[str, Any]:
    """What a runner writes over its run's row: everything but the key and the cancel request."""
    return {
        name: value
        for name, value in run.to_row().items()
        if name != "run_id" and name not in _CANCEL_COLUMNS
    }
