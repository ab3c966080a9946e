"""How commands print: aligned tables for people, JSON for scripts.

Values shown to people are written the way a person writes them, by one helper each: times
(UTC, to the second), durations (``0.42s``, ``2m05s``) and parameters (``week_ending=2025-12-26``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
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


def format_time(value: datetime | None) -> str | None:
    """``2025-12-26 06:00:00``: every timestamp spine stores is UTC, shown the same everywhere."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str | None:
    """``0.042s``, ``12.3s``, ``2m05s``, ``1h02m``; None stays None (shown as ``-``)."""
    if seconds is None:
        return None
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, whole_seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{whole_seconds:02d}s"


def format_counts(*counts: int | None) -> str:
    """``3/2/1`` for rows in/out/rejected; an unknown count shows as ``-``."""
    return "/".join("-" if count is None else str(count) for count in counts)


def format_params(params: Mapping[str, Any] | None) -> str | None:
    """``venues=XNAS,XNYS week_ending=2025-12-26``, as typed after ``-p``; None when empty.

    Keys are sorted: PostgreSQL's JSONB does not keep the order they were written in.
    """
    if not params:
        return None
    return " ".join(f"{key}={_param_value(params[key])}" for key in sorted(params))


def _param_value(value: Any) -> str:
    if value is None:
        return ""
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
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "-"
    return printable(str(value).replace("\n", " "))
