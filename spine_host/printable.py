"""Text from outside made fit to show a person: control characters visible, absurd lengths cut.

Used wherever text from outside (a file's line, a server's answer, a name someone typed) is put
in front of a person: :mod:`spine_host.cli.terminal` for everything a command prints, and
error messages that quote their input.
"""

from __future__ import annotations

import re

__all__ = ["printable", "quoted"]

# C0 controls but tab, newline and carriage return; DEL and the C1 controls; the
# bidirectional overrides and isolates that reorder the text a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with each control character written as ``\\xNN`` or ``\\uNNNN``.

    Tab, newline and carriage return are kept, unless ``one_line``: then they are escaped too,
    for input quoted inside a message.
    """
    escaped = _CONTROL.sub(_escape, text)
    return _LINE_BREAKS.sub(_escape, escaped) if one_line else escaped


_LINE_BREAKS = re.compile("[\t\n\r]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quoted(value: str, most: int = 64) -> str:
    """``value`` quoted for a message (``'nope'``), cut after ``most`` characters when longer."""
    if len(value) <= most:
        return repr(value)
    return f"{value[:most]!r}... ({len(value)} characters)"
