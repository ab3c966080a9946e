"""Reading one file of each supported format as a stream of Arrow batches, with rejects.

Parquet is read here; CSV, PSV and TSV in :mod:`spine_host.sources.file_delimited`; JSON and
JSONL in :mod:`spine_host.sources.file_json`.

Every reader holds at most one block of the file in memory (CSV: pyarrow's streaming reader;
JSONL: chunks of whole lines; Parquet: one row group at a time), except whole-document JSON,
which has no record boundaries and is read at once: use JSONL for large data.

Malformed input becomes a :class:`Reject` handed to ``on_reject``; the good rows still load.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.sources.result import Reject

if TYPE_CHECKING:
    import pyarrow as pa

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

#: Called with each malformed row or record; the read goes on.
OnReject = Callable[[Reject], None]

#: Delimited formats and their default delimiters.
DELIMITED_FORMATS: Mapping[str, str] = {"csv": ",", "psv": "|", "tsv": "\t"}
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


@attrs.frozen(kw_only=True)
class ReadSpec:
    """How to read a file: the resolved, pyarrow-typed form of a FileSource configuration."""

    format: str | None
    header: bool = True
    columns: tuple[str, ...] | None = None
    types: Mapping[str, pa.DataType] = attrs.field(factory=dict)
    delimiter: str | None = None
    quote: str | None = '"'
    encoding: str = "utf8"
    records_path: str | None = None
    block_size: int = 1 << 20


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
        from spine_host.sources.file_delimited import delimited_batches

        batches = delimited_batches(path, fmt, spec, on_reject)
    elif fmt == "jsonl":
        from spine_host.sources.file_json import jsonl_batches

        batches = jsonl_batches(path, spec, on_reject)
    elif fmt == "json":
        from spine_host.sources.file_json import json_document_batches

        batches = json_document_batches(path, spec, on_reject)
    else:
        batches = _parquet_batches(path, spec, batch_size)
    for batch in batches:
        if batch.num_rows <= batch_size:
            yield batch
        else:
            for offset in range(0, batch.num_rows, batch_size):
                yield batch.slice(offset, batch_size)


# -- column types ----------------------------------------------------------------------------------

_SIMPLE_TYPES = {
    "bool": "bool_",
    "boolean": "bool_",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float32": "float32",
    "float64": "float64",
    "float": "float64",
    "double": "float64",
    "string": "string",
    "utf8": "string",
    "large_string": "large_string",
    "binary": "binary",
    "date32": "date32",
    "date64": "date64",
}
_TIMESTAMP = re.compile(r"timestamp\[(s|ms|us|ns)(?:,\s*tz=([^\]]+))?\]")
_DECIMAL = re.compile(r"decimal(128|256)\((\d+),\s*(\d+)\)")


def check_type_name(name: str) -> None:
    """Raise ValueError unless ``name`` is a column type the file source understands."""
    text = name.strip()
    if text in _SIMPLE_TYPES or _TIMESTAMP.fullmatch(text) or _DECIMAL.fullmatch(text):
        return
    raise ValueError(
        f"unknown column type {name!r}; expected one of {', '.join(sorted(_SIMPLE_TYPES))}, "
        "timestamp[UNIT] or timestamp[UNIT, tz=ZONE] (UNIT s, ms, us, ns), decimal128(P, S)"
    )


def arrow_type(name: str) -> pa.DataType:
    """A pyarrow type by name: ``int64``, ``timestamp[us, tz=UTC]``, ``decimal128(9,2)``."""
    import pyarrow as pa

    check_type_name(name)
    text = name.strip()
    if text in _SIMPLE_TYPES:
        factory: Callable[[], pa.DataType] = getattr(pa, _SIMPLE_TYPES[text])
        return factory()
    if match := _TIMESTAMP.fullmatch(text):
        unit, zone = match.groups()
        return pa.timestamp(unit, tz=zone.strip() if zone else None)
    match = _DECIMAL.fullmatch(text)
    assert match is not None  # check_type_name accepted it
    width, precision, scale = match.groups()
    decimal = pa.decimal128 if width == "128" else pa.decimal256
    return decimal(int(precision), int(scale))


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


# -- helpers ---------------------------------------------------------------------------------------


def arrow_invalid() -> type[Exception]:
    """pyarrow's ArrowInvalid, imported on first use."""
    import pyarrow as pa

    invalid: type[Exception] = pa.ArrowInvalid
    return invalid
