"""Reading JSON-lines files and JSON documents as Arrow batches, with rejects.

JSONL is read in chunks of whole lines (memory stays flat); a chunk pyarrow rejects is parsed
again line by line so one bad line becomes a reject with its line number: ``INVALID_JSON`` for a
line that is not a JSON object, ``BAD_VALUE`` for a value that does not fit its column's type.
A JSON document has no record boundaries and is read whole: use JSONL for large data.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from spine_host.errors import ErrorCategory, SpineError
from spine_host.sources.file_casting import bad_value_reason
from spine_host.sources.file_read_spec import OnReject, ReadSpec, arrow_invalid
from spine_host.sources.file_text import open_binary
from spine_host.sources.result import Reject

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["json_document_batches", "jsonl_batches"]

# pyarrow's JSON reader takes more than JSON lines: a line "null" crashes the process
# (pyarrow 26), "null" after an object becomes a row of nulls, "{} {}" two rows. So a chunk goes
# to pyarrow whole only when every line starts with "{" and ends with "}", and its rows are kept
# only when there is one per line; anything else is read line by line, where such a line is a
# reject.
_NOT_AN_OBJECT_START = re.compile(rb"^[ \t\r]*[^{ \t\r\n]", re.MULTILINE)
_NOT_AN_OBJECT_END = re.compile(rb"[^} \t\r\n][ \t\r]*$", re.MULTILINE)

# How many bytes of JSONL lines are parsed together: big enough to amortise pyarrow's call
# overhead, small enough to keep memory flat.
_JSONL_CHUNK_BYTES = 1 << 20


def jsonl_batches(path: str, spec: ReadSpec, on_reject: OnReject) -> Iterator[pa.RecordBatch]:
    """The records of a JSON-lines file, a chunk of lines at a time; bad lines are rejects."""
    parser = _JsonChunkParser(path, spec, on_reject)
    first_line = 1
    with open_binary(path) as stream:
        while lines := stream.readlines(_JSONL_CHUNK_BYTES):
            yield from parser.parse(lines, first_line)
            first_line += len(lines)


def json_document_batches(
    path: str, spec: ReadSpec, on_reject: OnReject
) -> Iterator[pa.RecordBatch]:
    """The records of a JSON document (an array, or one under ``spec.records_path``)."""
    with open_binary(path) as stream:
        try:
            document = json.load(stream)
        except ValueError as exc:
            raise SpineError(
                f"{path}: not valid JSON: {exc}", category=ErrorCategory.PARSE, cause=exc
            ) from exc
    records = _records_at(document, spec.records_path, path)
    parser = _JsonChunkParser(path, spec, on_reject, numbered=False)
    chunk: list[bytes] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            on_reject(
                Reject(
                    reason=f"record {index} is a JSON {_json_type(record)}, not an object",
                    raw=json.dumps(record),
                    locator=path,
                    reason_code="NOT_AN_OBJECT",
                )
            )
            continue
        chunk.append(json.dumps(record, default=str).encode() + b"\n")
        if len(chunk) >= 65536:
            yield from parser.parse(chunk, None)
            chunk = []
    if chunk:
        yield from parser.parse(chunk, None)


def _records_at(document: Any, records_path: str | None, path: str) -> list[Any]:
    found = document
    for key in records_path.split(".") if records_path else []:
        if not isinstance(found, dict) or key not in found:
            raise SpineError(
                f"{path}: records_path {records_path!r} not found (no key {key!r})",
                category=ErrorCategory.PARSE,
                context={"path": path},
            )
        found = found[key]
    if not isinstance(found, list):
        where = f"at records_path {records_path!r}" if records_path else "at the top level"
        raise SpineError(
            f"{path}: expected an array of records {where}, found {type(found).__name__}; "
            "set records_path to the key that holds the array",
            category=ErrorCategory.PARSE,
            context={"path": path},
        )
    return found


class _JsonChunkParser:
    """Parses chunks of JSON lines with pyarrow, keeping one schema across chunks.

    A chunk pyarrow rejects is parsed again line by line, so a bad line becomes a reject with
    its line number and the other lines of the chunk still load.
    """

    def __init__(
        self, path: str, spec: ReadSpec, on_reject: OnReject, *, numbered: bool = True
    ) -> None:
        import pyarrow as pa

        self._path = path
        self._on_reject = on_reject
        self._numbered = numbered
        # Dates, timestamps and decimals arrive as JSON strings, which pyarrow's JSON reader
        # will not convert: read those declared columns as strings and cast afterwards.
        self._casts = {
            name: kind
            for name, kind in spec.types.items()
            if pa.types.is_temporal(kind) or pa.types.is_decimal(kind)
        }
        self._schema = pa.schema(
            [
                (name, pa.string() if name in self._casts else kind)
                for name, kind in spec.types.items()
            ]
        )

    def parse(self, lines: list[bytes], first_line: int | None) -> Iterator[pa.RecordBatch]:
        """Yield the batches of ``lines``; ``first_line`` is the number of ``lines[0]``."""
        data = b"".join(lines)
        table: pa.Table | None = None
        if _one_object_per_line(data):
            try:
                read = self._read(data)
            except arrow_invalid():
                read = None
            if read is not None and _rows_match_lines(read.num_rows, lines):
                try:
                    table = self._cast(read)
                except arrow_invalid():
                    table = None
                else:
                    self._remember_schema(read)
                    yield from table.to_batches()
                    return
        table = self._read_line_by_line(lines, first_line)
        if table is not None:
            yield from table.to_batches()

    def _read(self, data: bytes) -> pa.Table:
        import pyarrow as pa
        import pyarrow.json as pajson

        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=pajson.ParseOptions(
                explicit_schema=self._schema, unexpected_field_behavior="infer"
            ),
        )
        try:
            table.validate()
        except pa.ArrowInvalid:
            # pyarrow 26 builds broken arrays for lists holding nulls ([null, 1]): reading
            # them fails later with an index error. The standard library reads them right.
            return self._read_in_python(data)
        return table

    def _read_in_python(self, data: bytes) -> pa.Table:
        """``data`` decoded by the json module; ArrowInvalid for what is not one object per line."""
        import pyarrow as pa

        try:
            records = [json.loads(line) for line in data.splitlines() if line.strip()]
            if not all(isinstance(record, dict) for record in records):
                raise ValueError("a line is not a JSON object")
            table = pa.Table.from_pylist(records)
            for field in self._schema:
                index = table.schema.get_field_index(field.name)
                if index >= 0 and table.schema.field(index).type != field.type:
                    table = table.set_column(index, field, table.column(index).cast(field.type))
        except (ValueError, TypeError, OverflowError, pa.ArrowException) as exc:
            raise pa.ArrowInvalid(str(exc)) from exc
        return table

    def _read_line_by_line(self, lines: list[bytes], first_line: int | None) -> pa.Table | None:
        import pyarrow as pa

        good: list[pa.Table] = []
        for offset, line in enumerate(lines):
            if not line.strip():
                continue
            reason, code = None, "INVALID_JSON"
            try:
                value = json.loads(line)
            except ValueError as exc:
                reason = str(exc)
            else:
                if not isinstance(value, dict):
                    reason = f"a JSON {_json_type(value)}, not an object"
                else:
                    try:
                        read = self._read(line)
                        good.append(self._cast(read))
                    except pa.ArrowInvalid as exc:
                        reason, code = self._bad_value_reason(value) or str(exc), "BAD_VALUE"
                    else:
                        # Later lines must match the types of the first good one, as in a chunk.
                        self._remember_schema(read)
            if reason is not None:
                self._on_reject(
                    Reject(
                        reason=reason,
                        raw=line.decode("utf-8", "replace").rstrip("\r\n"),
                        line_number=first_line + offset if first_line is not None else None,
                        locator=self._path,
                        reason_code=code,
                    )
                )
        if not good:
            return None
        return pa.concat_tables(good, promote_options="permissive")

    def _bad_value_reason(self, record: dict[str, Any]) -> str | None:
        """Which value of a well-formed ``record`` does not fit its column's type, if any."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for field in self._schema:
            value = record.get(field.name)
            if value is None:
                continue
            kind = self._casts.get(field.name, field.type)
            try:
                if field.name in self._casts:
                    if not isinstance(value, str):
                        raise TypeError
                    pc.cast(pa.array([value]), kind)
                else:
                    pa.array([value], type=kind)
            except (TypeError, OverflowError, pa.ArrowException):
                return bad_value_reason(field.name, value, kind)
        return None

    def _remember_schema(self, table: pa.Table) -> None:
        import pyarrow as pa

        # Keep the first chunk's inferred types for later chunks, except null columns (a
        # field that was null throughout the first chunk may hold values later).
        fields = [field for field in table.schema if not pa.types.is_null(field.type)]
        self._schema = pa.schema(fields)

    def _cast(self, table: pa.Table) -> pa.Table:
        import pyarrow.compute as pc

        for name, kind in self._casts.items():
            index = table.schema.get_field_index(name)
            if index >= 0 and table.schema.field(index).type != kind:
                table = table.set_column(index, name, pc.cast(table.column(index), kind))
        return table


def _one_object_per_line(data: bytes) -> bool:
    """Whether every non-blank line of ``data`` starts with ``{`` and ends with ``}``."""
    return not _NOT_AN_OBJECT_START.search(data) and not _NOT_AN_OBJECT_END.search(data)


def _rows_match_lines(rows: int, lines: list[bytes]) -> bool:
    """Whether pyarrow read one row per non-blank line (two objects on a line are two rows)."""
    if rows == len(lines):
        return True
    return rows == sum(1 for line in lines if line.strip())


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type: null, boolean, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
