"""How ``spine runs list`` reads ``workflow_runs``: with the standard library on a SQLite file.

:func:`run_listing` gives the command what it lists runs with: a :class:`SqliteRunListing` when
the storage is the builtin SQLite adapter on a file (:class:`ReadOnlySqlite`), so listing runs
imports no SQLAlchemy; otherwise the ``WorkflowHistoryRepository`` itself (PostgreSQL, DB2, an
in-memory database, a plugin's own ``sqlite`` adapter).

The listing runs the repository's own query: :func:`list_statement` is the SQL that
``WorkflowHistoryRepository.list_runs`` sends to SQLite for the same filters, and the rows are
decoded by the column types' rules, then built by ``WorkflowRun.from_row`` as the repository
builds them. ``tests/test_cli_run_listing.py`` compares statement text and parameters with
what the repository sends, for every combination of filters, and :data:`RUN_COLUMNS` and
:data:`RUN_DECODERS` with ``storage.schema``: a change made on one side only fails it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from spine_host.orchestration.records import WorkflowRun
from spine_host.storage.sqlite_read_only import (
    Decoder,
    ReadOnlySqlite,
    SqliteUnreadable,
    json_document,
    utc_datetime,
    utc_datetime_parameter,
)

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = [
    "REQUIRED_TABLES",
    "RUN_COLUMNS",
    "RUN_DECODERS",
    "RunLister",
    "SqliteRunListing",
    "list_parameters",
    "list_statement",
    "run_listing",
]

log = logging.getLogger(__name__)

#: The tables ``spine runs`` requires before it reads (the same as through the repository).
REQUIRED_TABLES = ("workflow_runs", "workflow_steps")

#: The columns of ``workflow_runs``, in the schema's order (``select(workflow_runs)`` reads all).
RUN_COLUMNS = (
    "run_id",
    "workflow",
    "status",
    "params",
    "outputs",
    "error",
    "error_category",
    "triggered_by",
    "parent_run_id",
    "schedule_name",
    "logical_date",
    "owner",
    "heartbeat_at",
    "steps_total",
    "steps_completed",
    "steps_failed",
    "steps_skipped",
    "rows_in",
    "rows_out",
    "rows_rejected",
    "created_at",
    "started_at",
    "finished_at",
    "cancel_requested_at",
    "cancel_requested_by",
    "cancel_reason",
)

#: How each column that is not plain text or a number is decoded: ``UtcDateTime`` columns into
#: aware datetimes, ``JsonDocument`` columns into Python values.
RUN_DECODERS: dict[str, Decoder] = {
    **{
        name: utc_datetime
        for name in (
            "logical_date",
            "heartbeat_at",
            "created_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
        )
    },
    **{name: json_document for name in ("params", "outputs", "error")},
}


class RunLister(Protocol):
    """What ``spine runs list`` needs: ``list_runs`` as the repository has it."""

    def list_runs(
        self,
        workflow: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        limit: int | None = 50,
    ) -> list[WorkflowRun]:
        """Runs, newest first, filtered by workflow, status and start time."""


def run_listing(host: Host, repository: Callable[[], RunLister]) -> RunLister:
    """What to list ``host``'s runs with: a :class:`SqliteRunListing` when its storage can be
    read with ``sqlite3`` alone, else ``repository()``.

    Raises:
        SpineError: STORAGE when the database file or its tables do not exist yet, with the
            repository's words.
    """
    database = ReadOnlySqlite.for_host(host)
    if database is None:
        return repository()
    try:
        database.require_tables(REQUIRED_TABLES)
    except SqliteUnreadable as exc:
        log.debug("reading runs through the storage adapter: %s", exc)
        return repository()
    return SqliteRunListing(database, repository)


class SqliteRunListing:
    """``list_runs`` over a :class:`ReadOnlySqlite`, giving what the repository gives.

    Args:
        database: the SQLite file, its tables already checked.
        repository: builds the repository; used from the first read ``sqlite3`` cannot do,
            so the problem is reported as the repository reports it.
    """

    def __init__(self, database: ReadOnlySqlite, repository: Callable[[], RunLister]) -> None:
        self.database = database
        self._repository = repository
        self._fallback: RunLister | None = None

    def list_runs(
        self,
        workflow: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        limit: int | None = 50,
    ) -> list[WorkflowRun]:
        """Runs, newest first, filtered by workflow, status and start time."""
        if self._fallback is None:
            sql = list_statement(
                workflow is not None, status is not None, since is not None, limit is not None
            )
            try:
                rows = self.database.query(
                    sql, list_parameters(workflow, status, since, limit), RUN_DECODERS
                )
            except SqliteUnreadable as exc:
                log.debug("reading runs through the storage adapter: %s", exc)
                self._fallback = self._repository()
            else:
                return [WorkflowRun.from_row(row) for row in rows]
        return self._fallback.list_runs(workflow=workflow, status=status, since=since, limit=limit)


def list_statement(by_workflow: bool, by_status: bool, by_since: bool, limited: bool) -> str:
    """The SELECT ``list_runs`` sends to SQLite for one set of filters (one status at most)."""
    conditions = [
        condition
        for wanted, condition in (
            (by_workflow, "workflow_runs.workflow = ?"),
            (by_status, "workflow_runs.status = ?"),
            (by_since, "workflow_runs.started_at >= ?"),
        )
        if wanted
    ]
    columns = ", ".join(f"workflow_runs.{name}" for name in RUN_COLUMNS)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # A limit is LIMIT ? OFFSET ? with offset 0, as SQLAlchemy writes one for SQLite.
    limit = " LIMIT ? OFFSET ?" if limited else ""
    return (
        f"SELECT {columns} FROM workflow_runs{where} "
        f"ORDER BY workflow_runs.started_at DESC, workflow_runs.run_id DESC{limit}"
    )


def list_parameters(
    workflow: str | None, status: str | None, since: datetime | None, limit: int | None
) -> list[Any]:
    """The values for :func:`list_statement`'s placeholders, in order."""
    values: list[Any] = [value for value in (workflow, status) if value is not None]
    if since is not None:
        values.append(utc_datetime_parameter(since))
    if limit is not None:
        values += [limit, 0]
    return values
