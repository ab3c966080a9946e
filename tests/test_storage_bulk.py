"""bulk_insert's chunking: every row arrives once, in order, with its own columns."""

from __future__ import annotations

import pytest

from spine_host.storage.bulk import RowChunk, chunk_rows

ROWS = [
    {"a": 1, "b": 2},
    {"b": 3, "a": 4},  # same keys, other order
    {"a": 5, "c": 6},  # same length, other keys
    {"a": 7},  # fewer keys: its missing column must not become NULL of another row's
    {"a": 8, "b": 9, "c": 10},  # more keys
    {"a": 11, "b": 12},
]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 100])
def test_rows_round_trip_in_order_with_their_own_columns(chunk_size: int) -> None:
    seen = []
    for chunk in chunk_rows(ROWS, chunk_size):
        assert isinstance(chunk, RowChunk)
        assert len(chunk.rows) <= chunk_size
        seen += [dict(zip(chunk.columns, row, strict=True)) for row in chunk.rows]
    assert seen == ROWS


def test_uniform_rows_fill_whole_chunks() -> None:
    rows = [{"id": i, "name": f"n{i}"} for i in range(10)]
    chunks = list(chunk_rows(iter(rows), 4))
    assert [len(chunk.rows) for chunk in chunks] == [4, 4, 2]
    assert all(chunk.columns == ["id", "name"] for chunk in chunks)


def test_anything_but_dicts_and_arrow_is_refused() -> None:
    with pytest.raises(TypeError, match="got tuple"):
        list(chunk_rows([(1, 2)], 10))
    with pytest.raises(TypeError, match="iterable of dicts"):
        list(chunk_rows({"a": 1}, 10))
