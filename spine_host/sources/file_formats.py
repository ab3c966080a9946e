"""Reading one file of each supported format as a stream of Arrow batches, with rejects.

This module is the format table: it knows each format's reader and dispatches to it. Parquet is
read here; CSV, PSV and TSV in :mod:`spine_host.sources.file_delimited`; JSON and JSONL in
:mod:`spine_host.sources.file_json`. The readers do not import this module: what they share
(:class:`ReadSpec`, ``OnReject``) is in :mod:`spine_host.sources.file_read_spec`, and column
type names are in :mod:`spine_host.sources.file_column_types`.

Every reader holds at most one block of the file in memory (CSV: pyarrow's streaming reader;
JSONL: chunks of whole lines; Parquet: one row group at a time), except whole-document JSON,
which has no record boundaries and is read at once: use JSONL for large data.

Malformed input becomes a :class:`~spine_host.sources.result.Reject` handed to ``on_reject``;
the good rows still load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from spine_host.errors import ErrorCategory, SpineError
from spine_host.sources.file_column_types import arrow_type, check_type_name
from spine_host.sources.file_delimited import DELIMITED_FORMATS, delimited_batches
from spine_host.sources.file_json import json_document_batches, jsonl_batches
from spine_host.sources.file_read_spec import OnReject, ReadSpec, arrow_invalid

if TYPE_CHECKING:
    import pyarrow as pa

# OnReject, ReadSpec, arrow_invalid, arrow_type and check_type_name were defined here once;
# they stay importable from here.
__all__ = [
    "DELIMITED_FORMATS",
    "FORMATS",
    "OnReject",
    "ReadSpec",
    "arrow_invalid",
    "arrow_type",
    "check_type_name",
    "format_of",
    "read_batches",
]

#: Every format a file source reads.
FORMATS = (*DELIMITED_FORMATS, "json", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".psv": "psv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def format_of(path: str, declared: str | None) -> str:
    """The format of ``path``: ``declared`` when given, else from its extension (``.gz`` ignored).

    Raises:
        SpineError: VALIDATION, when the extension is not one of the known ones.
    """
    if declared is not None:
        return declared
    name = path.lower().removesuffix(".gz")
    for extension, fmt in _EXTENSIONS.items():
        if name.endswith(extension):
            return fmt
    known = ", ".join(sorted(_EXTENSIONS))
    raise SpineError(
        f"cannot tell the format of {path!r} from its extension (known: {known}); set format",
        category=ErrorCategory.VALIDATION,
        context={"path": path},
    )


def read_batches(
    path: str, spec: ReadSpec, batch_size: int, on_reject: OnReject
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of one file as record batches of at most ``batch_size`` rows."""
    fmt = format_of(path, spec.format)
    if fmt in DELIMITED_FORMATS:
        batches = delimited_batches(path, fmt, spec, on_reject)
    elif fmt == "jsonl":
        batches = jsonl_batches(path, spec, on_reject)
    elif fmt == "json":
        batches = json_document_batches(path, spec, on_reject)
    else:
        batches = _parquet_batches(path, spec, batch_size)
    for batch in batches:
        if batch.num_rows <= batch_size:
            yield batch
        else:
            for offset in range(0, batch.num_rows, batch_size):
                yield batch.slice(offset, batch_size)


# -- Parquet ---------------------------------------------------------------------------------------


def _parquet_batches(path: str, spec: ReadSpec, batch_size: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        for batch in parquet.iter_batches(batch_size=batch_size):
            if not spec.types:
                yield batch
                continue
            columns = [
                column.cast(spec.types[name]) if name in spec.types else column
                for name, column in zip(batch.schema.names, batch.columns, strict=True)
            ]
            yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
