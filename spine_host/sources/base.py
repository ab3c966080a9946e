"""BaseSource: what every source shares, so a new source only says how to read.

A subclass sets ``source_type`` and ``Config`` and implements two methods:

- ``_read(params, previous)`` returns a :class:`SourceResult`; it may raise, and
  :meth:`BaseSource.fetch` turns the exception into a failed result with a classified error;
- ``_iter_batches(params, batch_size)`` yields Arrow record batches.

``fetch`` never raises for expected failures; ``stream`` and ``batches`` cannot return a result,
so they raise a classified :class:`SpineError` instead. ``with_retry(policy)`` wraps any source so
its failures are retried per a :class:`RetryPolicy` rather than by a loop in each source.

pyarrow is imported only inside functions: importing this module stays cheap (``spine --help``).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from spine_host.errors import SpineError, classify
from spine_host.sources.arrow_values import rows_from_batch
from spine_host.sources.result import SourceMetadata, SourceResult

if TYPE_CHECKING:
    import pyarrow as pa

    from spine_host.retry import OnRetry, RetryPolicy

# rows_from_batch lives in arrow_values (result.py needs it too); it stays importable from here.
__all__ = ["DEFAULT_BATCH_SIZE", "BaseSource", "RetryingSource", "rows_from_batch"]

T = TypeVar("T")

#: Rows per Arrow batch unless the caller asks otherwise.
DEFAULT_BATCH_SIZE = 65536


class BaseSource(abc.ABC):
    """Shared behaviour of every source: construction, metadata timing, failure-as-result, retry.

    Args:
        name: the ``[sources.NAME]`` name (any label when built in code).
        config: an instance of the class's ``Config`` (the host structures the TOML table).
    """

    source_type: ClassVar[str]
    Config: ClassVar[type[Any]]

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config

    @property
    def uri(self) -> str:
        """Where the source reads from, safe to show (no secrets); used in metadata and errors."""
        return f"{self.source_type}:{self.name}"

    # -- what subclasses implement -------------------------------------------------------------

    @abc.abstractmethod
    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        """Read everything (or prove nothing changed since ``previous``); may raise."""

    @abc.abstractmethod
    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        """Yield the data as Arrow record batches of at most ``batch_size`` rows; may raise."""

    def _classify(self, exc: BaseException) -> SpineError:
        """Turn an exception into a SpineError; override to map a driver's own exceptions."""
        return classify(exc)

    # -- the Source protocol -----------------------------------------------------------------

    def fetch(
        self, params: Mapping[str, Any] | None = None, *, previous: SourceMetadata | None = None
    ) -> SourceResult:
        """Read everything, plus metadata and rejects.

        Args:
            params: per-call parameters (what a source accepts is its own business).
            previous: the metadata of an earlier read; when the source can prove nothing
                changed since, the result has ``changed == False`` and may carry no data.

        Returns:
            A SourceResult; an expected failure (missing file, 404) is a failed result with a
            classified error, never an exception.
        """
        started = time.monotonic()
        try:
            return self._read(dict(params or {}), previous)
        except Exception as exc:
            error = self._error(exc)
            return SourceResult.failure(error, self.metadata(uri=self.uri, started=started))

    def stream(self, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield records one by one as dicts with typed values (ints, dates, ... not strings).

        Raises:
            SpineError: classified, when the read fails (a stream cannot return a result).
        """
        for batch in self.batches(params):
            yield from rows_from_batch(batch)

    def batches(
        self, params: Mapping[str, Any] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        """Yield Arrow record batches: the fast path.

        Raises:
            SpineError: classified, when the read fails.
        """
        if batch_size < 1:
            raise SpineError(f"batch_size must be >= 1, got {batch_size}")
        try:
            yield from self._iter_batches(dict(params or {}), batch_size)
        except Exception as exc:
            error = self._error(exc)
            if error is exc:
                raise
            raise error from exc

    def with_retry(self, policy: RetryPolicy) -> RetryingSource:
        """This source, with failed reads retried per ``policy`` (see :class:`RetryingSource`)."""
        return RetryingSource(self, policy)

    # -- helpers for subclasses ----------------------------------------------------------------

    def metadata(self, *, uri: str, started: float, **facts: Any) -> SourceMetadata:
        """Metadata for a read that began at ``started`` (a ``time.monotonic()`` value).

        ``facts`` are :class:`SourceMetadata` fields: row_count, byte_count, content_hash, etag,
        last_modified, changed, extra.
        """
        return SourceMetadata(
            source_type=self.source_type,
            name=self.name,
            uri=uri,
            fetched_at=datetime.now(UTC),
            duration_seconds=time.monotonic() - started,
            **facts,
        )

    def unchanged(self, previous: SourceMetadata, *, started: float) -> SourceResult:
        """The result of a read that proved nothing changed since ``previous``: no data."""
        metadata = attrs.evolve(
            previous,
            fetched_at=datetime.now(UTC),
            duration_seconds=time.monotonic() - started,
            changed=False,
        )
        return SourceResult(metadata=metadata, records=[])

    def _error(self, exc: BaseException) -> SpineError:
        error = self._classify(exc)
        error.context.setdefault("source", self.name)
        error.context.setdefault("source_type", self.source_type)
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, uri={self.uri!r})"


class RetryingSource:
    """A source whose reads are retried per a :class:`RetryPolicy`.

    ``fetch`` retries while the result failed with an error the policy retries, and returns the
    last failed result when attempts run out. ``stream`` and ``batches`` retry only until the
    first item arrives: retrying after rows were handed out would hand them out twice.

    Args:
        source: the source to wrap (any object following the Source protocol with a
            ``fetch(params, previous=...)``).
        policy: when and how long to wait.
        on_retry: ``on_retry(attempt, error, delay)`` before each wait, to record attempts.
    """

    def __init__(
        self,
        source: BaseSource,
        policy: RetryPolicy,
        *,
        on_retry: OnRetry | None = None,
    ) -> None:
        self.source = source
        self.policy = policy
        self.on_retry = on_retry

    @property
    def name(self) -> str:
        """The wrapped source's name."""
        return self.source.name

    @property
    def source_type(self) -> str:
        """The wrapped source's type."""
        return self.source.source_type

    def fetch(
        self, params: Mapping[str, Any] | None = None, *, previous: SourceMetadata | None = None
    ) -> SourceResult:
        """Fetch, retrying failed results the policy retries; never raises for them."""
        last: list[SourceResult] = []

        def attempt() -> SourceResult:
            result = self.source.fetch(params, previous=previous)
            if result.error is not None:
                last.append(result)
                raise result.error
            return result

        try:
            return self.policy.call(attempt, on_retry=self.on_retry)
        except SpineError:
            return last[-1]

    def stream(self, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Records one by one; opening the read is retried, a failure mid-way is raised."""
        return self._retry_until_first(lambda: self.source.stream(params))

    def batches(
        self, params: Mapping[str, Any] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        """Record batches; retried until the first batch arrives, then raised on failure."""
        return self._retry_until_first(lambda: self.source.batches(params, batch_size))

    def _retry_until_first(self, open_read: Callable[[], Iterator[T]]) -> Iterator[T]:
        def first_item() -> tuple[Iterator[T], list[T]]:
            iterator = open_read()
            for item in iterator:
                return iterator, [item]
            return iterator, []

        iterator, head = self.policy.call(first_item, on_retry=self.on_retry)
        yield from head
        yield from iterator

    def with_retry(self, policy: RetryPolicy) -> RetryingSource:
        """The wrapped source under a different policy (policies do not nest)."""
        return RetryingSource(self.source, policy, on_retry=self.on_retry)

    def __repr__(self) -> str:
        return f"RetryingSource({self.source!r}, {self.policy!r})"
