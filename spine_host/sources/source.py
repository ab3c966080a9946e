"""The contract every source implements (DESIGN §8)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from spine_host.sources.result import SourceMetadata, SourceResult

__all__ = ["Source"]


@runtime_checkable
class Source(Protocol):
    """Reads records from somewhere outside.

    A source class declares its ``spine.toml`` table as an attrs class ``Config`` and is built as
    ``source_cls(name, config)``. Expected failures (missing file, HTTP 404) come back from
    ``fetch`` as a failed result carrying a classified error, not as an exception.
    """

    def fetch(
        self, params: Mapping[str, Any] | None = None, *, previous: SourceMetadata | None = None
    ) -> SourceResult:
        """Read everything: records plus metadata and rejects, as a SourceResult.

        Given the ``previous`` read's metadata, a source that can prove nothing changed answers
        with ``changed == False`` without reading everything again.
        """

    def stream(self, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield records one by one as dicts with typed values."""

    def batches(
        self, params: Mapping[str, Any] | None = None, batch_size: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """Yield Arrow record batches: the fast path."""
