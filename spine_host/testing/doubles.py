"""Test doubles for sources: a source with fixed rows and one that fails before it works.

Register them like any plugin (``register("static", StaticSource, replace=True)``) or build
them directly in a test::

    source = FlakySource("prices", rows, failures=2, category=ErrorCategory.TRANSIENT)
    result = source.with_retry(RetryPolicy(max_attempts=3, delay=0)).fetch()
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.sources.base import BaseSource
from spine_host.sources.result import SourceMetadata, SourceResult

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FlakySource", "StaticSource", "StaticSourceConfig"]


@attrs.frozen(kw_only=True)
class StaticSourceConfig:
    """``[sources.NAME]`` of a ``static`` test source: the rows it returns."""

    rows: list[dict[str, Any]] = attrs.field(factory=list)


class StaticSource(BaseSource):
    """Returns the same rows on every read; reports ``changed = False`` given earlier metadata.

    Args:
        name: the source name.
        config: a :class:`StaticSourceConfig`, or the rows themselves.
    """

    source_type = "static"
    Config = StaticSourceConfig

    def __init__(
        self, name: str, config: StaticSourceConfig | Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        if not isinstance(config, StaticSourceConfig):
            config = StaticSourceConfig(rows=[dict(row) for row in config or []])
        super().__init__(name, config)
        self.rows: list[dict[str, Any]] = [dict(row) for row in config.rows]
        self.calls = 0

    @property
    def uri(self) -> str:
        """``static:NAME``."""
        return f"static:{self.name}"

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        started = time.monotonic()
        self.calls += 1
        content_hash = hashlib.sha256(repr(self.rows).encode()).hexdigest()
        if previous is not None and previous.content_hash == content_hash:
            return self.unchanged(previous, started=started)
        metadata = self.metadata(
            uri=self.uri, started=started, row_count=len(self.rows), content_hash=content_hash
        )
        return SourceResult(metadata=metadata, records=[dict(row) for row in self.rows])

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for offset in range(0, len(self.rows), batch_size):
            yield pa.RecordBatch.from_pylist(self.rows[offset : offset + batch_size])


class FlakySource(StaticSource):
    """Fails ``failures`` times with an error of ``category``, then behaves like StaticSource.

    Every read (fetch, stream, batches) counts as one attempt; ``attempts`` says how many were
    made. ``retry_after`` is put on the errors (a RATE_LIMIT double).
    """

    source_type = "flaky"

    def __init__(
        self,
        name: str,
        rows: Sequence[Mapping[str, Any]] = (),
        *,
        failures: int = 1,
        category: ErrorCategory = ErrorCategory.TRANSIENT,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(name, rows)
        self.failures = failures
        self.category = category
        self.retry_after = retry_after
        self.attempts = 0
        self._lock = threading.Lock()

    def _fail_if_due(self) -> None:
        with self._lock:
            self.attempts += 1
            due = self.attempts <= self.failures
        if due:
            raise SpineError(
                f"{self.name}: simulated {self.category.value} failure {self.attempts} "
                f"of {self.failures}",
                category=self.category,
                retry_after=self.retry_after,
            )

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        self._fail_if_due()
        return super()._read(params, previous)

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        self._fail_if_due()
        yield from super()._iter_batches(params, batch_size)
