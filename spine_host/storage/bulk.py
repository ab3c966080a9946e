"""Splitting what ``bulk_insert`` receives into bounded chunks: row tuples or Arrow batches.

``bulk_insert`` accepts an iterable of dicts, an iterable of Arrow record batches (or a mix), a
single record batch, or an Arrow table. Whatever the size, at most one chunk of rows is held in
Python objects at a time, so memory stays bounded by the chunk size, not the data size.
"""

from __future__ import annotations

import itertools
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
    chunker = _DictChunker(chunk_size)
    iterator = iter(rows)
    # Rows come in slices of chunk_size. A slice of plain dicts that all have the chunk's keys
    # (the usual case) is converted by map(itemgetter) in C: the per-row Python work is the whole
    # cost of a bulk load from dicts. Anything else goes row by row.
    while piece := list(itertools.islice(iterator, chunk_size)):
        fast = chunker.convert_uniform(piece)
        if fast is not None:
            yield from fast
        else:
            yield from chunker.convert_each(piece)
    yield from chunker.flush()


class _DictChunker:
    """Turns dict rows into RowChunks of at most ``chunk_size`` rows sharing one column list."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self.columns: list[str] = []
        self.to_tuple = _getter(self.columns)
        self.buffer: list[tuple[Any, ...]] = []

    def convert_uniform(self, piece: list[Any]) -> list[RowChunk] | None:
        """Chunks for a slice of plain dicts with one key set, or None if it is not one."""
        first = piece[0]
        if set(map(type, piece)) != {dict}:
            return None
        width = len(first)
        if set(map(len, piece)) != {width}:
            return None
        chunks: list[RowChunk] = []
        if first.keys() != set(self.columns):
            chunks += self.flush()
            self._use_columns(first)
        try:
            # itemgetter ignores extra keys, but every row has the same length, so none has any.
            converted = list(map(self.to_tuple, piece))
        except KeyError:  # some row has other keys: nothing of this slice was buffered yet
            return [*chunks, *self.convert_each(piece)]
        self.buffer.extend(converted)
        return chunks + self._full_chunks()

    def convert_each(self, piece: list[Any]) -> list[RowChunk | pa.RecordBatch]:
        """Row by row: dicts with changing keys, and Arrow batches passed through in order."""
        out: list[RowChunk | pa.RecordBatch] = []
        for item in piece:
            if isinstance(item, Mapping):
                if item.keys() != set(self.columns):
                    out += self.flush()
                    self._use_columns(item)
                self.buffer.append(self.to_tuple(item))
                out += self._full_chunks()
            elif _is_record_batch(item):
                out += self.flush()
                out.append(item)
            else:
                raise TypeError(
                    "bulk_insert rows must be dicts or Arrow record batches; "
                    f"got {type(item).__name__}"
                )
        return out

    def flush(self) -> list[RowChunk]:
        """Whatever rows are buffered, as one chunk."""
        if not self.buffer:
            return []
        chunk = RowChunk(self.columns, self.buffer)
        self.buffer = []
        return [chunk]

    def _full_chunks(self) -> list[RowChunk]:
        chunks = []
        while len(self.buffer) >= self.chunk_size:
            chunks.append(RowChunk(self.columns, self.buffer[: self.chunk_size]))
            del self.buffer[: self.chunk_size]
        return chunks

    def _use_columns(self, row: Mapping[str, Any]) -> None:
        self.columns = [str(name) for name in row]
        self.to_tuple = _getter(self.columns)


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
