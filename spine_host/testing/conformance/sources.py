"""SourceSuite: the behaviour every source must show, as tests a plugin author inherits.

::

    from spine_host.testing.conformance.sources import SourceSuite

    class TestPriceSource(SourceSuite):
        @pytest.fixture
        def source(self, price_server):
            return PriceSource("prices", PriceSource.Config(url=price_server.url))

        @pytest.fixture
        def expected_rows(self):
            return [{"symbol": "AAA", "price": 1.5}]

        @pytest.fixture
        def missing_source(self, price_server):
            return PriceSource("gone", PriceSource.Config(url=price_server.url + "/missing"))

        @pytest.fixture
        def mutate(self, price_server):
            return price_server.change_prices   # optional: enables the "changed" test

The suite checks that fetch, stream and batches agree on the same typed rows, that a second
fetch given the first one's metadata reports ``changed = False`` (and ``True`` after
``mutate()``), and that a missing resource is a failed NOT_FOUND result rather than an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from spine_host.errors import ErrorCategory
from spine_host.sources.source import Source

__all__ = ["SourceSuite"]


def _normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Sources may differ in column order; the values and their types must not differ.
    return [dict(sorted(row.items())) for row in rows]


class SourceSuite:
    """Subclass (as ``Test...``) and provide ``source``, ``expected_rows``, ``missing_source``.

    The class name does not start with ``Test``, so pytest collects only the subclasses.

    Optional fixture ``mutate``: a callable that changes the data ``source`` reads; without it
    the change-detection test after a mutation is skipped.
    """

    @pytest.fixture
    def mutate(self) -> Callable[[], None] | None:
        """Changes the underlying data; None when the source's data cannot be changed."""
        return None

    def test_fetch_returns_the_expected_rows(
        self, source: Source, expected_rows: list[dict[str, Any]]
    ) -> None:
        """fetch() succeeds and returns exactly the known rows with their types."""
        result = source.fetch()
        assert result.ok, result.error
        assert _normalised(result.rows()) == _normalised(expected_rows)
        assert result.row_count == len(expected_rows)
        assert result.metadata is not None
        assert result.metadata.row_count == len(expected_rows)

    def test_fetch_stream_and_batches_agree(self, source: Source) -> None:
        """The three ways to read give the same rows in the same order."""
        fetched = source.fetch().rows()
        streamed = list(source.stream())
        batched = [row for batch in source.batches(batch_size=2) for row in batch.to_pylist()]
        assert _normalised(streamed) == _normalised(fetched)
        assert _normalised(batched) == _normalised(fetched)

    def test_batches_respect_batch_size(
        self, source: Source, expected_rows: list[dict[str, Any]]
    ) -> None:
        """No batch holds more rows than asked for."""
        sizes = [batch.num_rows for batch in source.batches(batch_size=2)]
        assert all(size <= 2 for size in sizes)
        assert sum(sizes) == len(expected_rows)

    def test_stream_values_are_typed(
        self, source: Source, expected_rows: list[dict[str, Any]]
    ) -> None:
        """Streamed values have the Python types of the expected rows, not all strings."""
        streamed = list(source.stream())
        assert len(streamed) == len(expected_rows)
        for got, want in zip(_normalised(streamed), _normalised(expected_rows), strict=True):
            assert {key: type(value) for key, value in got.items()} == {
                key: type(value) for key, value in want.items()
            }

    def test_unchanged_with_previous_metadata(self, source: Source) -> None:
        """A second fetch given the first one's metadata reports changed = False."""
        first = source.fetch()
        assert first.ok, first.error
        again = source.fetch(previous=first.metadata)
        assert again.ok, again.error
        assert again.changed is False

    def test_changed_after_mutation(
        self, source: Source, mutate: Callable[[], None] | None
    ) -> None:
        """After the data changes, a fetch given the old metadata reports changed = True."""
        if mutate is None:
            pytest.skip("no mutate fixture: this source's data cannot be changed by the suite")
        first = source.fetch()
        assert first.ok, first.error
        mutate()
        again = source.fetch(previous=first.metadata)
        assert again.ok, again.error
        assert again.changed is True

    def test_missing_resource_is_a_failed_not_found_result(self, missing_source: Source) -> None:
        """A missing file or URL is a failed result classified NOT_FOUND, never an exception."""
        result = missing_source.fetch()
        assert not result.ok
        assert result.error is not None
        assert result.error.category is ErrorCategory.NOT_FOUND
        assert result.error.retryable is False
