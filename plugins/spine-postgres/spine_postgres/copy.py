"""Binary COPY into a table, with every column's type declared to psycopg.

Declaring the types is not optional. Without ``Copy.set_types`` psycopg picks each column's binary
format from the Python value of the first row: small ints go out as int2, and a later 2**40 in a
bigint column was stored as 0 with no error (psycopg-binary 3.3.9), or the server rejected the
stream. The types here come from the server's catalog for the target table, so the encoding always
matches the column.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_postgres.errors import UPGRADE_HINT

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    from psycopg import sql

__all__ = ["CopyPlan", "arrow_rows", "copy_rows", "int_range_check", "plan_copy"]

_INT2_OID, _INT4_OID, _INT8_OID = 21, 23, 20
#: The ranges psycopg's binary int2/int4 dumpers do not check: they wrap (2**31 -> -2**31).
_INT_RANGES = {_INT2_OID: (-(2**15), 2**15 - 1), _INT4_OID: (-(2**31), 2**31 - 1)}
_DATE_OID = 1082
_TIMESTAMP_OID, _TIMESTAMPTZ_OID = 1114, 1184
_TIMESTAMP_OIDS = frozenset({_TIMESTAMP_OID, _TIMESTAMPTZ_OID})
_EPOCH_2000_MICROSECONDS = 946_684_800_000_000  # 2000-01-01 UTC, in microseconds since 1970
_EPOCH_2000_DAYS = 10_957

# Domains are written as their base type and enums as text (enum_recv reads the label as text).
_COLUMN_TYPES = """
SELECT a.attname,
       CASE t.typtype
           WHEN 'd' THEN t.typbasetype
           WHEN 'e' THEN 'pg_catalog.text'::pg_catalog.regtype::oid
           ELSE a.atttypid
       END::int8,
       pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = pg_catalog.to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""


@attrs.frozen
class CopyPlan:
    """How to COPY a list of columns into one table: the statement and each column's type."""

    table: str
    columns: tuple[str, ...]
    type_oids: tuple[int, ...]
    type_names: tuple[str, ...]
    statement: sql.Composed


def plan_copy(
    connection: psycopg.Connection[Any], schema: str | None, table: str, columns: Sequence[str]
) -> CopyPlan | None:
    """Read the columns' types from the catalog and build the COPY statement.

    Returns None when some column's type has no binary dumper in psycopg (an extension type, an
    array of enums): the caller then inserts those rows another way.

    Raises:
        SpineError: STORAGE when the table does not exist, VALIDATION when a column does not.
    """
    from psycopg import pq, sql

    target = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    shown = f"{schema}.{table}" if schema else table
    found = {
        name: (int(oid), type_name)
        for name, oid, type_name in connection.execute(
            _COLUMN_TYPES, (target.as_string(connection),)
        ).fetchall()
    }
    if not found:
        raise SpineError(
            f"table {shown} does not exist; {UPGRADE_HINT}",
            category=ErrorCategory.STORAGE,
            context={"table": shown},
        )
    missing = [name for name in columns if name not in found]
    if missing:
        raise SpineError(
            f"table {shown} has no column {', '.join(missing)} (it has {', '.join(found)})",
            category=ErrorCategory.VALIDATION,
            context={"table": shown, "columns": missing},
        )
    oids = tuple(found[name][0] for name in columns)
    for oid in oids:
        try:
            connection.adapters.get_dumper_by_oid(oid, pq.Format.BINARY)
        except Exception:
            return None
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        target, sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    )
    return CopyPlan(
        table=shown,
        columns=tuple(columns),
        type_oids=oids,
        type_names=tuple(found[name][1] for name in columns),
        statement=statement,
    )


def copy_rows(
    connection: psycopg.Connection[Any],
    plan: CopyPlan,
    rows: Iterable[Sequence[Any]],
    types: Sequence[int] | None = None,
    *,
    ranges_checked: bool = False,
) -> int:
    """Stream ``rows`` (value tuples in ``plan.columns`` order) through one binary COPY.

    Runs in the connection's current transaction. ``types`` overrides the declared wire types
    (see :func:`arrow_rows`). Ints for smallint/integer columns are range-checked (the binary
    dumpers would wrap them) unless the caller did it (``ranges_checked``, see
    :func:`int_range_check`). Returns the number of rows written.

    Raises:
        SpineError: VALIDATION naming the row, column and type when a value cannot be encoded
            as its column's type (a float for a numeric column, a naive datetime for timestamptz).
    """
    count = 0
    declared = list(plan.type_oids if types is None else types)
    encode = _naive_utc_encoder(declared)
    ranged = [] if ranges_checked else _ranged(declared)
    if ranged and not isinstance(rows, list):
        rows = _range_checked(plan, ranged, rows)
    with connection.cursor() as cursor, cursor.copy(plan.statement) as copy:
        copy.set_types(declared)
        write_row = copy.write_row
        if isinstance(rows, list):
            if ranged:
                _check_int_ranges(plan, ranged, rows, first=1)
            # The hot path: no per-row bookkeeping; the failing row is found only on failure.
            try:
                for row in rows:
                    write_row(row if encode is None else encode(row))
            except (TypeError, ValueError, OverflowError) as exc:
                count = next(i for i, item in enumerate(rows, start=1) if item is row)
                raise _unencodable(connection, plan, declared, row, count, exc, encode) from exc
            return len(rows)
        for count, row in enumerate(rows, start=1):
            try:
                write_row(row if encode is None else encode(row))
            except (TypeError, ValueError, OverflowError) as exc:
                raise _unencodable(connection, plan, declared, row, count, exc, encode) from exc
    return count


def int_range_check(
    plan: CopyPlan,
) -> Callable[[Sequence[Sequence[Any]], int], None] | None:
    """A check of a chunk of rows (and the number of its first row) for ``plan``'s smallint and
    integer columns, or None when it has none: refuses an int the binary dumper would wrap."""
    ranged = _ranged(plan.type_oids)
    if not ranged:
        return None

    def check(rows: Sequence[Sequence[Any]], first: int) -> None:
        _check_int_ranges(plan, ranged, rows, first=first)

    return check


def _ranged(declared: Sequence[int]) -> list[tuple[int, tuple[int, int]]]:
    return [(i, _INT_RANGES[oid]) for i, oid in enumerate(declared) if oid in _INT_RANGES]


def _check_int_ranges(
    plan: CopyPlan,
    ranged: Sequence[tuple[int, tuple[int, int]]],
    rows: Sequence[Sequence[Any]],
    *,
    first: int,
) -> None:
    """Refuse an int beyond its smallint/integer column, which the binary dumper would wrap.

    One C-speed min/max per such column; the rows are walked only when one is out of range.
    """
    for position, (low, high) in ranged:
        ints = [value for row in rows if isinstance(value := row[position], int)]
        if not ints or (low <= min(ints) and max(ints) <= high):
            continue
        for number, row in enumerate(rows, start=first):
            value = row[position]
            if isinstance(value, int) and not low <= value <= high:
                raise _out_of_range(plan, position, number, low, high)


def _range_checked(
    plan: CopyPlan, ranged: Sequence[tuple[int, tuple[int, int]]], rows: Iterable[Sequence[Any]]
) -> Iterator[Sequence[Any]]:
    """``rows``, each checked as :func:`_check_int_ranges` checks a list."""
    for number, row in enumerate(rows, start=1):
        for position, (low, high) in ranged:
            value = row[position]
            if isinstance(value, int) and not low <= value <= high:
                raise _out_of_range(plan, position, number, low, high)
        yield row


def _out_of_range(plan: CopyPlan, position: int, number: int, low: int, high: int) -> SpineError:
    column, type_name = plan.columns[position], plan.type_names[position]
    return SpineError(
        f"bulk insert into {plan.table}: row {number}, column {column}: an int outside "
        f"{low}..{high} does not fit {type_name}",
        category=ErrorCategory.VALIDATION,
        context={"table": plan.table, "row": number, "column": column, "value_type": "int"},
    )


def _naive_utc_encoder(
    declared: Sequence[int],
) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """A row converter sending aware datetimes naive, in UTC, to ``timestamp`` columns.

    INSERT does the same for a ``timestamp without time zone`` column (see
    :class:`~spine_host.storage.types.UtcDateTime`), so ``bulk_insert`` and ``upsert`` accept
    the same values; psycopg's binary timestamp dumper refuses aware ones. None when no column
    is such a timestamp.
    """
    positions = [i for i, oid in enumerate(declared) if oid == _TIMESTAMP_OID]
    if not positions:
        return None

    def encode(row: Sequence[Any]) -> Sequence[Any]:
        values = list(row)
        for position in positions:
            value = values[position]
            if isinstance(value, datetime) and value.utcoffset() is not None:
                values[position] = value.astimezone(UTC).replace(tzinfo=None)
        return values

    return encode


def arrow_rows(
    batch: pa.RecordBatch, plan: CopyPlan, chunk_rows: int, *, first_row: int = 1
) -> tuple[list[int], Iterator[tuple[Any, ...]]]:
    """The types to declare and the rows of ``batch`` as value tuples in ``plan.columns`` order.

    Converts column by column (far faster than row by row) and ``chunk_rows`` rows at a time, so
    the Python objects alive at once stay bounded however large the batch is.

    Timestamps and dates skip Python ``datetime`` objects, which cost microseconds each to build:
    PostgreSQL's binary ``timestamp``/``timestamptz`` is an int8 of microseconds since
    2000-01-01 UTC and its binary ``date`` an int4 of days since then, so those columns are
    shifted in Arrow and sent as int8/int4 (binary COPY applies no cast; the column's own
    receive function reads the bytes). Timestamps without a time zone are taken as UTC.
    Integer columns for smallint/integer are range-checked here (``first_row`` numbers the
    batch's first row in errors).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: list[Any] = [batch.column(name) for name in plan.columns]
    types = list(plan.type_oids)
    for position, oid in enumerate(types):
        array = columns[position]
        if oid in _TIMESTAMP_OIDS and pa.types.is_timestamp(array.type):
            micros = array.cast(pa.timestamp("us", tz=array.type.tz), safe=False).cast(pa.int64())
            columns[position] = pc.subtract_checked(micros, _EPOCH_2000_MICROSECONDS)
            types[position] = _INT8_OID
        elif oid == _DATE_OID and pa.types.is_date(array.type):
            days = array.cast(pa.date32()).cast(pa.int32())
            columns[position] = pc.subtract_checked(days, _EPOCH_2000_DAYS)
            types[position] = _INT4_OID
        elif oid in _INT_RANGES and pa.types.is_integer(array.type) and len(array):
            low, high = _INT_RANGES[oid]
            bounds = pc.min_max(array)
            smallest, largest = bounds["min"].as_py(), bounds["max"].as_py()
            if smallest is not None and (smallest < low or largest > high):
                outside = pc.or_(pc.less(array, low), pc.greater(array, high))
                number = pc.index(outside, True).as_py() + first_row
                raise _out_of_range(plan, position, number, low, high)

    def rows() -> Iterator[tuple[Any, ...]]:
        for offset in range(0, batch.num_rows, chunk_rows):
            values = [column.slice(offset, chunk_rows).to_pylist() for column in columns]
            yield from zip(*values, strict=True)

    return types, rows()


def _unencodable(
    connection: psycopg.Connection[Any],
    plan: CopyPlan,
    declared: Sequence[int],
    row: Sequence[Any],
    number: int,
    exc: BaseException,
    encode: Callable[[Sequence[Any]], Sequence[Any]] | None,
) -> SpineError:
    from psycopg import pq

    column, value, type_name = "?", None, "?"
    if encode is not None:
        # Check the values as they were sent, not as the caller gave them; when the conversion
        # itself failed, the dump below finds the value.
        with contextlib.suppress(ValueError, OverflowError):
            row = encode(row)
    # The driver's message does not say which value failed; find it by dumping each one.
    for name, oid, column_type, candidate in zip(
        plan.columns, declared, plan.type_names, row, strict=False
    ):
        if candidate is None:
            continue
        dumper_class = connection.adapters.get_dumper_by_oid(oid, pq.Format.BINARY)
        try:
            dumper_class(type(candidate), connection).dump(candidate)
        except Exception:
            column, value, type_name = name, candidate, column_type
            break
    # The value's type, never the value: row values can be secrets, and this message goes to
    # run history and alerts.
    return SpineError(
        f"bulk insert into {plan.table}: row {number}, column {column}: cannot write a "
        f"value of type {type(value).__name__} as {type_name} ({exc})",
        category=ErrorCategory.VALIDATION,
        context={
            "table": plan.table,
            "row": number,
            "column": column,
            "value_type": type(value).__name__,
        },
        cause=exc,
    )
