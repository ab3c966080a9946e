"""The SQLite adapter's check that ``bulk_insert`` and ``upsert`` values fit their columns.

SQLite stores ``'abc'`` in an INTEGER column; PostgreSQL and DB2 refuse it.
:class:`TableValueChecks` refuses it on SQLite too, before the statement runs, with the rules of
:mod:`spine_host.storage.value_checks`:

- spine's own tables are checked against their SQLAlchemy types;
- reflected tables only where SQLAlchemy read the declared type by its name (``VARCHAR(10)``,
  ``BIGINT``): a ``UUID`` or ``MONEY`` column is reflected as NUMERIC by SQLite's affinity rules,
  and must not then refuse text;
- a lone ``INTEGER PRIMARY KEY`` is SQLite's rowid, which holds 64 bits;
- rows are numbered from 1 across the whole call, the way PostgreSQL's COPY numbers them.
"""

from __future__ import annotations

import operator
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spine_host.storage import schema
from spine_host.storage.bulk import RowChunk
from spine_host.storage.value_checks import ColumnCheck, column_check, misfit_error

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TableValueChecks"]

# How SQLAlchemy's SQLite dialect reads a declared type's name (``_resolve_type_affinity``).
_DECLARED_NAME = re.compile(r"([\w ]+)(\(.*?\))?")

_Checks = dict[str, ColumnCheck]


class TableValueChecks:
    """Each table's column checks, built once per Table object (so again after re-reflection)."""

    def __init__(self) -> None:
        self._tables: dict[str, tuple[sa.Table, _Checks]] = {}
        self._lock = threading.Lock()

    def checked_chunks(
        self,
        connection: sa.Connection,
        table: sa.Table,
        chunks: Iterable[RowChunk | pa.RecordBatch],
    ) -> Iterator[RowChunk | pa.RecordBatch]:
        """``chunks`` of one ``bulk_insert`` call, each passed on once its values fit.

        Raises:
            SpineError: VALIDATION for the first row (in the call) with a value that does not fit.
        """
        checks = self.for_table(connection, table)
        offset = 0
        for chunk in chunks:
            if isinstance(chunk, RowChunk):
                rows = chunk.rows
                values = (
                    (name, list(map(operator.itemgetter(index), rows)))
                    for index, name in enumerate(chunk.columns)
                    if name in checks
                )
                _raise_first_misfit("bulk_insert", table, checks, values, offset)
                offset += len(rows)
            else:
                _raise_first_arrow_misfit(table, checks, chunk, offset)
                offset += chunk.num_rows
            yield chunk

    def check_rows(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        offset: int = 0,
        operation: str = "upsert",
    ) -> None:
        """Check rows that share one key set; ``offset`` rows of the call came before them.

        Raises:
            SpineError: VALIDATION for the first row with a value that does not fit.
        """
        if not rows:
            return
        checks = self.for_table(connection, table)
        values = ((name, [row[name] for row in rows]) for name in rows[0] if name in checks)
        _raise_first_misfit(operation, table, checks, values, offset)

    def for_table(self, connection: sa.Connection, table: sa.Table) -> _Checks:
        """The check of each column of ``table`` that has one."""
        key = table.fullname
        with self._lock:
            cached = self._tables.get(key)
        if cached is not None and cached[0] is table:
            return cached[1]
        if schema.metadata.tables.get(key) is table:
            declared = {column.name: _compiled(column, connection) for column in table.columns}
            named = set(declared)
        else:
            declared = _declared_types(connection, table)
            named = {name for name, text in declared.items() if _read_by_name(text, connection)}
        rowid = _rowid_column(table, declared)
        checks: _Checks = {}
        for column in table.columns:
            if column.name in named:
                check = column_check(column, connection.dialect, rowid=column.name == rowid)
                if check is not None:
                    checks[column.name] = check
        with self._lock:
            self._tables[key] = (table, checks)
        return checks


def _raise_first_misfit(
    operation: str,
    table: sa.Table,
    checks: _Checks,
    columns: Iterable[tuple[str, list[Any]]],
    offset: int,
) -> None:
    """Raise for the earliest row holding a value that does not fit (its first such column)."""
    first: tuple[int, str, Any] | None = None
    for name, values in columns:
        index = checks[name].first_misfit(values)
        if index is not None and (first is None or index < first[0]):
            first = (index, name, values[index])
    if first is not None:
        index, name, value = first
        raise misfit_error(operation, table.fullname, offset + index + 1, name, checks[name], value)


def _raise_first_arrow_misfit(
    table: sa.Table, checks: _Checks, batch: pa.RecordBatch, offset: int
) -> None:
    from spine_host.storage.arrow_checks import first_arrow_misfit

    first: tuple[int, str] | None = None
    for name in batch.schema.names:
        if name in checks:
            index = first_arrow_misfit(checks[name], batch.column(name))
            if index is not None and (first is None or index < first[0]):
                first = (index, name)
    if first is not None:
        index, name = first
        value = batch.column(name)[index].as_py()
        raise misfit_error(
            "bulk_insert", table.fullname, offset + index + 1, name, checks[name], value
        )


def _declared_types(connection: sa.Connection, table: sa.Table) -> dict[str, str]:
    """Each column's type as its CREATE TABLE wrote it (``VARCHAR(10)``, ``UUID``, or empty)."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    where = f"{quote(table.schema)}." if table.schema else ""
    pragma = f"PRAGMA {where}table_xinfo({quote(table.name)})"
    return {str(row[1]): str(row[2] or "") for row in connection.exec_driver_sql(pragma)}


def _read_by_name(declared: str, connection: sa.Connection) -> bool:
    """Whether SQLAlchemy read ``declared`` by its name, not by guessing from affinity rules."""
    match = _DECLARED_NAME.match(declared.upper())
    names: Mapping[str, Any] = getattr(connection.dialect, "ischema_names", {})
    return match is not None and match.group(1) in names


def _rowid_column(table: sa.Table, declared: Mapping[str, str]) -> str | None:
    """The column that is SQLite's 64-bit rowid: the lone primary key, declared ``INTEGER``."""
    key = list(table.primary_key.columns)
    if len(key) == 1 and declared.get(key[0].name, "").strip().upper() == "INTEGER":
        return key[0].name
    return None


def _compiled(column: sa.Column[Any], connection: sa.Connection) -> str:
    try:
        return str(column.type.compile(dialect=connection.dialect))
    except sa.exc.SQLAlchemyError:
        return ""
