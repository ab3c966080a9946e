"""The builtin ``file`` source: CSV, PSV, TSV, JSON, JSONL and Parquet files on pyarrow.

Configured in ``spine.toml``::

    [sources.otc_files]
    type = "file"
    path = "data/otc/*.psv"          # a file or a glob; ".gz" files are decompressed
    types = { week_ending = "date", total_shares = "int" }

Options (all but ``path`` optional):

- ``format``: csv, psv, tsv, json, jsonl, parquet; by default from each file's extension;
- ``header`` (true): whether delimited files start with a header line; without one, give
  ``columns`` (else columns are named f0, f1, ...);
- ``types``: declared column types, as people write them (``date``, ``datetime``,
  ``datetime[tz=UTC]``, ``int``, ``str``, ``float``, ``bool``, ``decimal(12, 2)``) or as Arrow
  names them (``int32``, ``date32``, ``timestamp[ms, tz=UTC]``, ``decimal128(12, 2)``, ...; see
  :mod:`spine_host.sources.file_column_types`); other columns are inferred;
- ``delimiter`` and ``quote`` override the format's defaults (``quote = ""`` turns quoting off);
- ``encoding`` (utf8) of delimited files, any Python codec name (``latin-1``, ``cp1252``,
  ``utf-16``); bytes that do not decode are a PARSE error naming the line, and so is a quoted
  value that is never closed (see :mod:`spine_host.sources.file_text`);
- ``records_path``: the dotted key holding the array of records in a JSON document (``"data"``
  for ``{"data": [...]}``);
- ``block_size``: bytes pyarrow parses at a time (memory per reader stays about this size).

Malformed rows become rejects with their 1-based line number and raw text, and the other rows
still load: ``COLUMN_COUNT`` for a row with the wrong number of fields, ``BAD_VALUE`` for a
value that does not fit its column's type (``column trade_count: 'x' is not a valid int64``),
``INVALID_JSON`` for a JSONL line that is not a JSON object. ``fetch()`` returns them;
``stream()`` and ``batches()`` skip those rows and log a warning once per read.

A glob reads its matches in sorted order; each reject names its file in ``locator``. Relative
paths are relative to the working directory. ``fetch(params={"path": ...})`` reads another path
with the same options.

Change detection: ``fetch(previous=metadata)`` answers ``changed = False`` without parsing
when the byte count and the content hash (SHA-256 streamed over the raw bytes; over the files'
names and hashes for a glob) equal the previous ones. Hashing is far cheaper than parsing, and
unlike size and mtime it cannot be fooled by an edit within the same second that keeps the size;
a file that was only touched counts as unchanged.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError, classify
from spine_host.printable import printable
from spine_host.sources.base import DEFAULT_BATCH_SIZE, BaseSource
from spine_host.sources.file_column_types import arrow_type, check_type_name
from spine_host.sources.file_formats import FORMATS, read_batches
from spine_host.sources.file_read_spec import ReadSpec
from spine_host.sources.file_text import check_encoding_name
from spine_host.sources.result import Reject, SourceMetadata, SourceResult

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FileSource", "FileSourceConfig"]

log = logging.getLogger(__name__)

_GLOB_CHARACTERS = frozenset("*?[")
_PARAMS = frozenset({"path"})


def _one_of_formats(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and value not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {value!r}")


def _known_types(instance: object, attribute: attrs.Attribute[Any], value: dict[str, str]) -> None:
    for column, name in value.items():
        try:
            check_type_name(name)
        except ValueError as exc:
            raise ValueError(f"types.{column}: {exc}") from None


def _single_character(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    limit = 0 if attribute.name == "quote" else 1
    if value is not None and len(value) not in (limit, 1):
        raise ValueError(f"{attribute.name}: must be a single character, got {value!r}")


def _known_encoding(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    check_encoding_name(value)


@attrs.frozen(kw_only=True)
class FileSourceConfig:
    """``[sources.NAME]`` options of a ``type = "file"`` source (see the module docstring)."""

    path: str
    format: str | None = attrs.field(default=None, validator=_one_of_formats)
    header: bool = True
    columns: list[str] | None = None
    types: dict[str, str] = attrs.field(factory=dict, validator=_known_types)
    delimiter: str | None = attrs.field(default=None, validator=_single_character)
    quote: str = attrs.field(default='"', validator=_single_character)
    encoding: str = attrs.field(default="utf8", validator=_known_encoding)
    records_path: str | None = None
    block_size: int = 1 << 20

    def __attrs_post_init__(self) -> None:
        if self.columns is not None and self.header:
            raise ValueError(
                "columns: names the columns of files without a header; set header = false"
            )
        if self.block_size < 1024:
            raise ValueError(f"block_size: must be at least 1024 bytes, got {self.block_size}")


class FileSource(BaseSource):
    """Reads local files (one path or a glob) in any of the supported formats.

    A domain source is a small subclass: set defaults in ``__init__`` or override
    :meth:`paths` to choose files from ``params`` (a week, a tier).
    """

    source_type = "file"
    Config = FileSourceConfig

    def __init__(self, name: str, config: FileSourceConfig) -> None:
        super().__init__(name, config)
        self.config: FileSourceConfig = config

    @property
    def uri(self) -> str:
        """The configured path or glob."""
        return self.config.path

    def paths(self, params: Mapping[str, Any]) -> list[str]:
        """The files to read, sorted; ``params["path"]`` replaces the configured path.

        Raises:
            SpineError: NOT_FOUND when the file is missing or the glob matches nothing;
                VALIDATION for an unknown parameter.
        """
        unknown = set(params) - _PARAMS
        if unknown:
            raise SpineError(
                f"file source {self.name!r}: unknown parameter(s) {sorted(unknown)}; "
                f"accepted: {sorted(_PARAMS)}",
                category=ErrorCategory.VALIDATION,
            )
        pattern = os.path.expanduser(str(params.get("path", self.config.path)))
        if _GLOB_CHARACTERS.isdisjoint(pattern):
            if not os.path.exists(pattern):
                raise SpineError(
                    f"file not found: {pattern}",
                    category=ErrorCategory.NOT_FOUND,
                    context={"path": pattern},
                )
            return [pattern]
        matches = sorted(
            path for path in glob.glob(pattern, recursive=True) if os.path.isfile(path)
        )
        if not matches:
            raise SpineError(
                f"no file matches {pattern}",
                category=ErrorCategory.NOT_FOUND,
                context={"path": pattern},
            )
        return matches

    def read_spec(self) -> ReadSpec:
        """The configuration in pyarrow terms."""
        config = self.config
        return ReadSpec(
            format=config.format,
            header=config.header,
            columns=tuple(config.columns) if config.columns is not None else None,
            types={column: arrow_type(name) for column, name in config.types.items()},
            delimiter=config.delimiter,
            quote=config.quote,
            encoding=config.encoding,
            records_path=config.records_path,
            block_size=config.block_size,
        )

    # -- BaseSource -----------------------------------------------------------------------------

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        import pyarrow as pa

        started = time.monotonic()
        paths = self.paths(params)
        uri = str(params.get("path", self.config.path))
        fingerprint = _Fingerprint.of(paths, combine=not _GLOB_CHARACTERS.isdisjoint(uri))
        if (
            previous is not None
            and previous.content_hash == fingerprint.content_hash
            and previous.byte_count == fingerprint.byte_count
        ):
            return SourceResult(
                metadata=self.metadata(
                    uri=uri,
                    started=started,
                    changed=False,
                    row_count=previous.row_count,
                    **fingerprint.facts(),
                ),
                records=[],
            )
        rejects: list[Reject] = []
        tables = [
            pa.Table.from_batches(batches)
            for path in paths
            if (
                batches := list(
                    read_batches(path, self.read_spec(), DEFAULT_BATCH_SIZE, rejects.append)
                )
            )
        ]
        if not tables:
            table = pa.table({})
        elif len(tables) == 1:
            table = tables[0]
        else:
            table = pa.concat_tables(tables, promote_options="permissive")
        metadata = self.metadata(
            uri=uri,
            started=started,
            row_count=table.num_rows,
            **fingerprint.facts(),
            extra={"files": paths, "rejects": len(rejects)},
        )
        return SourceResult(metadata=metadata, table=table, rejects=rejects)

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        spec = self.read_spec()
        skipped: list[Reject] = []
        for path in self.paths(params):
            yield from read_batches(path, spec, batch_size, skipped.append)
        if skipped:
            # stream() and batches() have no result to carry rejects; fetch() reports them.
            first = skipped[0]
            log.warning(
                "source %s: skipped %d malformed row(s), first at %s line %s: %s",
                self.name,
                len(skipped),
                first.locator,
                first.line_number,
                first.reason,
            )

    def _classify(self, exc: BaseException) -> SpineError:
        import pyarrow as pa

        if isinstance(exc, pa.ArrowInvalid) and not isinstance(exc, SpineError):
            return SpineError(
                f"{self.uri}: {printable(str(exc), one_line=True)}",
                category=ErrorCategory.PARSE,
                cause=exc,
            )
        return classify(exc)


@attrs.frozen
class _Fingerprint:
    """Size, modification time and content hash of the files a read covers."""

    byte_count: int
    content_hash: str
    last_modified: str

    @classmethod
    def of(cls, paths: list[str], *, combine: bool) -> _Fingerprint:
        sizes = 0
        newest = 0.0
        hashes: list[str] = []
        for path in paths:
            stat = os.stat(path)
            sizes += stat.st_size
            newest = max(newest, stat.st_mtime)
            with open(path, "rb") as stream:
                hashes.append(hashlib.file_digest(stream, "sha256").hexdigest())
        if combine or len(hashes) != 1:
            summary = hashlib.sha256()
            for path, digest in zip(paths, hashes, strict=True):
                summary.update(f"{path}\0{digest}\n".encode())
            content_hash = summary.hexdigest()
        else:
            content_hash = hashes[0]
        return cls(
            byte_count=sizes,
            content_hash=f"sha256:{content_hash}",
            last_modified=datetime.fromtimestamp(newest, UTC).isoformat(),
        )

    def facts(self) -> dict[str, Any]:
        return {
            "byte_count": self.byte_count,
            "content_hash": self.content_hash,
            "last_modified": self.last_modified,
        }
