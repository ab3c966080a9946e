"""The builtin ``database`` source: a table or a SELECT on any registered storage URL.

Configured in ``spine.toml``::

    [sources.trades]
    type = "database"
    url = "postgresql+psycopg://reader:${TRADES_DB_PASSWORD}@db.internal/markets"
    table = "market.trades"          # or: query = "SELECT ... FROM ... WHERE ..."
    key = ["trade_date", "trade_id"] # keyset pagination; unique together, never NULL
    page_size = 1000
    watermark = "updated_at"         # optional: an incremental column
    since = 2025-01-01T00:00:00Z     # optional: only rows with updated_at > since

Options (``url`` and one of ``table``/``query`` required):

- ``url``: any URL a storage plugin handles (``sqlite:///x.db``, ``postgresql://...``,
  ``db2://...``); secrets come from ``${ENV}``; the password never appears in metadata or errors;
- ``table``: ``name`` or ``schema.name``; ``query``: a single ``SELECT`` (or ``WITH ... SELECT``),
  read as ``SELECT * FROM (query) AS q WHERE ... ORDER BY key`` (see
  :mod:`spine_host.sources.sql_guard` for what is refused);
- ``key``: a column or a list of columns; default: the table's primary key (a query needs one);
- ``page_size`` (1000): rows per round trip; each page is a short read of its own, so no
  connection or snapshot is held while the caller works and memory stays bounded;
- ``watermark`` and ``since``: read only rows whose watermark column is greater than ``since``.
  ``fetch(params={"since": value})`` overrides the configured ``since``; the result's
  ``metadata.extra["watermark"]`` is the largest watermark read (or the ``since`` used, when no
  row was newer): pass it as ``since`` next time to read only what is new.

Change detection: with a watermark, ``fetch(previous=metadata)`` asks the database for one row
newer than ``previous.extra["watermark"]`` and answers ``changed = False`` without reading when
there is none. Without a watermark the rows are read and hashed; equal hash and row count
answer ``changed = False``.

The source needs a storage adapter: the host builds it with :meth:`DatabaseSource.from_host`
(the host's own storage adapter when the URL is the ``[storage]`` URL, else a new one the
source closes in :meth:`DatabaseSource.close`); code can pass ``adapter=`` directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.redaction import redact_url
from spine_host.sources.base import BaseSource
from spine_host.sources.database_read_spec import ReadSpec
from spine_host.sources.result import SourceMetadata, SourceResult
from spine_host.sources.sql_guard import check_column_name, check_select, split_table_name

if TYPE_CHECKING:
    import pyarrow as pa

    from spine_host.host import Host
    from spine_host.sources.database_reader import KeysetReader
    from spine_host.storage.adapter import DatabaseAdapter

# ReadSpec lives in database_read_spec (database_reader needs it too); it stays importable here.
__all__ = ["DatabaseSource", "DatabaseSourceConfig", "ReadSpec"]

_PARAMS = frozenset({"since"})


def _table_name(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        _as_value_error(split_table_name, value, attribute)


def _select_only(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        _as_value_error(check_select, value, attribute)


def _column_names(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names:
        raise ValueError(f"expected a column name or a non-empty list of them, got {value!r}")
    for name in names:
        _as_value_error(check_column_name, name, attribute)
    if len(set(names)) != len(names):
        raise ValueError(f"lists a column twice: {value!r}", attribute)


def _column_name(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        _as_value_error(check_column_name, value, attribute)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}", attribute)


def _as_value_error(check: Any, value: Any, attribute: attrs.Attribute[Any]) -> None:
    # structure() names the TOML path of a ValueError that carries the attribute.
    try:
        check(value)
    except SpineError as exc:
        raise ValueError(exc.message, attribute) from None


@attrs.frozen(kw_only=True)
class DatabaseSourceConfig:
    """``[sources.NAME]`` options of a ``type = "database"`` source (see the module docstring).

    ``key`` is a column name or a list of them; ``since`` any value comparable with the
    watermark column (an integer, a date, a timestamp, ISO text).
    """

    url: str = attrs.field(repr=redact_url)
    table: str | None = attrs.field(default=None, validator=_table_name)
    query: str | None = attrs.field(default=None, validator=_select_only)
    key: Any = attrs.field(default=None, validator=_column_names)
    page_size: int = attrs.field(default=1000, validator=_positive)
    watermark: str | None = attrs.field(default=None, validator=_column_name)
    since: Any = None

    def __attrs_post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table and query")
        if self.query is not None and self.key is None:
            raise ValueError("key: a query needs key columns to page by (unique, not NULL)")
        if self.since is not None and self.watermark is None:
            raise ValueError("since: needs a watermark column to compare with")

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The key as a tuple of column names; empty when the table's primary key is used."""
        if self.key is None:
            return ()
        return (self.key,) if isinstance(self.key, str) else tuple(self.key)


class DatabaseSource(BaseSource):
    """Reads a table or a SELECT page by page in key order (keyset pagination, never OFFSET).

    Args:
        name: the ``[sources.NAME]`` name.
        config: the options.
        adapter: the storage adapter to read through (a SQLAlchemy-based one); not closed by
            :meth:`close`.
        host: opens the adapter for ``config.url`` on first use when ``adapter`` is None.
    """

    source_type = "database"
    Config = DatabaseSourceConfig

    def __init__(
        self,
        name: str,
        config: DatabaseSourceConfig,
        *,
        adapter: DatabaseAdapter | None = None,
        host: Host | None = None,
    ) -> None:
        super().__init__(name, config)
        self.config: DatabaseSourceConfig = config
        self._adapter = adapter
        self._host = host
        self._owns_adapter = False

    @classmethod
    def from_host(cls, host: Host, name: str, config: DatabaseSourceConfig) -> DatabaseSource:
        """The source as ``host.source(name)`` builds it: the adapter comes from the host."""
        return cls(name, config, host=host)

    @property
    def uri(self) -> str:
        """The URL (password masked) and the table, or ``query`` for a query."""
        return f"{redact_url(self.config.url)}#{self.config.table or 'query'}"

    def adapter(self) -> DatabaseAdapter:
        """The storage adapter reads go through, opened on first use.

        Raises:
            ConfigError: no adapter was given and no host can open one.
        """
        if self._adapter is None:
            if self._host is None:
                raise ConfigError(
                    f"database source {self.name!r} has no storage adapter: build it with "
                    "host.source(name) or DatabaseSource(..., adapter=...)"
                )
            if self.config.url == self._host.config.storage.url:
                self._adapter = self._host.storage
            else:
                self._adapter = self._host.open_storage(self.config.url)
                self._owns_adapter = True
        return self._adapter

    def close(self) -> None:
        """Close the adapter this source opened itself (never one it was given)."""
        if self._owns_adapter and self._adapter is not None:
            self._adapter.close()
            self._adapter = None
            self._owns_adapter = False

    def read_spec(self, params: Mapping[str, Any]) -> ReadSpec:
        """The read ``params`` ask for: ``{"since": value}`` replaces the configured ``since``.

        Raises:
            SpineError: VALIDATION for an unknown parameter or ``since`` without a watermark.
        """
        unknown = set(params) - _PARAMS
        if unknown:
            raise SpineError(
                f"database source {self.name!r}: unknown parameter(s) {sorted(unknown)}; "
                f"accepted: {sorted(_PARAMS)}",
                category=ErrorCategory.VALIDATION,
            )
        config = self.config
        if params.get("since") is not None and config.watermark is None:
            raise SpineError(
                f"database source {self.name!r}: 'since' needs a watermark column",
                category=ErrorCategory.VALIDATION,
            )
        return ReadSpec(
            table=config.table,
            query=check_select(config.query) if config.query is not None else None,
            key=config.key_columns,
            page_size=config.page_size,
            watermark=config.watermark,
            since=params.get("since", config.since),
        )

    # -- BaseSource -----------------------------------------------------------------------------

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        from spine_host.sources.database_reader import combine

        started = time.monotonic()
        reader = self._reader(params)
        previous_watermark = _previous_watermark(previous)
        if (
            previous is not None
            and previous_watermark is not None
            and not reader.has_rows_after(previous_watermark)
        ):
            return self.unchanged(previous, started=started)
        batches = list(reader.batches())
        table = combine(batches) if batches else reader.empty_table()
        content_hash = reader.content_hash()
        extra: dict[str, Any] = {"key": list(reader.key), "pages": reader.pages_read}
        if reader.spec.watermark is not None:
            extra["since"] = reader.since
            extra["watermark"] = reader.max_watermark
        changed = not (
            previous is not None
            and previous_watermark is None
            and previous.content_hash == content_hash
            and previous.row_count == table.num_rows
        )
        metadata = self.metadata(
            uri=self.uri,
            started=started,
            row_count=table.num_rows,
            content_hash=content_hash,
            changed=changed,
            extra=extra,
        )
        if not changed:
            return SourceResult(metadata=metadata, records=[])
        return SourceResult(metadata=metadata, table=table)

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        for page in self._reader(params).batches():
            # A page larger than the asked batch size is sliced; slices share the page's memory.
            for offset in range(0, page.num_rows, batch_size):
                yield page.slice(offset, batch_size)

    def _reader(self, params: Mapping[str, Any]) -> KeysetReader:
        from spine_host.sources.database_reader import KeysetReader

        spec = self.read_spec(params)
        return KeysetReader(self.adapter(), spec, display=self.uri)


def _previous_watermark(previous: SourceMetadata | None) -> Any:
    if previous is None or previous.source_type != DatabaseSource.source_type:
        return None
    return previous.extra.get("watermark")
