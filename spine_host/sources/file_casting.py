"""Casting columns read as text to their declared types, one batch at a time, with bad values.

pyarrow's CSV reader fails the whole read on the first value that does not fit its column's
type. When that happens the file source reads those columns as strings instead and casts each
batch here: the rows whose values cast become the batch, the rows whose values do not become
:class:`BadRow` s (the caller turns them into rejects). The cast follows pyarrow's CSV
conversion: its null markers (``""``, ``NA``, ``null``...) are nulls, and numbers and dates may
carry surrounding whitespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BadRow", "ColumnCaster", "bad_value_reason", "type_name"]

# pyarrow's names for the types whose file-source name differs ("date32", "float64").
_TYPE_NAMES = {
    "date32[day]": "date32",
    "date64[ms]": "date64",
    "double": "float64",
    "float": "float32",
}


def type_name(kind: pa.DataType) -> str:
    """The name a user declares ``kind`` by in ``types``: ``int64``, ``date32``, ``float64``."""
    text = str(kind)
    return _TYPE_NAMES.get(text, text)


def bad_value_reason(column: str, value: object, kind: pa.DataType) -> str:
    """``column trade_count: 'x' is not a valid int64``: the reason of a BAD_VALUE reject."""
    return f"column {column}: {value!r} is not a valid {type_name(kind)}"


@attrs.frozen
class BadRow:
    """A row of a batch with at least one value that does not fit its column's type."""

    #: 0-based position of the row in the batch it came from.
    index: int
    #: One reason per bad value, in column order (see :func:`bad_value_reason`).
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        """The reasons as one sentence."""
        return "; ".join(self.reasons)


class ColumnCaster:
    """Casts the string columns of a batch to their target types, setting bad rows apart.

    ``targets`` maps column names to types; other columns pass through as they are.
    ``inferred`` names the targets whose type pyarrow inferred rather than the user declared,
    so their reasons can say where the expectation came from.
    """

    def __init__(
        self, targets: Mapping[str, pa.DataType], *, inferred: frozenset[str] = frozenset()
    ) -> None:
        import pyarrow.csv as pacsv

        self._targets = dict(targets)
        self._inferred = inferred
        self._null_markers = list(pacsv.ConvertOptions().null_values)

    def cast(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, list[BadRow]]:
        """The rows of ``batch`` whose values all cast, cast; and the rows that do not."""
        import pyarrow as pa

        names = batch.schema.names
        prepared: dict[int, pa.Array] = {}
        failing: dict[int, list[tuple[str, str]]] = {}
        for position, name in enumerate(names):
            kind = self._targets.get(name)
            if kind is None:
                continue
            column = batch.column(position)
            try:
                prepared[position] = _cast(column, kind)
                continue
            except pa.ArrowInvalid:
                column = self._normalised(column, kind)
            try:
                prepared[position] = _cast(column, kind)
            except pa.ArrowInvalid:
                prepared[position] = column  # cast again once the bad rows are gone
                for index in _failing_positions(column, kind):
                    reason = self._reason(name, column[index].as_py(), kind)
                    failing.setdefault(index, []).append((name, reason))
        if not failing:
            columns = [prepared.get(i, batch.column(i)) for i in range(len(names))]
            return pa.RecordBatch.from_arrays(columns, names=names), []
        bad_rows = [
            BadRow(index, tuple(reason for _name, reason in failing[index]))
            for index in sorted(failing)
        ]
        keep = pa.array([i not in failing for i in range(batch.num_rows)])
        columns = []
        for position in range(len(names)):
            column = prepared.get(position, batch.column(position)).filter(keep)
            kind = self._targets.get(names[position])
            if kind is not None and column.type != kind:
                column = _cast(column, kind)
            columns.append(column)
        return pa.RecordBatch.from_arrays(columns, names=names), bad_rows

    def _normalised(self, column: pa.Array, kind: pa.DataType) -> pa.Array:
        # As pyarrow's CSV conversion does: null markers are nulls; numbers and dates may be
        # padded with spaces (booleans and timestamps may not).
        import pyarrow as pa
        import pyarrow.compute as pc

        is_null_marker = pc.is_in(column, value_set=pa.array(self._null_markers, column.type))
        column = pc.if_else(is_null_marker, pa.scalar(None, column.type), column)
        if (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_date(kind)
        ):
            column = pc.ascii_trim_whitespace(column)
        result: pa.Array = column
        return result

    def _reason(self, name: str, value: object, kind: pa.DataType) -> str:
        reason = bad_value_reason(name, value, kind)
        if name in self._inferred:
            return f"{reason} (the type pyarrow inferred from the first rows)"
        return reason


def _cast(column: pa.Array, kind: pa.DataType) -> pa.Array:
    import pyarrow.compute as pc

    result: pa.Array = pc.cast(column, kind, safe=True)
    return result


def _failing_positions(column: pa.Array, kind: pa.DataType) -> list[int]:
    """Positions of the values of ``column`` that do not cast to ``kind``.

    Halves the failing range until single values remain: a few casts per bad value, rather
    than one cast per value of the batch.
    """
    import pyarrow as pa

    failing: list[int] = []
    pending = [(0, len(column))]
    while pending:
        start, length = pending.pop()
        try:
            _cast(column.slice(start, length), kind)
        except pa.ArrowInvalid:
            if length == 1:
                failing.append(start)
            else:
                half = length // 2
                pending += [(start + half, length - half), (start, half)]
    return sorted(failing)
