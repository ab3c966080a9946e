"""RowSource: a plain-Python source (one method yielding dicts) gets the whole Source contract."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from spine_host.api import ErrorCategory, RowSource
from spine_host.testing.conformance.sources import SourceSuite

ROWS = [{"symbol": "AAA", "price": 1.5, "volume": 10}, {"symbol": "BBB", "price": 2.0, "volume": 7}]


@attrs.frozen
class QuotesConfig:
    path: str


class QuotesSource(RowSource):
    """Reads one JSON object per line; a line without a symbol is a reject."""

    source_type = "quotes"
    Config = QuotesConfig

    def rows(self, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        with open(self.config.path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                record = json.loads(line)
                if "symbol" not in record:
                    self.reject("no symbol", line.rstrip("\n"), line_number=number)
                    continue
                yield record


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


class TestQuotesSource(SourceSuite):
    @pytest.fixture
    def source(self, tmp_path: Path) -> QuotesSource:
        return QuotesSource("quotes", QuotesConfig(str(write(tmp_path / "q.jsonl", ROWS))))

    @pytest.fixture
    def expected_rows(self) -> list[dict[str, Any]]:
        return ROWS

    @pytest.fixture
    def missing_source(self, tmp_path: Path) -> QuotesSource:
        return QuotesSource("gone", QuotesConfig(str(tmp_path / "missing.jsonl")))

    @pytest.fixture
    def mutate(self, tmp_path: Path) -> Callable[[], None]:
        return lambda: write(tmp_path / "q.jsonl", [*ROWS, {"symbol": "CCC", "price": 3.0}])


def test_rejected_rows_are_rejects_of_the_result_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [ROWS[0], {"price": 9.9}, ROWS[1]])

    result = QuotesSource("quotes", QuotesConfig(str(path))).fetch()

    assert result.ok, result.error
    assert result.rows() == ROWS
    assert [(r.line_number, r.reason, r.raw) for r in result.rejects] == [
        (2, "no symbol", '{"price": 9.9}')
    ]


def test_a_failure_inside_rows_is_a_classified_failed_result(tmp_path: Path) -> None:
    (tmp_path / "q.jsonl").write_text("{not json\n", encoding="utf-8")

    result = QuotesSource("quotes", QuotesConfig(str(tmp_path / "q.jsonl"))).fetch()

    assert not result.ok
    assert result.error is not None
    assert result.error.category is ErrorCategory.VALIDATION
    assert "Expecting property name" in result.error.message
    assert result.error.context["source"] == "quotes"
