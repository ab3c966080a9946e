"""Who runs an execution: claims per partition, heartbeats, fencing and the reaper.

An execution row names its ``owner`` (one dispatcher invocation, or the workflow runner whose
step it is) and carries a ``heartbeat_at`` that owner refreshes. From those:

- **one partition, one runner**: an execution of a pipeline that works on a partition is
  inserted only after checking, under the storage's named lock (a transaction-scoped advisory
  lock on PostgreSQL, a lock row elsewhere), that no live execution of the same pipeline holds
  that partition; an abandoned one is reaped on the way;
- **fencing**: the execution's commits are accepted only while its row still names its owner
  and has not been reaped (:meth:`ExecutionOwnership.fence_check`);
- **reaping**: :func:`reap_executions` ends PENDING/RUNNING executions whose owner is gone
  CRASHED, the same way runs are reaped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.liveness import Liveness, abandoned, owner_liveness
from spine_host.pipelines.execution import EventType, Execution, ExecutionStatus
from spine_host.pipelines.repository import ExecutionRepository
from spine_host.storage import schema
from spine_host.storage.fencing import FencedError, share_locked
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.storage.adapter import DatabaseAdapter

__all__ = [
    "OPEN_STATUSES",
    "ExecutionOwnership",
    "reap_executions",
    "running_elsewhere",
    "update_if_owned",
]

log = logging.getLogger(__name__)

#: Statuses of an execution that is (or claims to be) still being worked on.
OPEN_STATUSES = (ExecutionStatus.PENDING.value, ExecutionStatus.RUNNING.value)

_executions = schema.executions
# An execution's status and owner, for fence checks.
_EXECUTION_OWNER = sa.select(_executions.c.status, _executions.c.owner).where(
    _executions.c.execution_id == sa.bindparam("execution_id")
)


class ExecutionOwnership:
    """Claims, heartbeats, fences and crashes executions in ``storage``.

    Args:
        storage: the host's storage adapter.
        stale_after: seconds without a heartbeat after which an owner not known alive is gone.
    """

    def __init__(self, storage: DatabaseAdapter, *, stale_after: float) -> None:
        self.storage = storage
        self.stale_after = stale_after
        self.repository = ExecutionRepository(storage)
        self._heartbeats_can_block = getattr(storage, "dialect", None) == "sqlite"

    # -- claiming ------------------------------------------------------------------------------

    def claim(self, row: dict[str, Any], *, at: datetime) -> Execution | None:
        """Insert the execution ``row`` unless a live execution holds its partition.

        Returns None once inserted (with its ``created`` event), else the execution in the
        way. Abandoned executions in the partition are crashed first, in the same transaction.
        """
        partition = row.get("partition_key")
        with self.storage.transaction():
            if partition is not None:
                with self.storage.lock(_partition_lock(row["pipeline"], partition)):
                    for other in self._open_in_partition(row["pipeline"], partition):
                        if not self.crash_if_abandoned(other):
                            return other
                    self.repository.create(row, at=at)
            else:
                self.repository.create(row, at=at)
        return None

    def crash_if_abandoned(self, execution: Execution) -> bool:
        """Crash ``execution`` if its owner is gone; whether it is (now) ended."""
        if execution.status.terminal:
            return True
        if not self.is_abandoned(execution):
            return False
        return self.crash(execution, _reaped_error(self.stale_after)) or self._ended(execution)

    def is_abandoned(self, execution: Execution) -> bool:
        """Whether the owner of the open ``execution`` is gone (dead process, stale heartbeat)."""
        cutoff = utc_now() - timedelta(seconds=self.stale_after)
        heartbeat = execution.heartbeat_at or execution.started_at or execution.created_at
        return abandoned(
            execution.owner,
            heartbeat,
            cutoff,
            heartbeats_can_block=self._heartbeats_can_block,
        )

    def release_key(self, execution: Execution) -> None:
        """Free the idempotency key of a crashed or timed-out execution for a new one.

        The old row keeps its history; the key moves to ``error.context.released_key``.
        """
        error = dict(execution.error.to_dict()) if execution.error is not None else {}
        context = dict(error.get("context") or {})
        context["released_key"] = execution.idempotency_key
        error["context"] = context
        self.storage.execute(
            sa.update(_executions)
            .where(
                _executions.c.execution_id == execution.execution_id,
                _executions.c.status.in_(
                    [ExecutionStatus.CRASHED.value, ExecutionStatus.TIMED_OUT.value]
                ),
            )
            .values(idempotency_key=None, error=error)
        )

    # -- liveness ------------------------------------------------------------------------------

    def heartbeat(self, execution_id: str, owner: str) -> bool:
        """Say ``owner`` still works on the execution; False once it is no longer its own."""
        return bool(
            self.storage.execute(
                sa.update(_executions)
                .where(
                    _executions.c.execution_id == execution_id,
                    _executions.c.owner == owner,
                    _executions.c.status.in_(OPEN_STATUSES),
                )
                .values(heartbeat_at=utc_now())
            )
        )

    def fence_check(self, execution_id: str, owner: str) -> Callable[[sa.Connection], str | None]:
        """A fence check: the execution still names ``owner`` and was not crashed or timed out.

        Runs inside the committing transaction; on PostgreSQL it share-locks the row, so a
        reaper's UPDATE waits for this commit instead of racing it.
        """

        def check(connection: sa.Connection) -> str | None:
            statement = share_locked(_EXECUTION_OWNER, connection.dialect)
            row = connection.execute(statement, {"execution_id": execution_id}).first()
            if row is None:
                return None  # not inserted yet, or inserted by this very transaction's caller
            if row.owner != owner:
                return f"execution {execution_id} now belongs to {row.owner}"
            if ExecutionStatus(row.status).let_go:
                return f"execution {execution_id} was marked {row.status}"
            return None

        return check

    def crash(self, execution: Execution, error: dict[str, Any]) -> bool:
        """Mark the open ``execution`` CRASHED if it is still as read; whether this call did."""
        now = utc_now()
        condition = [
            _executions.c.execution_id == execution.execution_id,
            _executions.c.status.in_(OPEN_STATUSES),
        ]
        if execution.owner is not None:
            condition.append(_executions.c.owner == execution.owner)
        if owner_liveness(execution.owner) is not Liveness.DEAD:
            # Judged by its heartbeat: crash it only while that is still stale (at the UPDATE).
            cutoff = now - timedelta(seconds=self.stale_after)
            heartbeat = _executions.c.heartbeat_at
            condition.append(sa.or_(heartbeat.is_(None), heartbeat < cutoff))
        with self.storage.transaction():
            done = self.storage.execute(
                sa.update(_executions)
                .where(*condition)
                .values(
                    status=ExecutionStatus.CRASHED.value,
                    finished_at=now,
                    error=error,
                    error_category=error.get("category"),
                )
            )
            if done:
                self.repository.add_event(
                    execution.execution_id,
                    EventType.CRASHED,
                    message=str(error.get("message", "")),
                    details={"error": error},
                    at=now,
                )
        if done:
            log.warning(
                "execution %s of %s marked CRASHED (owner %s)",
                execution.execution_id,
                execution.pipeline,
                execution.owner,
            )
        return bool(done)

    def _ended(self, execution: Execution) -> bool:
        current = self.repository.get(execution.execution_id)
        return current is None or current.status.terminal

    def _open_in_partition(self, pipeline: str, partition: str) -> list[Execution]:
        return self.repository.matching(
            _executions.c.pipeline == pipeline,
            _executions.c.partition_key == partition,
            _executions.c.status.in_(OPEN_STATUSES),
        )

    def open_executions(self) -> list[Execution]:
        """Every PENDING or RUNNING execution."""
        return self.repository.matching(_executions.c.status.in_(OPEN_STATUSES))


def update_if_owned(
    storage: DatabaseAdapter, execution_id: str, owner: str | None, **values: Any
) -> None:
    """Change the open execution's row only while ``owner`` still holds it.

    The status updates of a running execution are conditional in their own WHERE clause: a
    fence check later in the same transaction would read the row as this UPDATE left it, not
    as the reaper did. Raises :class:`~spine_host.storage.fencing.FencedError` when the row
    was reaped or taken over meanwhile (nothing is changed then).
    """
    condition = [
        _executions.c.execution_id == execution_id,
        _executions.c.status.in_(OPEN_STATUSES),
    ]
    if owner is not None:
        condition.append(_executions.c.owner == owner)
    if not storage.execute(sa.update(_executions).where(*condition).values(**values)):
        raise FencedError(
            f"execution {execution_id}",
            "it was reaped or taken over: it is no longer open under this owner",
        )


def reap_executions(host: Host, stale_after: float) -> list[Execution]:
    """End CRASHED every open execution whose owner is gone; the ones this call ended.

    ``spine_run_finished`` fires for each, after its row is written.
    """
    ownership = ExecutionOwnership(host.storage, stale_after=stale_after)
    error = _reaped_error(stale_after)
    crashed = []
    for execution in ownership.open_executions():
        if ownership.is_abandoned(execution) and ownership.crash(execution, error):
            ended = ownership.repository.get(execution.execution_id)
            if ended is not None:
                crashed.append(ended)
                host.notify("spine_run_finished", run=ended)
    return crashed


def running_elsewhere(execution: Execution, what: str) -> SpineError:
    """The error of a run refused because ``execution`` is doing the same work right now."""
    since = execution.started_at or execution.created_at
    when = f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since is not None else ""
    return SpineError(
        f"{what} is being run right now by execution {execution.execution_id} "
        f"({execution.status.value}{when}, owner {execution.owner or 'unknown'}); "
        "run again once it has finished",
        category=ErrorCategory.DEPENDENCY,
        retryable=True,
        context={"execution_id": execution.execution_id, "owner": execution.owner},
    )


def _partition_lock(pipeline: str, partition: str) -> str:
    """The lock name of one pipeline partition, short enough for any lock table."""
    digest = hashlib.sha256(f"{pipeline}\0{partition}".encode()).hexdigest()[:32]
    return f"spine.partition.{digest}"


def _reaped_error(stale_after: float) -> dict[str, Any]:
    return SpineError(
        "the process running this execution stopped (it was killed, or sent no heartbeat for "
        f"{stale_after:g}s); it was reaped",
        category=ErrorCategory.INTERNAL,
        retryable=True,
        context={"stale_after": stale_after, "reaped_at": utc_now().isoformat()},
    ).to_dict()
