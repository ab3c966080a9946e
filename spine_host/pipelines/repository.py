"""ExecutionRepository: ``executions`` and ``execution_events`` rows in and out, lineage queries.

Lineage is queryable both ways: :meth:`ExecutionRepository.children` gives the executions an
execution started, :meth:`ExecutionRepository.batch` everything started together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.pipelines._storage import require_tables
from spine_host.pipelines.execution import EventType, Execution, ExecutionEvent, ExecutionStatus
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.types import utc_now

__all__ = ["ExecutionRepository", "error_from_dict"]

_executions = schema.executions
_events = schema.execution_events


class ExecutionRepository:
    """Reads and writes executions and their events through the host's storage adapter."""

    def __init__(self, storage: DatabaseAdapter) -> None:
        self.storage = storage

    def require_tables(self) -> None:
        """Fail with a STORAGE error naming ``spine db upgrade`` if the tables are missing."""
        require_tables(self.storage, [_executions, _events])

    # -- writes --------------------------------------------------------------------------------

    def create(self, row: Mapping[str, Any], *, at: datetime) -> None:
        """Insert an execution row and its ``created`` event, in one transaction."""
        with self.storage.transaction():
            self.storage.execute(sa.insert(_executions).values(**row, created_at=at))
            self.add_event(row["execution_id"], EventType.CREATED, at=at)

    def update(self, execution_id: str, **values: Any) -> None:
        """Change columns of an execution row."""
        self.storage.execute(
            sa.update(_executions)
            .where(_executions.c.execution_id == execution_id)
            .values(**values)
        )

    def add_event(
        self,
        execution_id: str,
        event_type: EventType,
        *,
        attempt: int | None = None,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one event to an execution's history."""
        self.storage.execute(
            sa.insert(_events).values(
                execution_id=execution_id,
                event_type=event_type.value,
                attempt=attempt,
                occurred_at=at or utc_now(),
                message=message,
                details=dict(details) if details is not None else None,
            )
        )

    # -- reads ---------------------------------------------------------------------------------

    def get(self, execution_id: str) -> Execution | None:
        """The execution with this id, or None."""
        return self._one(_executions.c.execution_id == execution_id)

    def by_idempotency_key(self, key: str) -> Execution | None:
        """The execution started with this idempotency key, or None."""
        return self._one(_executions.c.idempotency_key == key)

    def children(self, execution_id: str) -> list[Execution]:
        """Executions started by this one (its direct children), oldest first."""
        return self._many(_executions.c.parent_execution_id == execution_id)

    def batch(self, batch_id: str) -> list[Execution]:
        """Every execution of a batch, oldest first."""
        return self._many(_executions.c.batch_id == batch_id)

    def recent(
        self,
        *,
        pipeline: str | None = None,
        status: ExecutionStatus | str | Iterable[ExecutionStatus | str] | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[Execution]:
        """The latest executions, newest first (by ``created_at``).

        Args:
            pipeline: only executions of this pipeline.
            status: only executions in this status, or in any of these statuses.
            since: only executions created at or after this moment.
            limit: at most this many.

        Raises:
            ValueError: a status that is not an :class:`ExecutionStatus` value.
        """
        statement = sa.select(_executions)
        if pipeline is not None:
            statement = statement.where(_executions.c.pipeline == pipeline)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            statement = statement.where(
                _executions.c.status.in_([ExecutionStatus(value).value for value in wanted])
            )
        if since is not None:
            statement = statement.where(_executions.c.created_at >= since)
        statement = statement.order_by(
            _executions.c.created_at.desc(), _executions.c.execution_id.desc()
        ).limit(limit)
        return [_execution(row) for row in self.storage.query(statement)]

    def ids_starting_with(self, prefix: str, *, limit: int = 10) -> list[str]:
        """Execution ids that start with ``prefix`` (at most ``limit``), in id order."""
        statement = (
            sa.select(_executions.c.execution_id)
            .where(_executions.c.execution_id.startswith(prefix, autoescape=True))
            .order_by(_executions.c.execution_id)
            .limit(limit)
        )
        ids = [row["execution_id"] for row in self.storage.query(statement)]
        # SQLite's LIKE ignores ASCII case; PostgreSQL's does not. Answer the same on both.
        return [execution_id for execution_id in ids if execution_id.startswith(prefix)]

    def events(self, execution_id: str) -> list[ExecutionEvent]:
        """An execution's history, in the order it happened."""
        statement = (
            sa.select(_events)
            .where(_events.c.execution_id == execution_id)
            .order_by(_events.c.occurred_at, _events.c.event_id)
        )
        return [
            ExecutionEvent(
                execution_id=row["execution_id"],
                event_type=EventType(row["event_type"]),
                occurred_at=row["occurred_at"],
                attempt=row["attempt"],
                message=row["message"],
                details=dict(row["details"] or {}),
            )
            for row in self.storage.query(statement)
        ]

    def matching(self, *conditions: sa.ColumnElement[bool]) -> list[Execution]:
        """Executions whose row meets every one of ``conditions``, oldest first."""
        return self._many(sa.and_(*conditions))

    def _one(self, condition: sa.ColumnElement[bool]) -> Execution | None:
        rows = self.storage.query(sa.select(_executions).where(condition))
        return _execution(rows[0]) if rows else None

    def _many(self, condition: sa.ColumnElement[bool]) -> list[Execution]:
        statement = (
            sa.select(_executions)
            .where(condition)
            .order_by(_executions.c.created_at, _executions.c.execution_id)
        )
        return [_execution(row) for row in self.storage.query(statement)]


def error_from_dict(data: Mapping[str, Any]) -> SpineError:
    """Rebuild a SpineError from its ``to_dict()`` form (the cause survives only as context)."""
    context = dict(data.get("context") or {})
    if data.get("cause"):
        context.setdefault("cause", {k: v for k, v in data["cause"].items() if k != "traceback"})
    return SpineError(
        str(data.get("message", "")),
        category=ErrorCategory(data.get("category", ErrorCategory.INTERNAL.value)),
        retryable=data.get("retryable"),
        retry_after=data.get("retry_after"),
        context=context,
    )


def _execution(row: Mapping[str, Any]) -> Execution:
    error = row["error"]
    return Execution(
        execution_id=row["execution_id"],
        pipeline=row["pipeline"],
        status=ExecutionStatus(row["status"]),
        result=row["result_data"],
        error=error_from_dict(error) if error else None,
        attempts=row["attempts"] or 0,
        params=dict(row["params"] or {}),
        batch_id=row["batch_id"],
        parent_execution_id=row["parent_execution_id"],
        triggered_by=row["triggered_by"],
        idempotency_key=row["idempotency_key"],
        partition_key=row.get("partition_key"),
        owner=row.get("owner"),
        heartbeat_at=row.get("heartbeat_at"),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )
