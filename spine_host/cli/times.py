"""Times people type on the command line: durations (``30s``, ``24h``) and ``--since`` moments.

One parser for every command, so ``spine runs list --since 24h`` and ``spine pipelines runs
--since 24h`` read the same text the same way. A bad value is a ``click.BadParameter`` (exit 2).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

__all__ = ["parse_duration", "parse_since"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST = timedelta(days=36500)  # a century: anything longer is a typo


def parse_duration(text: str) -> float:
    """``"90s"``, ``"5m"``, ``"24h"``, ``"7d"``, ``"1w"``, ``"250ms"`` or bare seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration like 30s, 5m, 24h or 7d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds > _LONGEST.total_seconds():
        raise click.BadParameter(f"{text!r} is longer than {_LONGEST.days} days")
    return seconds


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A duration back from now (``24h``) or an ISO date/time (UTC when it has no zone)."""
    if _DURATION.match(text):
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration (24h) nor a date (2025-12-26T06:00)",
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
