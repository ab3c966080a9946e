"""RejectSink: records that could not be processed, written in bulk to ``core_rejects``.

A reject keeps what a person needs to fix the input: the stage, a reason code, the detail, the
raw record, where it came from (file, URL) and its line number. The sink buffers and writes
through the adapter's ``bulk_insert`` (COPY on PostgreSQL), never one statement per row::

    with context.rejects("PARSE") as rejects:
        rejects.add("BAD_DATE", "trade_date '2025-13-01' is not a date", raw=line, line_number=7)
        rejects.add_all(source_result.rejects)       # spine_host.sources.result.Reject objects
    rejects.count                                     # how many were recorded
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.json_values import json_safe
from spine_host.sources.result import Reject
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.types import utc_now

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "RejectRecord",
    "RejectSink",
    "count_rejects",
    "list_rejects",
    "record_from_row",
]

#: Rejects held in memory before ``add`` flushes them in one bulk insert.
DEFAULT_BUFFER_SIZE = 10_000

_table = schema.core_rejects


@attrs.frozen(kw_only=True)
class RejectRecord:
    """One rejected record, as stored."""

    stage: str
    reason_code: str
    reason_detail: str | None = None
    raw_record: str | None = None
    source_locator: str | None = None
    line_number: int | None = None
    execution_id: str | None = None
    pipeline: str | None = None
    domain: str | None = None
    partition_key: str | None = None
    created_at: datetime | None = None


class RejectSink:
    """Buffers rejects and writes them in bulk; ``count`` is every reject recorded so far.

    Args:
        storage: the host's storage adapter.
        stage: the default stage of rejects added (``PARSE``, ``NORMALIZE``...).
        execution_id, pipeline, domain, partition_key: recorded on every reject.
        buffer_size: rejects held before ``add`` flushes automatically.

    Use it as a context manager, or call :meth:`flush` when done: buffered rejects are not
    written until then.
    """

    def __init__(
        self,
        storage: DatabaseAdapter,
        *,
        stage: str,
        execution_id: str | None = None,
        pipeline: str | None = None,
        domain: str | None = None,
        partition_key: str | None = None,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        self.storage = storage
        self.stage = stage
        self.execution_id = execution_id
        self.pipeline = pipeline
        self.domain = domain
        self.partition_key = partition_key
        self.buffer_size = buffer_size
        self._buffer: list[dict[str, Any]] = []
        self._written = 0

    @property
    def count(self) -> int:
        """Rejects recorded by this sink, written or still buffered."""
        return self._written + len(self._buffer)

    @property
    def written(self) -> int:
        """Rejects already in the database."""
        return self._written

    def add(
        self,
        reason_code: str,
        detail: str | None = None,
        *,
        raw: str | Mapping[str, Any] | None = None,
        line_number: int | None = None,
        locator: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Record one reject; flushes when the buffer is full."""
        self._buffer.append(self._row(reason_code, detail, raw, line_number, locator, stage))
        if len(self._buffer) >= self.buffer_size:
            self.flush()

    def add_reject(self, reject: Reject, *, stage: str | None = None) -> None:
        """Record a reject a source returned (``SourceResult.rejects``)."""
        self.add(
            reject.reason_code,
            reject.reason,
            raw=reject.raw,
            line_number=reject.line_number,
            locator=reject.locator,
            stage=stage,
        )

    def add_all(self, rejects: Iterable[Reject | RejectRecord]) -> None:
        """Record many rejects (source ``Reject`` objects or ``RejectRecord`` values)."""
        for reject in rejects:
            if isinstance(reject, Reject):
                self.add_reject(reject)
            else:
                self.add(
                    reject.reason_code,
                    reject.reason_detail,
                    raw=reject.raw_record,
                    line_number=reject.line_number,
                    locator=reject.source_locator,
                    stage=reject.stage,
                )

    def write(self, rejects: Iterable[Reject | RejectRecord]) -> int:
        """Write many rejects now in a single ``bulk_insert`` call, streaming; return how many.

        Memory stays bounded by the adapter's chunk, not by the number of rejects. Anything
        buffered by :meth:`add` is written first.
        """
        self.flush()
        written = self.storage.bulk_insert(_table.name, self._rows(rejects))
        self._written += written
        return written

    def flush(self) -> int:
        """Write the buffered rejects in one bulk insert; return how many were written."""
        if not self._buffer:
            return 0
        rows, self._buffer = self._buffer, []
        written = self.storage.bulk_insert(_table.name, rows)
        self._written += written
        return written

    def __enter__(self) -> RejectSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Rejects found before a failure are still worth keeping: they often explain it.
        self.flush()

    def _rows(self, rejects: Iterable[Reject | RejectRecord]) -> Iterator[dict[str, Any]]:
        for reject in rejects:
            if isinstance(reject, Reject):
                yield self._row(
                    reject.reason_code,
                    reject.reason,
                    reject.raw,
                    reject.line_number,
                    reject.locator,
                    None,
                )
            else:
                yield self._row(
                    reject.reason_code,
                    reject.reason_detail,
                    reject.raw_record,
                    reject.line_number,
                    reject.source_locator,
                    reject.stage,
                )

    def _row(
        self,
        reason_code: str,
        detail: str | None,
        raw: str | Mapping[str, Any] | None,
        line_number: int | None,
        locator: str | None,
        stage: str | None,
    ) -> dict[str, Any]:
        if raw is not None and not isinstance(raw, str):
            raw = json.dumps(json_safe(raw), sort_keys=True)
        return {
            "execution_id": self.execution_id,
            "pipeline": self.pipeline,
            "domain_name": self.domain,
            "partition_key": self.partition_key,
            "stage": stage or self.stage,
            "reason_code": reason_code,
            "reason_detail": detail,
            "raw_record": raw,
            "source_locator": locator,
            "line_number": line_number,
            "created_at": utc_now(),
        }


def list_rejects(
    storage: DatabaseAdapter,
    *,
    execution_id: str | None = None,
    reason_code: str | None = None,
    limit: int = 100,
) -> list[RejectRecord]:
    """Stored rejects, newest first, optionally of one execution and one reason code."""
    statement = sa.select(_table)
    if execution_id is not None:
        statement = statement.where(_table.c.execution_id == execution_id)
    if reason_code is not None:
        statement = statement.where(_table.c.reason_code == reason_code)
    statement = statement.order_by(_table.c.created_at.desc(), _table.c.reject_id.desc())
    return [record_from_row(row) for row in storage.query(statement.limit(limit))]


def count_rejects(
    storage: DatabaseAdapter,
    *,
    execution_id: str | None = None,
    reason_code: str | None = None,
) -> int:
    """How many rejects are stored, optionally of one execution and one reason code."""
    statement = sa.select(sa.func.count()).select_from(_table)
    if execution_id is not None:
        statement = statement.where(_table.c.execution_id == execution_id)
    if reason_code is not None:
        statement = statement.where(_table.c.reason_code == reason_code)
    rows = storage.query(statement)
    return int(next(iter(rows[0].values())))


def recorded_reason_codes(storage: DatabaseAdapter, *, limit: int = 20) -> list[str]:
    """The distinct reason codes of stored rejects, sorted, at most ``limit`` of them."""
    statement = (
        sa.select(_table.c.reason_code).distinct().order_by(_table.c.reason_code).limit(limit)
    )
    return [row["reason_code"] for row in storage.query(statement)]


def record_from_row(row: Mapping[str, Any]) -> RejectRecord:
    """A ``RejectRecord`` from a row of its table (as ``storage.query`` returns it)."""
    return RejectRecord(
        stage=row["stage"],
        reason_code=row["reason_code"],
        reason_detail=row["reason_detail"],
        raw_record=row["raw_record"],
        source_locator=row["source_locator"],
        line_number=row["line_number"],
        execution_id=row["execution_id"],
        pipeline=row["pipeline"],
        domain=row["domain_name"],
        partition_key=row["partition_key"],
        created_at=row["created_at"],
    )
