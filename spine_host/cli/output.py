"""How commands print: aligned tables for people, JSON for scripts.

Values shown to people are written the way a person writes them, by one helper each:

- times: every stored time is UTC, shown to the second. A table says so once, in its header
  (``STARTED (UTC)``), and its cells read ``2025-12-26 06:00:00``; a detail line carries the
  zone itself (``2025-12-26 06:00:00 UTC``, ``format_time(..., with_zone=True)``);
- durations: ``0.21s`` and ``12.30s`` under a minute, then ``1m 03s`` and ``1h 02m``;
- mappings (params, results, quality expectations): ``week_ending=2025-12-26 tier=T2``;
- a value that is absent: ``-``, never ``None``.

JSON output carries the values themselves (numbers, ISO 8601 times, objects), no display markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from spine_host.printable import printable

__all__ = [
    "emit_json",
    "emit_table",
    "format_counts",
    "format_duration",
    "format_params",
    "format_time",
    "format_value",
    "render_table",
]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with a header rule; cells are ``str()``-ed, None shows as ``-``."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    lines = [
        "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)),
        "  ".join("-" * width for width in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "") -> None:
    """Print a table, or ``empty`` when there are no rows."""
    click.echo(render_table(headers, rows) if rows or not empty else empty)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON (dates and other objects as strings)."""
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def format_time(value: datetime | None, *, with_zone: bool = False) -> str | None:
    """``2025-12-26 06:00:00`` (UTC), ``2025-12-26 06:00:00 UTC`` ``with_zone``; None stays None.

    Tables label the zone once in a header (``STARTED (UTC)``); detail lines use ``with_zone``.
    A time without a zone is taken as UTC (every time spine stores is); one in another zone is
    converted.
    """
    if value is None:
        return None
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} UTC" if with_zone else text


def format_duration(seconds: float | None) -> str | None:
    """``0.21s``, ``12.30s`` (``<0.01s`` for less), ``1m 03s``, ``1h 02m``; None stays None."""
    if seconds is None:
        return None
    if round(seconds, 2) < 60:
        return "<0.01s" if 0 < seconds < 0.005 else f"{seconds:.2f}s"
    minutes, whole_seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {whole_seconds:02d}s"


def format_counts(*counts: int | None) -> str:
    """``3/2/1`` for rows in/out/rejected; an unknown count shows as ``-``."""
    return "/".join("-" if count is None else str(count) for count in counts)


def format_params(params: Mapping[str, Any] | None) -> str | None:
    """``venues=XNAS,XNYS week_ending=2025-12-26``, as typed after ``-p``; None when empty.

    The one way a mapping is shown to people: params, results, quality expectations, settings.
    Keys are sorted: PostgreSQL's JSONB does not keep the order they were written in. A value
    that is empty or holds a space is quoted (``message="no rows"``), so pairs stay apart.
    """
    if not params:
        return None
    return " ".join(f"{key}={_pair_value(params[key])}" for key in sorted(params))


def format_value(value: Any) -> str | None:
    """Any stored value as a person writes it: a mapping as :func:`format_params`, a list as
    ``a,b``, ``true``/``false``; None (and an empty mapping) stays None, shown as ``-``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return format_params(value)
    return _param_value(value)


def _pair_value(value: Any) -> str:
    text = _param_value(value)
    return json.dumps(text, ensure_ascii=False) if not text or _SPACE.search(text) else text


_SPACE = re.compile(r"\s")


def _param_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_param_value(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_time(value) or "-"
    if isinstance(value, Mapping):
        return printable((format_params(value) or "-").replace("\n", " "))
    if isinstance(value, list | tuple):
        text = ", ".join(_param_value(item) for item in value) or "-"
        return printable(text.replace("\n", " "))
    return printable(str(value).replace("\n", " "))
