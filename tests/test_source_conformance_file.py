"""The file source passes SourceSuite in each of its main formats."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spine_host.sources.file import FileSource, FileSourceConfig
from spine_host.testing.conformance.sources import SourceSuite

ROWS: list[dict[str, Any]] = [
    {"week_ending": dt.date(2025, 12, 19), "symbol": "AAPL", "shares": 1000, "price": 1.5},
    {"week_ending": dt.date(2025, 12, 19), "symbol": "MSFT", "shares": 2000, "price": 2.25},
    {"week_ending": dt.date(2025, 12, 26), "symbol": "ZZZ", "shares": 30, "price": 0.5},
]
TYPES = {"week_ending": "date32", "shares": "int64", "price": "float64"}


def delimited(rows: list[dict[str, Any]], delimiter: str) -> str:
    lines = [delimiter.join(rows[0])]
    lines += [delimiter.join(str(value) for value in row.values()) for row in rows]
    return "\n".join(lines) + "\n"


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, default=str) + "\n" for row in rows)


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    pq.write_table(pa.Table.from_pylist(rows), path)


WRITERS: dict[str, Callable[[Path, list[dict[str, Any]]], None]] = {
    "csv": lambda path, rows: path.write_text(delimited(rows, ",")),
    "psv": lambda path, rows: path.write_text(delimited(rows, "|")),
    "jsonl": lambda path, rows: path.write_text(jsonl(rows)),
    "parquet": write_parquet,
}


class FileSourceSuite(SourceSuite):
    """Shared fixtures; each subclass picks a format."""

    extension = ""

    @pytest.fixture
    def data_path(self, tmp_path: Path) -> Path:
        path = tmp_path / f"otc.{self.extension}"
        WRITERS[self.extension](path, ROWS)
        return path

    @pytest.fixture
    def source(self, data_path: Path) -> FileSource:
        return FileSource("otc", FileSourceConfig(path=str(data_path), types=TYPES))

    @pytest.fixture
    def expected_rows(self) -> list[dict[str, Any]]:
        return ROWS

    @pytest.fixture
    def missing_source(self, tmp_path: Path) -> FileSource:
        return FileSource("gone", FileSourceConfig(path=str(tmp_path / f"gone.{self.extension}")))

    @pytest.fixture
    def mutate(self, data_path: Path) -> Callable[[], None]:
        changed = [{**ROWS[0], "shares": 1001}, *ROWS[1:]]
        return lambda: WRITERS[self.extension](data_path, changed)


class TestCsvFileSource(FileSourceSuite):
    extension = "csv"


class TestPsvFileSource(FileSourceSuite):
    extension = "psv"


class TestJsonlFileSource(FileSourceSuite):
    extension = "jsonl"


class TestParquetFileSource(FileSourceSuite):
    extension = "parquet"
