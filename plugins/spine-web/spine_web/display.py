"""How values read on the pages: the CLI's formats (times in UTC, durations, ``key=value``),
status names as CSS classes, and JSON shown indented.

Every string a template prints is masked by the host's redactor on its way out (see
:mod:`spine_web.rendering`); these helpers only shape values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from spine_host.cli.output import format_duration, format_time, format_value

__all__ = [
    "duration_between",
    "format_duration",
    "format_time",
    "format_value",
    "iso",
    "pretty",
    "short_id",
    "status_class",
]

_GOOD = frozenset({"COMPLETED", "SUCCEEDED", "PASS", "SENT", "ok", "DONE"})
_BAD = frozenset(
    {
        "FAILED",
        "CRASHED",
        "TIMED_OUT",
        "FAIL",
        "ERROR",
        "MISSED",
        "broken",
        "incompatible",
        "conflict",
        "REFUSED",
        "CRITICAL",
    }
)
_WARN = frozenset({"PARTIAL", "WARN", "WARNING", "THROTTLED", "CANCELLED", "disabled", "empty"})
_BUSY = frozenset({"RUNNING", "CLAIMED", "PENDING", "STARTED"})


def status_class(status: object) -> str:
    """``status-good``, ``status-bad``, ``status-warn``, ``status-busy`` or ``status-neutral``."""
    text = str(getattr(status, "value", status))
    if text in _GOOD:
        return "status-good"
    if text in _BAD:
        return "status-bad"
    if text in _WARN:
        return "status-warn"
    if text in _BUSY:
        return "status-busy"
    return "status-neutral"


def short_id(value: str | None) -> str:
    """The first 12 characters of an id (the whole id is in the link and its title)."""
    return (value or "-")[:12]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, for ``<time datetime=...>``."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat()


def duration_between(start: datetime | None, end: datetime | None) -> str | None:
    """``12.30s``, ``1m 03s``...: the CLI's duration of ``end - start``; None if either is."""
    if start is None or end is None:
        return None
    return format_duration((end - start).total_seconds())


def pretty(value: Any) -> str:
    """A stored value for a ``<pre>``: a string as it is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=isinstance(value, Mapping), default=str)
