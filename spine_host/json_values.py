"""JSON-safe values for history rows, errors and alerts: one conversion used everywhere."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` with dates as ISO text, enums by value, attrs objects as dicts, sets sorted.

    Anything else JSON cannot hold (Decimal, Path, ...) becomes its ``str()``, so a result is
    always storable and never silently dropped.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date too
        return value.isoformat()
    if hasattr(type(value), "__attrs_attrs__"):  # attrs.has(), without importing attrs early
        import attrs

        return json_safe(attrs.asdict(value, recurse=False))
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=json.dumps)
    return str(value)
