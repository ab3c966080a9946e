"""The runs page's query: ``workflow_runs`` newest first, a page at a time, by keyset.

A page is read as ``WHERE started_at < :at OR (started_at = :at AND run_id < :id) ORDER BY
started_at DESC, run_id DESC LIMIT n+1``: the ``(started_at)`` index (``(status,
started_at)`` or ``(workflow, status, started_at)`` with filters) finds page 20,000 as fast as
page 1, and a run recorded meanwhile never shifts a page as OFFSET would. Only the columns the
table shows are read; params, outputs and errors (JSON) stay on the run page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.storage import schema
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = ["PAGE_SIZE", "RunCursor", "RunFilters", "RunPage", "RunRow", "conditions", "list_runs"]

_runs = schema.workflow_runs

#: Runs shown per page.
PAGE_SIZE = 50


@attrs.frozen(kw_only=True)
class RunFilters:
    """What the runs page was asked to show: a workflow, a status, a start-time range."""

    workflow: str | None = None
    status: str | None = None
    #: Started at or after.
    since: datetime | None = None
    #: Started before.
    until: datetime | None = None


@attrs.frozen
class RunCursor:
    """Where the next page starts: the last run shown, by (started_at, run_id)."""

    started_at: datetime
    run_id: str

    def encode(self) -> str:
        """``2025-12-26T06:00:01.123456+00:00~3f2a...``, for the ``before`` query parameter."""
        return f"{self.started_at.astimezone(UTC).isoformat()}~{self.run_id}"

    @classmethod
    def decode(cls, text: str) -> RunCursor:
        """The cursor :meth:`encode` wrote; ValueError for anything else."""
        moment, separator, run_id = text.partition("~")
        if not separator or not run_id:
            raise ValueError(f"not a page cursor: {text!r}")
        started_at = datetime.fromisoformat(moment)
        if started_at.tzinfo is None:
            started_at = started_at.replace(tzinfo=UTC)
        return cls(started_at, run_id)


@attrs.frozen(kw_only=True)
class RunRow:
    """One run as the runs table shows it."""

    run_id: str
    workflow: str
    status: str
    triggered_by: str | None
    parent_run_id: str | None
    error_category: str | None
    steps_total: int
    steps_completed: int
    steps_failed: int
    steps_skipped: int
    started_at: datetime | None
    finished_at: datetime | None


@attrs.frozen
class RunPage:
    """One page of runs, and where the next one starts (None on the last page)."""

    rows: list[RunRow]
    next_cursor: RunCursor | None


_COLUMNS = [getattr(_runs.c, field.name) for field in attrs.fields(RunRow)]


def list_runs(
    storage: SqlAlchemyAdapter,
    filters: RunFilters,
    *,
    before: RunCursor | None = None,
    limit: int = PAGE_SIZE,
) -> RunPage:
    """The runs matching ``filters`` that come after ``before``, newest first."""
    statement = sa.select(*_COLUMNS).where(_runs.c.started_at.is_not(None))
    statement = statement.where(*conditions(filters))
    if before is not None:
        statement = statement.where(
            sa.or_(
                _runs.c.started_at < before.started_at,
                sa.and_(_runs.c.started_at == before.started_at, _runs.c.run_id < before.run_id),
            )
        )
    statement = statement.order_by(_runs.c.started_at.desc(), _runs.c.run_id.desc())
    rows = [_row(row) for row in storage.query(statement.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    cursor = RunCursor(last.started_at, last.run_id) if last and last.started_at else None
    return RunPage(rows, cursor)


def conditions(filters: RunFilters) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` on ``workflow_runs`` (shared with the day grid)."""
    found: list[sa.ColumnElement[bool]] = []
    if filters.workflow:
        found.append(_runs.c.workflow == filters.workflow)
    if filters.status:
        found.append(_runs.c.status == filters.status)
    if filters.since is not None:
        found.append(_runs.c.started_at >= filters.since)
    if filters.until is not None:
        found.append(_runs.c.started_at < filters.until)
    return found


def _row(row: dict[str, Any]) -> RunRow:
    return RunRow(**{field.name: row[field.name] for field in attrs.fields(RunRow)})
