"""What a source returns: records (or an Arrow table), metadata about the read, and rejects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import SpineError
from spine_host.sources.arrow_values import rows_from_batch

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Reject", "SourceMetadata", "SourceResult"]


@attrs.frozen(kw_only=True)
class Reject:
    """One input line or record that could not be read; the rest of the input still loads.

    ``line_number`` is 1-based in the file the line came from (``locator``), None when the
    format has no lines.
    """

    reason: str
    raw: str
    line_number: int | None = None
    locator: str | None = None
    reason_code: str = "MALFORMED"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class SourceMetadata:
    """Facts about one read, kept so the next read can answer "unchanged" cheaply.

    ``changed`` is False only when the source could prove the content is the same as the
    ``previous`` metadata it was given (same hash, a 304 to an ETag, same size and mtime...).
    """

    source_type: str
    name: str
    uri: str
    fetched_at: datetime
    duration_seconds: float = 0.0
    row_count: int = 0
    byte_count: int | None = None
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    changed: bool = True
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (timestamps as ISO 8601)."""
        data = attrs.asdict(self)
        data["fetched_at"] = self.fetched_at.isoformat()
        data["extra"] = dict(self.extra)
        return data


@attrs.frozen(kw_only=True)
class SourceResult:
    """The outcome of ``Source.fetch``: either data or a classified error, never an exception.

    Exactly one of ``records`` (a list of dicts) and ``table`` (a ``pyarrow.Table``) holds the
    data of a successful read; :meth:`rows` gives dicts either way. An unchanged read has
    ``metadata.changed == False`` and may carry no data.
    """

    metadata: SourceMetadata | None = None
    records: list[dict[str, Any]] | None = None
    table: pa.Table | None = None
    rejects: list[Reject] = attrs.field(factory=list)
    error: SpineError | None = None

    @property
    def ok(self) -> bool:
        """True when the read succeeded (possibly with rejects)."""
        return self.error is None

    @property
    def changed(self) -> bool:
        """False when the source proved nothing changed since the previous metadata."""
        return self.metadata.changed if self.metadata is not None else True

    @property
    def row_count(self) -> int:
        """Rows read (rejects excluded)."""
        if self.table is not None:
            return int(self.table.num_rows)
        return len(self.records) if self.records is not None else 0

    def rows(self) -> list[dict[str, Any]]:
        """The data as a list of dicts with typed values."""
        if self.table is not None:
            # Column-wise conversion: much faster than Table.to_pylist() for dates/timestamps.
            return list(rows_from_batch(self.table))
        return list(self.records or [])

    def unwrap(self) -> SourceResult:
        """Self when ok; raise the error otherwise."""
        if self.error is not None:
            raise self.error
        return self

    @classmethod
    def failure(cls, error: SpineError, metadata: SourceMetadata | None = None) -> SourceResult:
        """A failed read carrying its classified error."""
        return cls(metadata=metadata, error=error)
