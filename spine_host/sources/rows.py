"""RowSource: a source written in plain Python, one method yielding dict rows.

For data that arrives as Python objects (an SDK's results, a small API, generated rows), an
author implements only :meth:`RowSource.rows`; spine does the rest: ``fetch`` collects the rows
(and rejects) into a result, ``stream`` hands them on one at a time, ``batches`` converts them to
Arrow record batches of the requested size, and failures are classified as for every source::

    @attrs.frozen
    class TickerConfig:
        symbols: list[str]

    class TickerSource(RowSource):
        source_type = "ticker"
        Config = TickerConfig

        def rows(self, params):
            for symbol in self.config.symbols:
                yield {"symbol": symbol, "price": 1.0}

A row that cannot be used can be handed to ``self.reject(...)`` instead of being yielded: it
becomes a :class:`Reject` of the result (``fetch``), or is logged (``stream``). Change
detection comes for free: ``fetch(previous=metadata)`` reports ``changed = False`` when the rows
hash the same as last time (the rows are still read: a source that can tell cheaper, by an
ETag or a modification time, overrides ``_read``).
pyarrow is imported only when ``batches`` is called.
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from spine_host.sources.base import BaseSource
from spine_host.sources.result import Reject, SourceMetadata, SourceResult

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RowSource"]

log = logging.getLogger(__name__)


class RowSource(BaseSource):
    """A source whose subclass implements :meth:`rows`; see the module docstring.

    Subclasses set ``source_type`` and ``Config`` (an attrs class for its ``[sources.NAME]``
    options) like every source.
    """

    def __init__(self, name: str, config: Any) -> None:
        super().__init__(name, config)
        self._rejects: list[Reject] | None = None

    @abc.abstractmethod
    def rows(self, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield the source's rows as dicts; may raise (the error is classified)."""

    def reject(
        self,
        reason: str,
        raw: str,
        *,
        reason_code: str = "REJECTED",
        line_number: int | None = None,
        locator: str | None = None,
    ) -> None:
        """Record a row that cannot be used, instead of yielding it."""
        found = Reject(
            reason=reason,
            raw=raw,
            line_number=line_number,
            locator=locator or self.uri,
            reason_code=reason_code,
        )
        if self._rejects is not None:
            self._rejects.append(found)
        else:
            log.warning("source %s: rejected a row: %s", self.name, reason)

    # -- BaseSource ------------------------------------------------------------------------------

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        started = time.monotonic()
        rejects: list[Reject] = []
        self._rejects = rejects
        try:
            records = [dict(row) for row in self.rows(params)]
        finally:
            self._rejects = None
        digest = _content_hash(records)
        if previous is not None and previous.content_hash == digest:
            return self.unchanged(previous, started=started)
        metadata = self.metadata(
            uri=self.uri, started=started, row_count=len(records), content_hash=digest
        )
        return SourceResult(metadata=metadata, records=records, rejects=rejects)

    def stream(self, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield the rows as :meth:`rows` yields them (no Arrow round trip).

        Raises:
            SpineError: classified, when the read fails.
        """
        try:
            for row in self.rows(dict(params or {})):
                yield dict(row)
        except Exception as exc:
            error = self._error(exc)
            if error is exc:
                raise
            raise error from exc

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        chunk: list[dict[str, Any]] = []
        schema: pa.Schema | None = None
        for row in self.rows(params):
            chunk.append(dict(row))
            if len(chunk) >= batch_size:
                batch = pa.RecordBatch.from_pylist(chunk, schema=schema)
                schema = batch.schema  # later batches keep the first one's column types
                yield batch
                chunk = []
        if chunk:
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)


def _content_hash(records: list[dict[str, Any]]) -> str:
    """A hash of the rows' values: equal rows, equal hash (``fetch(previous=...)``)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, default=repr).encode())
        digest.update(b"\n")
    return f"sha256:{digest.hexdigest()}"
