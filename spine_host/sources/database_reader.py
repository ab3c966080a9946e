"""Keyset-paged reads for the ``database`` source, in SQLAlchemy Core and pyarrow.

Each page is ``SELECT ... WHERE watermark > :since AND (key) > :last ORDER BY key`` with the
dialect's own row limit (``LIMIT``, ``FETCH FIRST``), run as its own short read through the
storage adapter. A query is wrapped as ``SELECT * FROM (query) AS q``; a table is reflected
once, so its values come back typed and its Arrow types come from its column types.

This module imports SQLAlchemy and pyarrow; :mod:`spine_host.sources.database` imports it only
when a read starts.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs
import pyarrow as pa
import sqlalchemy as sa

from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.sources.sql_guard import split_table_name
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.statements import key_may_hold_null, keyset_after, null_key_probe

if TYPE_CHECKING:
    from spine_host.sources.database_read_spec import ReadSpec
    from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["KeysetReader"]

# Driver signs of "the table in the query does not exist": PostgreSQL's SQLSTATE, SQLite's and
# DB2's messages.
_UNDEFINED_TABLE_SQLSTATE = "42P01"
_MISSING_TABLE_MESSAGES = ("no such table", "SQL0204N")


@attrs.frozen
class _Plan:
    """What every page selects from, ordered and filtered by which columns."""

    statement: sa.Select[Any]
    key: list[sa.ColumnElement[Any]]
    watermark: sa.ColumnElement[Any] | None
    arrow_types: dict[str, pa.DataType]


class KeysetReader:
    """One read of a table or query, page by page in key order.

    Args:
        adapter: a SQLAlchemy-based storage adapter (every shipped adapter is one).
        spec: what to read.
        display: the source's URI for messages (no password).
    """

    def __init__(self, adapter: DatabaseAdapter, spec: ReadSpec, *, display: str) -> None:
        if not isinstance(adapter, SqlAlchemyAdapter):
            raise ConfigError(
                f"the database source reads through a SQLAlchemy-based storage adapter; "
                f"{type(adapter).__name__} is not one"
            )
        self.adapter = adapter
        self.spec = spec
        self.display = display
        self.pages_read = 0
        self.max_watermark: Any = None
        self._hash = hashlib.sha256()
        self._plan: _Plan | None = None

    @property
    def key(self) -> tuple[str, ...]:
        """The key columns pages are ordered by (the primary key when none was configured)."""
        return tuple(column.name for column in self.plan().key)

    def plan(self) -> _Plan:
        """Reflect the table (or wrap the query) once.

        Raises:
            SpineError: NOT_FOUND for a missing table; VALIDATION for unknown columns or a
                table without a primary key when no key is configured.
        """
        if self._plan is None:
            self._plan = self._plan_table() if self.spec.table else self._plan_query()
        return self._plan

    @property
    def since(self) -> Any:
        """The ``since`` of the read, parsed to the watermark column's type when it is text."""
        watermark = self.plan().watermark
        if self.spec.since is None or watermark is None:
            return self.spec.since
        return _coerced(self.spec.since, watermark.type, watermark)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """One record batch per page; the next page is read only when asked for."""
        for page in self._pages():
            batch = self._to_batch(page)
            self._hash.update(batch.schema.to_string().encode())
            self._hash.update(batch.serialize())
            yield batch

    def has_rows_after(self, watermark: Any) -> bool:
        """Whether any row's watermark is greater than ``watermark`` (one cheap query)."""
        plan = self.plan()
        assert plan.watermark is not None  # only called when the read has a watermark
        probe = (
            sa.select(sa.literal(1))
            .select_from(plan.statement.get_final_froms()[0])
            .where(plan.watermark > _bound(plan.watermark, watermark))
            .limit(1)
        )
        return bool(self._query(probe))

    def content_hash(self) -> str:
        """SHA-256 over the batches read so far (their schema and Arrow IPC bytes)."""
        return f"sha256:{self._hash.hexdigest()}"

    def empty_table(self) -> pa.Table:
        """A table with no rows: the table's columns, none for a query (its columns are unknown)."""
        types = self.plan().arrow_types if self.spec.table else {}
        return pa.table({name: pa.array([], type=kind) for name, kind in types.items()})

    # -- pages ---------------------------------------------------------------------------------

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        plan = self.plan()
        key_names = [column.name for column in plan.key]
        watermark_name = self.spec.watermark
        page_size = self.spec.page_size
        # One row more than a page: it tells whether another page follows, and a key it shares
        # with the page's last row would otherwise fall between two pages unseen.
        statement = plan.statement.order_by(*plan.key).limit(page_size + 1)
        self.max_watermark = since = self.since
        newer = None
        if since is not None and plan.watermark is not None:
            newer = plan.watermark > _bound(plan.watermark, since)
            statement = statement.where(newer)
        self._refuse_null_keys(plan, newer)
        after: tuple[Any, ...] | None = None
        while True:
            page_statement = statement
            if after is not None:
                page_statement = statement.where(self._after(plan.key, after))
            rows = self._query(page_statement)
            if not rows:
                return
            self.pages_read += 1
            self._check_keys(rows, key_names, previous=after)
            page = rows[:page_size]
            after = tuple(page[-1][name] for name in key_names)
            if watermark_name is not None:
                newest = max(
                    (row[watermark_name] for row in page if row[watermark_name] is not None),
                    default=None,
                )
                self.max_watermark = _later(self.max_watermark, newest)
            yield page
            if len(rows) <= page_size:
                return

    def _after(self, key: list[sa.ColumnElement[Any]], after: tuple[Any, ...]) -> Any:
        bound = [_bound(column, value) for column, value in zip(key, after, strict=True)]
        if self.adapter.dialect == "postgresql":
            # A row-value comparison: PostgreSQL answers it with one index range scan.
            return sa.tuple_(*key) > sa.tuple_(*bound)
        return keyset_after(key, tuple(bound))  # type: ignore[arg-type]

    def _refuse_null_keys(self, plan: _Plan, newer: sa.ColumnElement[bool] | None) -> None:
        """Refuse a read whose key holds NULL in a row it covers, before its first page.

        ``key > after`` is never true for NULL, so those rows would be skipped: on PostgreSQL
        and DB2, where NULLs sort last, every one after the first page. One ``LIMIT 1`` query,
        left out when the table declares every key column NOT NULL.
        """
        nullable = [
            column for column in plan.key if key_may_hold_null(column, self.adapter.dialect)
        ]
        if not nullable:
            return
        probe = null_key_probe(nullable)
        if newer is not None:
            probe = probe.where(newer)
        rows = self._query(probe)
        if rows:
            nulls = [name for name, value in rows[0].items() if value is None]
            raise SpineError(
                f"{self.display}: key column(s) {', '.join(nulls)} hold NULL; keyset paging "
                "would skip those rows; page by a NOT NULL key",
                category=ErrorCategory.VALIDATION,
                context={"key": [column.name for column in plan.key]},
            )

    def _check_keys(
        self,
        rows: list[dict[str, Any]],
        key_names: list[str],
        *,
        previous: tuple[Any, ...] | None,
    ) -> None:
        """Refuse NULL and repeated keys, which keyset paging would skip.

        NULLs are refused before the first page too (:meth:`_refuse_null_keys`); this catches
        one written while the read goes on.

        ``previous`` is the last key of the page before, so a repeat is caught wherever it
        falls, within a page or across the boundary between two.
        """
        missing = [name for name in key_names if name not in rows[0]]
        if missing:
            raise SpineError(
                f"{self.display}: the query returns no column(s) {missing} to page by; "
                f"its columns: {', '.join(rows[0])}",
                category=ErrorCategory.VALIDATION,
            )
        columns = ", ".join(key_names)
        for row in rows:
            current = tuple(row[name] for name in key_names)
            if None in current:
                raise SpineError(
                    f"{self.display}: key column(s) {columns} hold NULL in a row; keyset "
                    "paging would skip such rows; page by a NOT NULL key",
                    category=ErrorCategory.VALIDATION,
                    context={"key": key_names},
                )
            if current == previous:
                value = current[0] if len(current) == 1 else current
                raise SpineError(
                    f"{self.display}: key column(s) {columns} are not unique: value {value!r} "
                    "repeats; choose a unique key",
                    category=ErrorCategory.VALIDATION,
                    context={"key": key_names},
                )
            previous = current

    def _query(self, statement: sa.Select[Any]) -> list[dict[str, Any]]:
        try:
            return self.adapter.query(statement)
        except SpineError as exc:
            if _missing_table(exc):
                raise SpineError(
                    f"{self.display}: the query reads a table that does not exist: {exc.message}",
                    category=ErrorCategory.NOT_FOUND,
                    context=exc.context,
                    cause=exc.cause,
                ) from exc
            raise

    # -- planning ------------------------------------------------------------------------------

    def _plan_table(self) -> _Plan:
        assert self.spec.table is not None
        schema, name = split_table_name(self.spec.table)
        with self.adapter.errors_classified(), self.adapter.connection() as connection:
            try:
                table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
            except sa.exc.NoSuchTableError as exc:
                raise SpineError(
                    f"{self.display}: table {self.spec.table!r} does not exist",
                    category=ErrorCategory.NOT_FOUND,
                    context={"table": self.spec.table},
                    cause=exc,
                ) from exc
        key_names = list(self.spec.key) or [column.name for column in table.primary_key]
        if not key_names:
            raise SpineError(
                f"{self.display}: table {self.spec.table!r} has no primary key; "
                "set key = [columns that are unique together]",
                category=ErrorCategory.VALIDATION,
            )
        wanted = [*key_names, *([self.spec.watermark] if self.spec.watermark else [])]
        unknown = [column for column in wanted if column not in table.c]
        if unknown:
            raise SpineError(
                f"{self.display}: table {self.spec.table!r} has no column(s) {unknown}; "
                f"its columns: {', '.join(table.c.keys())}",
                category=ErrorCategory.VALIDATION,
                context={"columns": unknown},
            )
        return _Plan(
            statement=sa.select(table),
            key=[table.c[column] for column in key_names],
            watermark=table.c[self.spec.watermark] if self.spec.watermark else None,
            arrow_types={
                column.name: arrow_type
                for column in table.columns
                if (arrow_type := _arrow_type(column.type)) is not None
            },
        )

    def _plan_query(self) -> _Plan:
        assert self.spec.query is not None
        names = [*self.spec.key, *([self.spec.watermark] if self.spec.watermark else [])]
        # Colons are escaped so text() takes none of the query's own text for a bind parameter.
        text = sa.text(self.spec.query.replace(":", r"\:"))
        subquery = text.columns(*(sa.column(name) for name in dict.fromkeys(names))).subquery("q")
        return _Plan(
            statement=sa.select(sa.literal_column("*")).select_from(subquery),
            key=[subquery.c[name] for name in self.spec.key],
            watermark=subquery.c[self.spec.watermark] if self.spec.watermark else None,
            arrow_types={},
        )

    # -- Arrow -----------------------------------------------------------------------------------

    def _to_batch(self, page: list[dict[str, Any]]) -> pa.RecordBatch:
        names = list(page[0])
        arrays = [self._array(name, [row[name] for row in page]) for name in names]
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def _array(self, name: str, values: list[Any]) -> pa.Array:
        types = self.plan().arrow_types
        declared = types.get(name)
        if declared is not None:
            try:
                return pa.array(values, type=declared)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                # The database holds values its declared type does not describe (SQLite's
                # type affinity allows that): infer from the values from now on.
                del types[name]
        array = pa.array(values)
        if not pa.types.is_null(array.type):
            # Later pages use the type the first non-empty page showed, so batches agree.
            types[name] = array.type
        return array


def combine(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as one table; columns whose type widened between pages are promoted."""
    if all(batch.schema.equals(batches[0].schema) for batch in batches):
        return pa.Table.from_batches(batches)
    return pa.concat_tables(
        [pa.Table.from_batches([batch]) for batch in batches], promote_options="permissive"
    )


def _arrow_type(sql_type: sa.types.TypeEngine[Any]) -> pa.DataType | None:
    """The Arrow type for a reflected column type; None to infer from the values."""
    if isinstance(sql_type, sa.Boolean):
        return pa.bool_()
    if isinstance(sql_type, sa.Integer):
        return pa.int64()
    if isinstance(sql_type, sa.Float):
        return pa.float64()
    if isinstance(sql_type, sa.Numeric):
        precision, scale = sql_type.precision, sql_type.scale
        if sql_type.asdecimal and precision and precision <= 38:
            return pa.decimal128(precision, scale or 0)
        return None
    if isinstance(sql_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if sql_type.timezone else None)
    if isinstance(sql_type, sa.Date):
        return pa.date32()
    if isinstance(sql_type, sa.Time):
        return pa.time64("us")
    if isinstance(sql_type, sa.String):  # Text, Unicode, Enum are Strings too
        return pa.string()
    if isinstance(sql_type, sa.LargeBinary):
        return pa.binary()
    return None


def _bound(column: sa.ColumnElement[Any], value: Any) -> Any:
    """``value`` as a bind parameter of ``column``'s type, ISO text parsed for date columns."""
    sql_type = column.type
    if isinstance(sql_type, sa.types.NullType):
        return sa.literal(value)
    return sa.literal(_coerced(value, sql_type, column), type_=sql_type)


def _coerced(value: Any, sql_type: sa.types.TypeEngine[Any], column: Any) -> Any:
    # ``since`` often arrives as text (a CLI parameter, a watermark stored as JSON).
    if not isinstance(value, str):
        return value
    parsers: list[tuple[type[Any], Any]] = [
        (sa.DateTime, dt.datetime.fromisoformat),
        (sa.Date, dt.date.fromisoformat),
        (sa.Integer, int),
        (sa.Float, float),
        (sa.Numeric, decimal.Decimal),
    ]
    for kind, parse in parsers:
        if isinstance(sql_type, kind):
            try:
                return parse(value)
            except (ValueError, decimal.InvalidOperation):
                raise SpineError(
                    f"{value!r} is not a valid value for column {column.name!r} ({sql_type})",
                    category=ErrorCategory.VALIDATION,
                ) from None
    return value


def _later(current: Any, candidate: Any) -> Any:
    if candidate is None:
        return current
    try:
        return candidate if current is None or candidate > current else current
    except TypeError:  # a query's since given as text against typed values: trust the rows
        return candidate


def _missing_table(error: SpineError) -> bool:
    cause: BaseException | None = error.cause
    original = getattr(cause, "orig", None) or cause
    if getattr(original, "sqlstate", None) == _UNDEFINED_TABLE_SQLSTATE:
        return True
    text = str(original)
    return any(marker in text for marker in _MISSING_TABLE_MESSAGES)
