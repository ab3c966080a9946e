"""Checking a delimited file's text before pyarrow parses it: its encoding and its quotes.

pyarrow trusts its input in two ways that lose data silently. Bytes that are not valid UTF-8
turn a column into ``binary`` (values such as ``b'Jos\\xe9'``), or, in a row of the wrong
width, fail inside pyarrow's own error handler. And a quoted value that is never closed runs to
the end of the file, merging every later row into one value. So one pass over the file, a block
at a time, comes first:

- every byte must decode in the configured ``encoding`` (strict); the first that does not is a
  ``PARSE`` error naming the line and showing it with the bad bytes escaped, never raw;
- an odd number of quote characters is the only way a file can end inside a quoted value (a
  quote inside a quoted value is doubled), so only then is the file read again with the csv
  module to find where the unclosed value starts: a ``PARSE`` error naming that line.

The pass costs one decode of the file; it is what makes every later value text.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import sys
from collections.abc import Iterator
from typing import IO

from spine_host.errors import ErrorCategory, SpineError
from spine_host.printable import printable

__all__ = ["check_encoding_name", "check_text", "open_binary", "open_text"]

_BLOCK_BYTES = 1 << 20
_SHOWN_CHARACTERS = 120


def check_encoding_name(name: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless Python knows a text codec by that name."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(
            f"encoding: unknown encoding {name!r} (for example utf8, latin-1, cp1252, utf-16)"
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"encoding: {name!r} is not a text encoding")


def check_text(path: str, encoding: str, quote: str | None, delimiter: str) -> None:
    """Raise a PARSE :class:`SpineError` unless ``path`` is text that ends outside quotes.

    Raises:
        SpineError: PARSE, naming the line of the first undecodable byte or of the quoted
            value that is never closed.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    # ASCII is valid UTF-8, and bytes.isascii() and a search for the quote byte are far faster
    # than decoding or counting: most blocks of most files take that path, which keeps this
    # pass near a tenth of pyarrow's parse time. Lines are counted only to name a bad one.
    utf8 = codecs.lookup(encoding).name == "utf-8"
    ascii_quote = quote.encode() if utf8 and quote and quote.isascii() else None
    fast = utf8 and (quote is None or ascii_quote is not None)
    offset = 0  # bytes read before the current block
    lines_before = 0  # newlines decoded before the current block (when not fast)
    quotes = 0
    with open_binary(path) as stream:
        while True:
            block = stream.read(_BLOCK_BYTES)
            pending = len(decoder.getstate()[0])
            if fast and block and block.isascii() and not pending:
                if ascii_quote is not None and ascii_quote in block:
                    quotes += block.count(ascii_quote)
                offset += len(block)
                continue
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                if fast:
                    line = _lines_in(path, offset - pending + exc.start) + 1
                else:
                    line = lines_before + bytes(exc.object).count(b"\n", 0, exc.start) + 1
                raise _undecodable(path, encoding, exc, line) from None
            except UnicodeError as exc:  # a codec's own complaint, e.g. UTF-16 without a BOM
                raise SpineError(
                    f"{path}: not {encoding} text ({exc}); set encoding to the one the file "
                    "was written in",
                    category=ErrorCategory.PARSE,
                    context={"path": path, "encoding": encoding},
                ) from None
            if not block:
                break
            offset += len(block)
            if not fast:
                lines_before += text.count("\n")
            if quote:
                quotes += text.count(quote)
    if quotes % 2:
        opened = _unclosed_quote_line(path, encoding, quote or '"', delimiter)
        if opened is not None:
            raise SpineError(
                f"{path} line {opened}: a quoted value starts on this line and is never closed, "
                "so the file ends inside it and every later row would merge into one value; "
                'close the quote, or set quote = "" if the file does not quote values',
                category=ErrorCategory.PARSE,
                context={"path": path, "line": opened},
            )


def open_text(path: str, encoding: str) -> IO[str]:
    """``path`` opened as text in ``encoding`` (``.gz`` decompressed), newlines kept as they are."""
    if path.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def open_binary(path: str) -> IO[bytes] | gzip.GzipFile:
    """``path`` opened for reading bytes, ``.gz`` decompressed as it is read."""
    if path.lower().endswith(".gz"):
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")


def _lines_in(path: str, size: int) -> int:
    """How many newline bytes the first ``size`` bytes of ``path`` hold."""
    count = 0
    with open_binary(path) as stream:
        while size > 0 and (block := stream.read(min(size, _BLOCK_BYTES))):
            count += block.count(b"\n")
            size -= len(block)
    return count


def _undecodable(path: str, encoding: str, exc: UnicodeDecodeError, line: int) -> SpineError:
    data = bytes(exc.object)
    start = data.rfind(b"\n", 0, exc.start) + 1
    end = data.find(b"\n", exc.end)
    shown = data[start : end if end >= 0 else len(data)].rstrip(b"\r")
    text = printable(shown.decode(encoding, "backslashreplace"), one_line=True)
    if len(text) > _SHOWN_CHARACTERS:
        text = text[:_SHOWN_CHARACTERS] + "..."
    hint = (
        'set encoding = "latin-1" (or "cp1252") if the file was written that way'
        if codecs.lookup(encoding).name == "utf-8"
        else "set encoding to the one the file was written in"
    )
    return SpineError(
        f"{path} line {line}: bytes that are not valid {encoding}: {text}; {hint}",
        category=ErrorCategory.PARSE,
        context={"path": path, "line": line, "encoding": encoding},
    )


def _unclosed_quote_line(path: str, encoding: str, quote: str, delimiter: str) -> int | None:
    """The line where a quoted value that reaches the end of the file starts, if there is one."""
    limit = csv.field_size_limit(sys.maxsize)  # an unclosed value can be most of the file
    try:
        with open_text(path, encoding) as stream:
            reader = csv.reader(stream, delimiter=delimiter, quotechar=quote, strict=True)
            for start, error in _records(reader):
                if error == "unexpected end of data":
                    return start
    finally:
        csv.field_size_limit(limit)
    return None


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, str | None]]:
    """Each record's first line and, when the strict reader refused it, why.

    Quoting that pyarrow accepts but the strict reader does not (``"x"y``) is skipped over: the
    reader starts again on the next line.
    """
    line_num = 0
    while True:
        start = line_num + 1
        try:
            next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, str(exc)
        else:
            yield start, None
        line_num = reader.line_num  # type: ignore[attr-defined]
