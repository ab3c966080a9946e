"""Writing a batch of a run's attempt changes: one transaction, only while its runner owns it.

The run loop writes the attempts of its run in batches (the write-ahead history:
:mod:`~spine_host.orchestration._attempt_writer`). Each batch first reads the run's row,
share-locked, to check that the writer still holds it RUNNING, and reads whether someone asked
for it to be cancelled; only then does it insert the new attempts and update the ended ones.
This is the hot path of every run: on SQLite and PostgreSQL it runs on the driver's cursor
(:mod:`~spine_host.orchestration._attempt_sql`), and a run's batches share one kept connection
(:class:`HeldHistoryWriter`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.orchestration._attempt_endings import (
    CANCELLED_EXECUTION_ERROR,
    end_executions,
    execution_status,
)
from spine_host.orchestration._attempt_sql import CLAIM_COLUMNS, attempt_statements
from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus
from spine_host.storage import schema
from spine_host.storage.fencing import share_locked
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.types import utc_now

__all__ = ["HELD_IDLE_SECONDS", "BatchWrite", "HeldHistoryWriter", "write_attempts"]

_runs = schema.workflow_runs
_steps = schema.workflow_steps
_STEP_KEY = ("run_id", "step_name", "attempt")
#: Attempt endings the runner decides for a step that may still be running in its thread.
_LET_GO = frozenset({StepStatus.TIMED_OUT, StepStatus.CRASHED, StepStatus.CANCELLED})

# Finds run :run_id only while :owner holds it RUNNING (the ownership check of every batch).
_OWNED_SELECT = sa.select(_runs.c.run_id, _runs.c.cancel_requested_at).where(
    _runs.c.run_id == sa.bindparam("run_id"),
    _runs.c.owner == sa.bindparam("owner"),
    _runs.c.status == RunStatus.RUNNING.value,
)

# Prepared once: executemany with per-row key parameters (named apart from the SET columns).
# Only a RUNNING row takes an end: one a remote worker already ended keeps its own.
_UPDATE_ATTEMPT = _steps.update().where(
    _steps.c.run_id == sa.bindparam("key_run_id"),
    _steps.c.step_name == sa.bindparam("key_step_name"),
    _steps.c.attempt == sa.bindparam("key_attempt"),
    _steps.c.status == StepStatus.RUNNING.value,
)


@attrs.frozen
class BatchWrite:
    """What became of a batch of attempt changes written by ``record_attempts``.

    Attributes:
        written: the batch is committed.
        cancel_requested: someone asked for the run to be cancelled. A batch that starts new
            attempts is then refused whole (``written`` False): the caller withdraws the starts
            and writes the rest again.

    Neither: the run is no longer the writer's (reaped, resumed elsewhere); nothing is written.
    """

    written: bool
    cancel_requested: bool = False

    def __bool__(self) -> bool:
        """True when written: the meaning of ``record_attempts``' former boolean answer."""
        return self.written

    @property
    def lost(self) -> bool:
        """Whether the run was taken from the writer."""
        return not self.written and not self.cancel_requested


def write_attempts(
    connection: sa.Connection,
    started: Sequence[StepAttempt],
    finished: Sequence[StepAttempt],
    owner: str,
) -> BatchWrite:
    """Write ``started`` and ``finished`` in the caller's transaction, if ``owner`` holds
    their run RUNNING (see ``WorkflowHistoryRepository.record_attempts``)."""
    started_keys = {_key(attempt) for attempt in started}
    finished_keys = {_key(attempt) for attempt in finished}
    new = [a for a in started if _key(a) not in finished_keys]
    new += [a for a in finished if _key(a) in started_keys]
    ended = [a for a in finished if _key(a) not in started_keys]
    if not new and not ended:
        return _WRITTEN
    run_ids = sorted({attempt.run_id for attempt in (*started, *finished)})
    # New RUNNING rows are starts; SKIPPED (or condition-FAILED) steps are inserted ended.
    starts = any(attempt.status is StepStatus.RUNNING for attempt in new)
    fast = attempt_statements(connection.dialect)
    cancel_requested = False
    if fast is not None:  # SQLite, PostgreSQL: the same SQL on the driver's cursor
        cursor = connection.connection.cursor()
        try:
            for run_id in run_ids:
                owned = fast.owned_state(cursor, run_id, owner)
                if owned is None:
                    return _LOST
                cancel_requested = cancel_requested or owned
            if cancel_requested and starts:
                return _REFUSED
            if new:
                fast.insert_attempts(cursor, new)
            if ended:
                fast.update_attempts(cursor, ended)
        finally:
            cursor.close()
    else:
        for run_id in run_ids:
            # Read, share-locked: a reaper's UPDATE of the row waits for this commit.
            # (Updating heartbeat_at here would rewrite its index on every batch.)
            claim = share_locked(_OWNED_SELECT, connection.dialect)
            row = connection.execute(claim, {"run_id": run_id, "owner": owner}).first()
            if row is None:
                return _LOST
            cancel_requested = cancel_requested or row.cancel_requested_at is not None
        if cancel_requested and starts:
            return _REFUSED
        if new:
            connection.execute(_steps.insert(), [a.to_row() for a in new])
        if ended:
            connection.execute(_UPDATE_ATTEMPT, [_update_parameters(a) for a in ended])
    for attempt in finished:
        # An attempt the runner let go (timed out, crashed) cannot end its execution itself
        # (it is fenced): the runner ends it, in the same transaction.
        if attempt.execution_id is not None and attempt.status in _LET_GO:
            end_executions(
                connection,
                [attempt.execution_id],
                execution_status(attempt.status),
                attempt.error or CANCELLED_EXECUTION_ERROR,
                attempt.finished_at or utc_now(),
            )
    return BatchWrite(written=True, cancel_requested=cancel_requested)


_WRITTEN = BatchWrite(written=True)
_LOST = BatchWrite(written=False)
_REFUSED = BatchWrite(written=False, cancel_requested=True)
#: Seconds a :class:`HeldHistoryWriter` keeps an idle connection before giving it back.
HELD_IDLE_SECONDS = 5.0


class HeldHistoryWriter:
    """Writes one run's attempt batches on one connection it keeps until :meth:`close`.

    With write-ahead, a chain of steps writes one transaction per step; checking a connection
    out of the pool for each (and, on PostgreSQL, pinging it first) cost as much as the write.
    The runner's loop is the only user (one thread); a failed write drops the connection and
    the next one starts afresh, and one left idle for :data:`HELD_IDLE_SECONDS` (a long step)
    goes back to the pool, whose pre-ping replaces it if the server dropped it meanwhile.
    ``sqlite://`` (in memory) keeps the shared path (``shared_write``, the repository's own
    ``record_attempts``): its single connection is taken in turns by every thread.
    """

    def __init__(
        self,
        storage: SqlAlchemyAdapter,
        shared_write: Callable[..., BatchWrite],
    ) -> None:
        self.storage = storage
        self._shared_write = shared_write
        self._connection: sa.Connection | None = None
        self._used_at = 0.0
        self._shared = bool(getattr(self.storage, "in_memory", False))

    def record_attempts(
        self, started: Sequence[StepAttempt], finished: Sequence[StepAttempt], *, owner: str
    ) -> BatchWrite:
        """``WorkflowHistoryRepository.record_attempts`` on the kept connection."""
        if self._shared:
            return self._shared_write(started, finished, owner=owner)
        with self.storage.errors_classified():
            now = time.monotonic()
            if self._connection is not None and now - self._used_at > HELD_IDLE_SECONDS:
                self.close()
            if self._connection is None:
                self._connection = self.storage.engine.connect()
            self._used_at = now
            connection = self._connection
            try:
                with connection.begin():  # BEGIN IMMEDIATE on SQLite (the adapter's hook)
                    return write_attempts(connection, started, finished, owner)
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Give the connection back."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def _key(attempt: StepAttempt) -> tuple[str, str, int]:
    return (attempt.run_id, attempt.step_name, attempt.attempt)


def _update_parameters(attempt: StepAttempt) -> dict[str, Any]:
    row = {name: value for name, value in attempt.to_row().items() if name not in CLAIM_COLUMNS}
    parameters = {f"key_{name}": row.pop(name) for name in _STEP_KEY}
    parameters.update(row)
    return parameters
