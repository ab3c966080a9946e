"""Keeping what spine prints readable and harmless on a terminal.

Values shown by commands come from files, APIs and databases: a reject's raw line, an error
from a server, a parameter typed by someone else. Printed as they are, control characters in
them move the cursor, recolour or clear the screen, or hide text (``ESC [2J``, a carriage
return mid-line, a right-to-left override). Every command's output passes through
:func:`escaped_output`, which writes each such character as a visible escape (``\\x1b``); tab,
newline and carriage return pass, since spine's own output uses them. JSON output is already
safe: ``json.dumps`` escapes every control character.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from spine_host.printable import printable

__all__ = ["escaped_output"]


class _EscapingStream:
    """A text stream that writes :func:`printable` text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def escaped_output() -> Iterator[None]:
    """Within the block, text written to stdout and stderr has its control characters escaped."""
    saved = sys.stdout, sys.stderr
    sys.stdout = _EscapingStream(saved[0])
    sys.stderr = _EscapingStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
