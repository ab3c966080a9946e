"""BaseSource behaviour every source inherits: failures as results, retries, typed rows."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from spine_host.errors import ErrorCategory, SpineError
from spine_host.retry import RetryPolicy
from spine_host.sources.base import BaseSource, rows_from_batch
from spine_host.sources.result import SourceMetadata, SourceResult
from spine_host.testing.doubles import FlakySource, StaticSource

ROWS = [{"symbol": "AAA", "shares": 10}, {"symbol": "BBB", "shares": 20}]
NO_WAIT = RetryPolicy(max_attempts=3, delay=0)


class BrokenSource(BaseSource):
    """Raises the given exception from every read."""

    source_type = "broken"

    def __init__(self, exc: Exception) -> None:
        super().__init__("broken", None)
        self.exc = exc

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        raise self.exc

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (FileNotFoundError("no such file: x.csv"), ErrorCategory.NOT_FOUND),
        (ConnectionRefusedError("refused"), ErrorCategory.TRANSIENT),
        (SpineError("denied", category=ErrorCategory.AUTH), ErrorCategory.AUTH),
    ],
)
def test_fetch_turns_exceptions_into_failed_results(
    exc: Exception, category: ErrorCategory
) -> None:
    result = BrokenSource(exc).fetch()
    assert not result.ok
    assert result.error is not None
    assert result.error.category is category
    assert result.error.context["source"] == "broken"
    assert result.metadata is not None
    assert result.metadata.source_type == "broken"
    with pytest.raises(SpineError):
        result.unwrap()


def test_stream_and_batches_raise_classified_errors() -> None:
    with pytest.raises(SpineError) as raised:
        list(BrokenSource(FileNotFoundError("gone")).stream())
    assert raised.value.category is ErrorCategory.NOT_FOUND
    assert raised.value.context["source_type"] == "broken"
    with pytest.raises(SpineError, match="batch_size must be >= 1"):
        list(StaticSource("s", ROWS).batches(batch_size=0))


def test_static_source_reads_and_reports_unchanged() -> None:
    source = StaticSource("s", ROWS)
    first = source.fetch()
    assert first.rows() == ROWS
    assert first.metadata is not None
    assert first.metadata.row_count == 2
    assert first.metadata.duration_seconds >= 0
    again = source.fetch(previous=first.metadata)
    assert again.changed is False
    assert again.metadata is not None
    assert again.metadata.fetched_at >= first.metadata.fetched_at
    assert list(source.stream()) == ROWS
    assert [batch.num_rows for batch in source.batches(batch_size=1)] == [1, 1]


def test_with_retry_retries_transient_failures_of_fetch() -> None:
    source = FlakySource("prices", ROWS, failures=2, category=ErrorCategory.TRANSIENT)
    result = source.with_retry(NO_WAIT).fetch()
    assert result.ok
    assert result.rows() == ROWS
    assert source.attempts == 3


def test_with_retry_returns_the_failed_result_when_not_retryable() -> None:
    source = FlakySource("prices", ROWS, failures=5, category=ErrorCategory.AUTH)
    result = source.with_retry(NO_WAIT).fetch()
    assert not result.ok
    assert result.error is not None
    assert result.error.category is ErrorCategory.AUTH
    assert source.attempts == 1


def test_with_retry_gives_up_after_max_attempts_with_a_failed_result() -> None:
    source = FlakySource("prices", ROWS, failures=10)
    attempts: list[int] = []
    retrying = source.with_retry(NO_WAIT)
    retrying.on_retry = lambda attempt, error, delay: attempts.append(attempt)
    result = retrying.fetch()
    assert not result.ok
    assert source.attempts == 3
    assert attempts == [1, 2]


def test_with_retry_honours_retry_after() -> None:
    source = FlakySource("prices", ROWS, failures=1, category=ErrorCategory.RATE_LIMIT)
    source.retry_after = 0.3
    started = time.monotonic()
    assert source.with_retry(RetryPolicy(max_attempts=2, delay=0)).fetch().ok
    assert time.monotonic() - started >= 0.3


def test_with_retry_retries_opening_a_stream() -> None:
    source = FlakySource("prices", ROWS, failures=1)
    assert list(source.with_retry(NO_WAIT).stream()) == ROWS
    assert source.attempts == 2
    source = FlakySource("prices", ROWS, failures=1)
    batches = list(source.with_retry(NO_WAIT).batches(batch_size=1))
    assert [batch.num_rows for batch in batches] == [1, 1]


def test_rows_from_batch_gives_the_same_typed_values_as_to_pylist() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "day": pa.array([dt.date(2024, 1, 5), None, dt.date(1969, 12, 31)], pa.date32()),
            "at_utc": pa.array(
                [dt.datetime(2024, 1, 5, 10, 30, 0, 123456, tzinfo=dt.UTC), None, None],
                pa.timestamp("us", tz="UTC"),
            ),
            "at_naive": pa.array(
                [dt.datetime(2024, 1, 5, 10, 30), dt.datetime(1960, 1, 1), None],
                pa.timestamp("ms"),
            ),
            "at_seconds": pa.array([0, 86400, 1], pa.timestamp("s", tz="UTC")),
            "at_zone": pa.array([0, 1, 2], pa.timestamp("us", tz="America/New_York")),
            "amount": pa.array([Decimal("1.50"), None, Decimal("-2.25")], pa.decimal128(9, 2)),
            "n": pa.array([1, None, 3], pa.int64()),
            "ok": pa.array([True, False, None]),
            "name": pa.array(["a", "", None]),
        }
    )
    rows = list(rows_from_batch(batch))
    assert rows == batch.to_pylist()
    for got, want in zip(rows, batch.to_pylist(), strict=True):
        assert {key: type(value) for key, value in got.items()} == {
            key: type(value) for key, value in want.items()
        }
        assert {k: getattr(v, "tzinfo", None) is None for k, v in got.items()} == {
            k: getattr(v, "tzinfo", None) is None for k, v in want.items()
        }
