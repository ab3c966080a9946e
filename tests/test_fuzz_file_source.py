"""Properties of the file source on arbitrary input.

Whatever bytes a CSV, PSV, TSV, JSON or JSONL file holds, a read ends in rows, rejects, or a
SpineError with a category: never another exception type, never a ``bytes`` value, nothing
printed by pyarrow. And rows written by Python's csv module read back exactly as written.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.fuzzing  # noqa: F401  (the hypothesis profile)
from spine_host.errors import ErrorCategory, SpineError
from spine_host.printable import printable
from spine_host.sources.file import FileSource, FileSourceConfig
from spine_host.structuring import structure

FORMATS = ["csv", "psv", "tsv", "json", "jsonl"]
DELIMITERS = {"csv": ",", "psv": "|", "tsv": "\t"}


def read(path: Path, **options: Any) -> tuple[list[dict[str, Any]] | None, SpineError | None]:
    config = structure({"path": str(path), **options}, FileSourceConfig, "sources.fuzz")
    result = FileSource("fuzz", config).fetch()
    if result.error is not None:
        return None, result.error
    rows = result.rows()
    for reject in result.rejects:
        assert isinstance(reject.raw, str)
    return rows, None


def assert_no_bytes(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for value in row.values():
            assert not isinstance(value, bytes | bytearray), row


# Bytes that look like delimited text more often than uniform noise does.
noisy_text = st.lists(
    st.sampled_from(
        [
            b"a",
            b"1",
            b",",
            b"|",
            b"\t",
            b'"',
            b"\n",
            b"\r\n",
            b"\xe9",
            b"\xff",
            b"\x00",
            b"{",
            b"}",
            b"[",
            b"]",
            b":",
            b"null",
            b"2025-12-26",
            b" ",
        ]
    )
    | st.binary(max_size=8),
    max_size=200,
).map(b"".join)


@given(data=st.binary(max_size=3_000) | noisy_text, fmt=st.sampled_from(FORMATS))
def test_any_bytes_are_rows_rejects_or_a_categorised_error(data: bytes, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input.{fmt}"
        path.write_bytes(data)
        rows, error = read(path)
        if error is not None:
            assert isinstance(error.category, ErrorCategory)
            # Quoted input shows its control characters escaped, never raw.
            assert printable(error.message) == error.message, error.message
        else:
            assert rows is not None
            assert_no_bytes(rows)
        # stream() gives the same outcome without fetch's wrapping: rows or a SpineError.
        config = structure({"path": str(path)}, FileSourceConfig, "sources.fuzz")
        failure: SpineError | None = None
        try:
            for row in FileSource("fuzz", config).stream():
                assert_no_bytes([row])
        except SpineError as exc:
            failure = exc
        if failure is not None:
            assert isinstance(failure.category, ErrorCategory)


cells = st.text(max_size=12)


@given(
    rows=st.integers(1, 4).flatmap(
        lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), max_size=20)
    ),
    fmt=st.sampled_from(["csv", "psv", "tsv"]),
)
def test_rows_written_by_the_csv_module_read_back_exactly(rows: list[list[str]], fmt: str) -> None:
    width = len(rows[0]) if rows else 1
    header = [f"c{index}" for index in range(width)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"rows.{fmt}"
        with path.open("w", encoding="utf-8", newline="") as stream:
            # The default "\r\n" line ending: with "\n" alone, the writer leaves a lone "\r" in a
            # value unquoted, and no reader can tell it from a line break.
            writer = csv.writer(stream, delimiter=DELIMITERS[fmt])
            writer.writerow(header)
            writer.writerows(rows)

        read_rows, error = read(path, types=dict.fromkeys(header, "string"))

        assert error is None, error
        assert read_rows == [dict(zip(header, row, strict=True)) for row in rows]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
@given(records=st.lists(json_values, max_size=10))
def test_any_json_values_are_rows_rejects_or_a_categorised_error(
    fmt: str, records: list[Any]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"records.{fmt}"
        if fmt == "jsonl":
            text = "".join(json.dumps(record) + "\n" for record in records)
        else:
            text = json.dumps(records)
        path.write_text(text, encoding="utf-8")
        rows, error = read(path)
        if error is not None:
            assert isinstance(error.category, ErrorCategory)
        else:
            assert rows is not None
            assert_no_bytes(rows)
