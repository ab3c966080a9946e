"""Whether values fit the columns they are written to, judged from the columns' declared types.

PostgreSQL and DB2 refuse a value that does not fit its column (``'abc'`` for an INTEGER, 50
characters for a VARCHAR(10)); SQLite stores it. The SQLite adapter checks ``bulk_insert`` and
``upsert`` values here first, so the same call fails the same way on every adapter: a VALIDATION
error naming the table, the row, the column, its declared type and the value's Python type, never
the value itself (row values can be secrets).

The rules follow PostgreSQL's binary COPY, the stricter of its two write paths: ``'12'`` is not
an INTEGER and ``1.5`` is not rounded into one. What each declared type accepts (``None`` always
passes; NOT NULL is the database's to enforce):

====================================  ===========================================================
SMALLINT, INTEGER, BIGINT             ``int`` (``bool`` too) within 16, 32 or 64 bits
NUMERIC(p, s), DECIMAL(p, s)          ``int``, ``float``, ``Decimal`` that round to fewer than
                                      p - s integer digits (no limit without a precision)
FLOAT, REAL, DOUBLE                   ``int``, ``float``, ``Decimal``
VARCHAR(n), CHAR(n), TEXT             ``str`` of at most n characters
BOOLEAN                               ``bool``, or the ints 0 and 1
DATETIME, TIMESTAMP                   ``datetime``; aware only, for spine's own timestamp columns
DATE                                  ``date`` (a ``datetime`` too: its date is kept)
TIME                                  ``time``
BLOB, LargeBinary                     ``bytes``, ``bytearray``, ``memoryview``
JSON (spine's ``JsonDocument``)       ``dict``, ``list``, ``tuple``, ``str``, ``int``, ``float``,
                                      ``bool`` (what is inside is left to the JSON encoder)
any other type                        anything: its own bind processing decides
====================================  ===========================================================

A list of values is checked in a few C-speed passes (the set of their types, then min/max or the
longest string); only a list with an odd type or a value out of bounds is walked value by value,
to find the first misfit. Arrow arrays are checked by their Arrow type, once per array, plus a
vectorised bound where the type alone does not settle it (:mod:`spine_host.storage.arrow_checks`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage.types import JsonDocument, UtcDateTime

__all__ = [
    "BinaryCheck",
    "BooleanCheck",
    "ColumnCheck",
    "DateCheck",
    "DateTimeCheck",
    "IntegerCheck",
    "JsonCheck",
    "NumberCheck",
    "TextCheck",
    "TimeCheck",
    "column_check",
    "misfit_error",
]

_NONE = type(None)
_is_not_none = functools.partial(operator.is_not, None)

# Bits of each integer type; SQLite's rowid (an INTEGER PRIMARY KEY) is 64 bits whatever it says.
_SMALLINT_BITS, _INTEGER_BITS, _BIGINT_BITS = 16, 32, 64


@attrs.frozen
class ColumnCheck:
    """The rule for one column: which values fit its declared type.

    Subclasses set ``plain_types`` (exact types that fit without looking at the value, unless
    ``bounded``), ``holds`` (what the type holds, for messages) and ``arrow_kinds`` (the Arrow
    type families that fit), and implement :meth:`fits`.
    """

    declared: str

    plain_types: ClassVar[frozenset[type]] = frozenset()
    holds: ClassVar[str] = "values"
    arrow_kinds: ClassVar[frozenset[str]] = frozenset()

    @property
    def bounded(self) -> bool:
        """Whether values of a plain type can still be out of bounds (too long, too large)."""
        return False

    def fits(self, value: Any) -> bool:
        """Whether one value (never None) fits the column."""
        raise NotImplementedError

    def problem(self, value: Any) -> str:
        """Why ``value`` does not fit, naming its type but never the value itself."""
        return (
            f"a value of type {type(value).__name__} does not fit {self.declared}, "
            f"which holds {self.holds}"
        )

    def first_misfit(self, values: Sequence[Any]) -> int | None:
        """The index of the first value that does not fit, or None when all of them do."""
        kinds = set(map(type, values))
        has_none = _NONE in kinds
        kinds.discard(_NONE)
        if kinds <= self.plain_types:
            if not self.bounded:
                return None
            present = list(filter(_is_not_none, values)) if has_none else values
            try:
                if not present or self.within_bounds(present):
                    return None
            except (TypeError, ArithmeticError):
                pass  # NaN among Decimals, say: the walk below decides value by value
        fits = self.fits
        for index, value in enumerate(values):
            if value is not None and not fits(value):
                return index
        return None

    def within_bounds(self, present: Sequence[Any]) -> bool:
        """Whether values, all of a plain type and none None, are within bounds (vectorised)."""
        return True


@attrs.frozen
class IntegerCheck(ColumnCheck):
    """SMALLINT, INTEGER, BIGINT: ints within the type's two's-complement range."""

    low: int
    high: int

    plain_types = frozenset({int, bool})
    holds = "whole numbers"
    arrow_kinds = frozenset({"int", "bool"})

    @property
    def bounded(self) -> bool:
        return True

    def fits(self, value: Any) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high

    def problem(self, value: Any) -> str:
        if isinstance(value, int):
            return f"an int outside {self.declared}'s range {self.low}..{self.high}"
        return super().problem(value)

    def within_bounds(self, present: Sequence[Any]) -> bool:
        return bool(self.low <= min(present) and max(present) <= self.high)


@attrs.frozen
class NumberCheck(ColumnCheck):
    """NUMERIC, DECIMAL, FLOAT: numbers; with a precision, below the magnitude it can hold."""

    #: Magnitudes at or above this round to more integer digits than the type has; None: any.
    limit: Decimal | None = None

    plain_types = frozenset({int, float, Decimal})
    holds = "numbers"
    arrow_kinds = frozenset({"int", "float", "decimal"})

    @property
    def bounded(self) -> bool:
        return self.limit is not None

    def fits(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return False
        if self.limit is None or _is_nan(value):  # NaN fits NUMERIC, as in PostgreSQL
            return True
        magnitude: Any = abs(value)  # float and Decimal compare exactly
        return bool(magnitude < self.limit)

    def problem(self, value: Any) -> str:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return f"{_a(type(value).__name__)} too large for {self.declared}"
        return super().problem(value)

    def within_bounds(self, present: Sequence[Any]) -> bool:
        assert self.limit is not None
        magnitudes: Iterator[Any] = map(abs, present)
        return bool(max(magnitudes) < self.limit)


@attrs.frozen
class TextCheck(ColumnCheck):
    """VARCHAR(n), CHAR(n), TEXT: strings, of at most ``length`` characters when it is set."""

    length: int | None = None

    plain_types = frozenset({str})
    holds = "text"
    arrow_kinds = frozenset({"str"})

    @property
    def bounded(self) -> bool:
        return self.length is not None

    def fits(self, value: Any) -> bool:
        return isinstance(value, str) and (self.length is None or len(value) <= self.length)

    def problem(self, value: Any) -> str:
        if isinstance(value, str):
            return f"a str of {len(value)} characters does not fit {self.declared}"
        return super().problem(value)

    def within_bounds(self, present: Sequence[Any]) -> bool:
        assert self.length is not None
        return max(map(len, present)) <= self.length


@attrs.frozen
class BooleanCheck(ColumnCheck):
    """BOOLEAN: True and False, and the ints 0 and 1 (which every adapter takes as them)."""

    plain_types = frozenset({bool})
    holds = "True or False (or the ints 0 and 1)"
    arrow_kinds = frozenset({"bool", "int"})

    def fits(self, value: Any) -> bool:
        return isinstance(value, int) and (value is True or value is False or value in (0, 1))


@attrs.frozen
class DateTimeCheck(ColumnCheck):
    """DATETIME, TIMESTAMP: datetimes; spine's own timestamp columns refuse naive ones."""

    naive_is_utc: bool = True

    plain_types = frozenset({datetime})
    holds = "datetimes"
    arrow_kinds = frozenset({"timestamp"})

    @property
    def bounded(self) -> bool:
        return not self.naive_is_utc

    def fits(self, value: Any) -> bool:
        if not isinstance(value, datetime):
            return False
        return self.naive_is_utc or value.utcoffset() is not None

    def problem(self, value: Any) -> str:
        if isinstance(value, datetime):
            return (
                f"a naive datetime does not fit {self.declared}, which holds UTC timestamps; "
                "pass an aware datetime such as datetime.now(UTC)"
            )
        return super().problem(value)

    def within_bounds(self, present: Sequence[Any]) -> bool:
        # One tzinfo per zone, so this set is small; a zone whose offset is None is rare enough
        # to leave to the column's own bind processing.
        return None not in set(map(operator.attrgetter("tzinfo"), present))


@attrs.frozen
class DateCheck(ColumnCheck):
    """DATE: dates, and datetimes (whose date is kept, as PostgreSQL does)."""

    plain_types = frozenset({date, datetime})
    holds = "dates"
    arrow_kinds = frozenset({"date", "timestamp"})

    def fits(self, value: Any) -> bool:
        return isinstance(value, date)


@attrs.frozen
class TimeCheck(ColumnCheck):
    """TIME: times of day."""

    plain_types = frozenset({time})
    holds = "times of day"
    arrow_kinds = frozenset({"time"})

    def fits(self, value: Any) -> bool:
        return isinstance(value, time)


@attrs.frozen
class BinaryCheck(ColumnCheck):
    """BLOB, BYTEA, LargeBinary: bytes-like values."""

    plain_types = frozenset({bytes, bytearray, memoryview})
    holds = "bytes"
    arrow_kinds = frozenset({"bytes"})

    def fits(self, value: Any) -> bool:
        return isinstance(value, bytes | bytearray | memoryview)


@attrs.frozen
class JsonCheck(ColumnCheck):
    """JSON: the values a JSON encoder writes; what is nested inside is left to the encoder."""

    plain_types = frozenset({dict, list, tuple, str, int, float, bool})
    holds = "JSON values (dict, list, str, number, bool)"
    arrow_kinds = frozenset({"bool", "int", "float", "str", "list", "dict"})

    def fits(self, value: Any) -> bool:
        return isinstance(value, dict | list | tuple | str | int | float)


def column_check(
    column: sa.Column[Any], dialect: sa.Dialect, *, rowid: bool = False
) -> ColumnCheck | None:
    """The rule for ``column``, from its SQLAlchemy type; None when no rule applies.

    Args:
        column: a column of spine's schema or of a reflected table.
        dialect: the dialect that names the declared type in messages.
        rowid: the column is SQLite's 64-bit rowid (a lone INTEGER PRIMARY KEY).
    """
    column_type = column.type
    declared = _declared(column_type, dialect)
    if isinstance(column_type, UtcDateTime):
        return DateTimeCheck(declared, naive_is_utc=column_type.naive_is_utc)
    if isinstance(column_type, JsonDocument | sa.JSON):
        return JsonCheck(declared)
    if isinstance(column_type, sa.TypeDecorator | sa.Enum | sa.Interval):
        return None  # their own bind processing converts (and checks) what they are given
    if isinstance(column_type, sa.Boolean):
        return BooleanCheck(declared)
    if isinstance(column_type, sa.Integer):
        bits = _INTEGER_BITS
        if isinstance(column_type, sa.SmallInteger):
            bits = _SMALLINT_BITS
        elif isinstance(column_type, sa.BigInteger) or rowid:
            bits = _BIGINT_BITS
        return IntegerCheck(declared, low=-(2 ** (bits - 1)), high=2 ** (bits - 1) - 1)
    if isinstance(column_type, sa.Float):
        return NumberCheck(declared)
    if isinstance(column_type, sa.Numeric):
        return NumberCheck(declared, limit=_numeric_limit(column_type))
    if isinstance(column_type, sa.String):
        return TextCheck(declared, length=column_type.length)
    if isinstance(column_type, sa.DateTime):
        return DateTimeCheck(declared)
    if isinstance(column_type, sa.Date):
        return DateCheck(declared)
    if isinstance(column_type, sa.Time):
        return TimeCheck(declared)
    if isinstance(column_type, sa.LargeBinary | sa.BINARY | sa.VARBINARY):
        return BinaryCheck(declared)
    return None


def misfit_error(
    operation: str, table: str, row: int, column: str, check: ColumnCheck, value: Any
) -> SpineError:
    """The VALIDATION error for a value that does not fit; it never contains the value.

    Args:
        operation: ``bulk_insert`` or ``upsert``.
        table: the table's name.
        row: the row's number in the call, from 1.
        column: the column's name.
        check: the column's rule.
        value: the value, only to describe its type.
    """
    return SpineError(
        f"{operation} into {table}: row {row}, column {column}: {check.problem(value)}",
        category=ErrorCategory.VALIDATION,
        context={
            "table": table,
            "row": row,
            "column": column,
            "declared_type": check.declared,
            "value_type": type(value).__name__,
        },
    )


def _numeric_limit(column_type: sa.Numeric[Any]) -> Decimal | None:
    """The magnitude at which a value rounds to more integer digits than the type has."""
    precision = column_type.precision
    if precision is None:
        return None
    scale = max(column_type.scale or 0, 0)
    # NUMERIC(10, 2): 99999999.995 rounds to 100000000.00, which needs nine integer digits.
    return Decimal(10) ** (precision - scale) - Decimal(5) * Decimal(10) ** -(scale + 1)


def _declared(column_type: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str:
    try:
        return str(column_type.compile(dialect=dialect))
    except sa.exc.SQLAlchemyError:
        return type(column_type).__name__.upper()


def _is_nan(value: int | float | Decimal) -> bool:
    return value.is_nan() if isinstance(value, Decimal) else value != value


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"
