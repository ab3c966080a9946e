"""Reading CSV, PSV and TSV files as Arrow batches, with rejects for malformed rows.

pyarrow's streaming reader holds one block of the file at a time. Two kinds of rows become
rejects, each with its 1-based physical line number and raw text:

- a row with the wrong number of fields (``COLUMN_COUNT``), through pyarrow's invalid-row
  handler;
- a row with a value that does not fit its column's type (``BAD_VALUE``). pyarrow fails the
  whole read on such a value, so the file is first read typed, which is fastest; only when
  pyarrow reports a conversion error is it read again with the typed columns as strings, each
  batch cast by :class:`~spine_host.sources.file_casting.ColumnCaster`, and the rows already
  yielded skipped. Clean files never pay for the second read.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from spine_host.errors import ErrorCategory, SpineError
from spine_host.printable import printable
from spine_host.sources.file_casting import ColumnCaster
from spine_host.sources.file_read_spec import OnReject, ReadSpec, arrow_invalid
from spine_host.sources.file_text import check_text, open_text
from spine_host.sources.result import Reject

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pacsv

__all__ = ["DELIMITED_FORMATS", "delimited_batches"]

#: Delimited formats and their default delimiters.
DELIMITED_FORMATS: Mapping[str, str] = {"csv": ",", "psv": "|", "tsv": "\t"}

# pyarrow's conversion errors read "In CSV column #4: Row #8: CSV conversion error to int64...";
# its parse errors ("CSV parse error: ...") do not start this way.
_CONVERSION_ERROR = "In CSV column #"


def delimited_batches(
    path: str, fmt: str, spec: ReadSpec, on_reject: OnReject
) -> Iterator[pa.RecordBatch]:
    """The rows of one delimited file, a block at a time; malformed rows go to ``on_reject``."""
    reader = _DelimitedReader(path, fmt, spec, on_reject)
    check_text(path, spec.encoding, reader.quote, reader.delimiter)
    try:
        yield from reader.batches()
    except arrow_invalid() as exc:
        # pyarrow's message quotes the row it choked on: show its control characters escaped.
        raise SpineError(
            f"{path}: {printable(str(exc), one_line=True)}",
            category=ErrorCategory.PARSE,
            context={"path": path},
            cause=exc,
        ) from exc
    finally:
        reader.close()


class _DelimitedReader:
    """One read of one delimited file: the typed read, and the casting read if it is needed."""

    def __init__(self, path: str, fmt: str, spec: ReadSpec, on_reject: OnReject) -> None:
        self._path = path
        self._spec = spec
        self._on_reject = on_reject
        self.delimiter = spec.delimiter or DELIMITED_FORMATS[fmt]
        self.quote = spec.quote or None
        # pyarrow numbers rows by record (header = 1, blank lines skipped); the locator turns
        # those numbers into physical line numbers, reading the file only when a row is bad.
        self._locator = _LineLocator(path, self.delimiter, self.quote, spec.encoding)
        # Wrong-width rows the parser skipped, not reported yet: (record number, text, reason).
        self._skipped: list[tuple[int, str, str]] = []
        # Records up to this number were reported by the typed read; the casting read, which
        # parses the file again, does not report them twice.
        self._reported_through = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The typed read, switching to the casting read at the first conversion error."""
        yielded = 0
        try:
            with self._open(self._spec.types, self._skip_row) as reader:
                for batch in reader:
                    self._report(self._take_skipped(), [])
                    yielded += batch.num_rows
                    yield batch
            self._report(self._take_skipped(), [])
            return
        except arrow_invalid() as exc:
            if not str(exc).startswith(_CONVERSION_ERROR):
                raise
        self._skipped.clear()  # the casting read finds them again
        yield from self._casting_batches(skip_rows=yielded)

    def close(self) -> None:
        """Release the files this read opened."""
        self._locator.close()

    def _casting_batches(self, skip_rows: int) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        declared = self._spec.types
        as_text = {name: pa.string() for name, kind in declared.items() if not _is_text(kind)}
        # A first block read with the declared columns as text gives the column names and
        # pyarrow's inferred types; every non-text column is then read as text and cast, so
        # an inferred int64 column with a word in a later block is a reject too.
        with self._open({**declared, **as_text}, lambda row: "skip") as probe:
            schema = probe.schema
        targets = {
            field.name: declared.get(field.name, field.type)
            for field in schema
            if not _is_text(declared.get(field.name, field.type))
            and not pa.types.is_null(field.type)
        }
        caster = ColumnCaster(targets, inferred=frozenset(targets) - set(declared))
        text_types = {**declared, **{name: pa.string() for name in targets}}
        records = _RecordNumbers(header_records=1 if self._spec.header else 0)
        row = 0  # rows of this read before the current batch
        with self._open(text_types, self._skip_row) as reader:
            for batch in reader:
                for number, _text, _reason in self._skipped:
                    records.skip(number)
                first, row = row, row + batch.num_rows
                if row <= skip_rows:
                    self._skipped.clear()  # reported by the typed read
                    continue
                if first < skip_rows:
                    batch = batch.slice(skip_rows - first)
                    first = skip_rows
                good, bad_rows = caster.cast(batch)
                bad = [(records.of(first + bad.index), bad.reason) for bad in bad_rows]
                self._report(self._take_skipped(), bad)
                if good.num_rows:
                    yield good
        self._report(self._take_skipped(), [])

    def _open(
        self, column_types: Mapping[str, pa.DataType], on_invalid_row: Callable[[Any], str]
    ) -> pacsv.CSVStreamingReader:
        import pyarrow.csv as pacsv

        spec = self._spec
        # use_threads=False: only a single-threaded reader knows the number of a bad row.
        read_options = pacsv.ReadOptions(
            use_threads=False,
            block_size=spec.block_size,
            column_names=list(spec.columns) if not spec.header and spec.columns else None,
            autogenerate_column_names=not spec.header and not spec.columns,
            encoding=spec.encoding,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.delimiter,
            quote_char=self.quote if self.quote is not None else False,
            # A quoted value may hold line breaks; without this pyarrow loses its place at
            # the first one that crosses a block boundary.
            newlines_in_values=self.quote is not None,
            invalid_row_handler=on_invalid_row,
        )
        convert_options = pacsv.ConvertOptions(column_types=dict(column_types))
        return pacsv.open_csv(self._path, read_options, parse_options, convert_options)

    def _skip_row(self, row: Any) -> str:
        reason = f"expected {row.expected_columns} columns, found {row.actual_columns}"
        self._skipped.append((row.number, row.text, reason))
        return "skip"

    def _take_skipped(self) -> list[tuple[int, str, str]]:
        skipped = [entry for entry in self._skipped if entry[0] > self._reported_through]
        self._skipped.clear()
        return skipped

    def _report(self, skipped: list[tuple[int, str, str]], bad: list[tuple[int, str]]) -> None:
        # One batch's rejects in file order: the locator reads the file forward only.
        found: list[tuple[int, str | None, str, str]] = [
            (number, text, reason, "COLUMN_COUNT") for number, text, reason in skipped
        ]
        found += [(number, None, reason, "BAD_VALUE") for number, reason in bad]
        for number, text, reason, code in sorted(found, key=lambda entry: entry[0]):
            line_number, raw = self._locator.record(number)
            self._on_reject(
                Reject(
                    reason=reason,
                    raw=text if text is not None else raw or "",
                    line_number=line_number,
                    locator=self._path,
                    reason_code=code,
                )
            )
            self._reported_through = max(self._reported_through, number)


def _is_text(kind: pa.DataType) -> bool:
    """Whether pyarrow reads every value of a ``kind`` column as it is (no value can be bad)."""
    import pyarrow as pa

    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


class _RecordNumbers:
    """pyarrow's record number of each loaded row: rows counted, plus header and skipped rows.

    Rows are asked for in increasing order, and every skipped record before a row must be
    told (:meth:`skip`) before the row is asked for.
    """

    def __init__(self, header_records: int) -> None:
        self._before = header_records  # records before the next row that are not rows
        self._skipped: list[int] = []  # skipped record numbers not yet passed, ascending

    def skip(self, number: int) -> None:
        """Record ``number`` was a skipped (wrong-width) row."""
        self._skipped.append(number)

    def of(self, row: int) -> int:
        """The record number of loaded row ``row`` (0-based over the file)."""
        number = row + 1 + self._before
        passed = 0
        for skipped in self._skipped:
            if skipped > number:
                break
            passed += 1
            number += 1
        del self._skipped[:passed]
        self._before += passed
        return number


class _LineLocator:
    """Maps pyarrow's record numbers to 1-based physical line numbers and raw text.

    Records and lines differ when blank lines are skipped or a quoted value spans lines, so
    the file is read again with the csv module, once, only as far as the last bad record.
    """

    def __init__(self, path: str, delimiter: str, quote: str | None, encoding: str) -> None:
        self._path = path
        self._delimiter = delimiter
        self._quote = quote
        self._encoding = encoding
        self._file: IO[str] | None = None
        self._reader: Any = None
        self._record = 0
        self._lines: list[str] = []  # the physical lines of the record being read

    def record(self, number: int | None) -> tuple[int | None, str | None]:
        """Where record ``number`` (1-based, blank lines not counted) starts, and its text.

        ``(None, None)`` when the number is unknown, was asked for already or is past the end.
        """
        if number is None:
            return None, None
        if self._reader is None:
            self._file = open_text(self._path, self._encoding)
            self._reader = csv.reader(
                self._remembered_lines(self._file),
                delimiter=self._delimiter,
                quotechar=self._quote,
                quoting=csv.QUOTE_MINIMAL if self._quote else csv.QUOTE_NONE,
            )
        if number <= self._record:
            return None, None  # numbers only grow; a repeat means we cannot tell
        start = None
        while self._record < number:
            start = self._reader.line_num + 1
            self._lines.clear()
            try:
                fields = next(self._reader)
            except (StopIteration, csv.Error):
                return None, None
            if fields:  # the csv module yields [] for a blank line; pyarrow skips it
                self._record += 1
        return start, "".join(self._lines).rstrip("\r\n")

    def close(self) -> None:
        """Release the file, if it was opened."""
        if self._file is not None:
            self._file.close()

    def _remembered_lines(self, lines: IO[str]) -> Iterator[str]:
        # The csv module reads exactly the lines of one record per row, never ahead.
        for line in lines:
            self._lines.append(line)
            yield line
