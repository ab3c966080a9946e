"""Splitting what ``bulk_insert`` receives into bounded chunks: row tuples or Arrow batches.

``bulk_insert`` accepts an iterable of dicts, an iterable of Arrow record batches (or a mix), a
single record batch, or an Arrow table. Whatever the size, at most one chunk of rows is held in
Python objects at a time, so memory stays bounded by the chunk size, not the data size.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RowChunk", "arrow_row_slices", "chunk_rows"]


@attrs.frozen
class RowChunk:
    """Rows that share one column list, as tuples in that column order."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def chunk_rows(rows: object, chunk_size: int) -> Iterator[RowChunk | pa.RecordBatch]:
    """Yield :class:`RowChunk` s (from dicts) and record batches (passed through) in input order.

    Consecutive dicts with the same keys share a chunk; a dict with other keys starts a new one,
    so a missing key means "the column's default", never a silent NULL.
    """
    arrow: Any = rows
    if _is_arrow_table(arrow):
        yield from arrow.to_batches(max_chunksize=chunk_size)
        return
    if _is_record_batch(arrow):
        yield arrow
        return
    if isinstance(rows, Mapping) or not isinstance(rows, Iterable):
        raise TypeError(
            f"bulk_insert expects an iterable of dicts or Arrow record batches, or an Arrow "
            f"table; got {type(rows).__name__}"
        )
    columns: list[str] = []
    to_tuple: Callable[[Mapping[str, Any]], tuple[Any, ...]] = _getter(columns)
    buffer: list[tuple[Any, ...]] = []
    # The per-row work is the whole cost of a bulk load from dicts: plain dicts skip the ABC
    # isinstance check, and a precomputed itemgetter builds each tuple in C. A row with other
    # keys shows as a different length or a KeyError, and starts a new chunk.
    for item in rows:
        if type(item) is dict or isinstance(item, Mapping):
            row: tuple[Any, ...] | None = None
            if len(item) == len(columns):
                try:
                    row = to_tuple(item)
                except KeyError:
                    row = None
            if row is None:
                if buffer:
                    yield RowChunk(columns, buffer)
                    buffer = []
                columns = [str(name) for name in item]
                to_tuple = _getter(columns)
                row = to_tuple(item)
            buffer.append(row)
            if len(buffer) >= chunk_size:
                yield RowChunk(columns, buffer)
                buffer = []
        elif _is_record_batch(item):
            if buffer:
                yield RowChunk(columns, buffer)
                buffer = []
            yield item
        else:
            raise TypeError(
                f"bulk_insert rows must be dicts or Arrow record batches; got {type(item).__name__}"
            )
    if buffer:
        yield RowChunk(columns, buffer)


def arrow_row_slices(batch: pa.RecordBatch, chunk_size: int) -> Iterator[RowChunk]:
    """A record batch as row tuples, ``chunk_size`` rows at a time (Arrow types to Python)."""
    names = list(batch.schema.names)
    for offset in range(0, batch.num_rows, chunk_size):
        piece = batch.slice(offset, chunk_size)
        columns = [column.to_pylist() for column in piece.columns]
        yield RowChunk(names, list(zip(*columns, strict=True)))


def _getter(columns: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(columns) == 1:
        (name,) = columns
        return lambda item: (item[name],)
    if not columns:
        return lambda item: ()
    getter: Callable[[Mapping[str, Any]], tuple[Any, ...]] = operator.itemgetter(*columns)
    return getter


def _is_record_batch(value: object) -> bool:
    # Checked by name so that dict rows never import pyarrow.
    return type(value).__module__.startswith("pyarrow") and type(value).__name__ == "RecordBatch"


def _is_arrow_table(value: object) -> bool:
    return type(value).__module__.startswith("pyarrow") and type(value).__name__ == "Table"
