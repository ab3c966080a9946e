"""Finding values and records inside a decoded JSON response by a dotted path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spine_host.errors import ErrorCategory, SpineError

__all__ = ["MISSING", "records_at", "value_at"]

#: Returned by :func:`value_at` when the path leads nowhere.
MISSING: Any = object()


def value_at(data: Any, path: str) -> Any:
    """The value at dotted ``path`` (``"meta.next_cursor"``, ``"data.0.items"``) or MISSING.

    An empty path is ``data`` itself. A segment made of digits indexes a list.
    """
    if not path:
        return data
    for segment in path.split("."):
        if isinstance(data, Mapping) and segment in data:
            data = data[segment]
        elif isinstance(data, list) and segment.isdigit() and int(segment) < len(data):
            data = data[int(segment)]
        else:
            return MISSING
    return data


def records_at(data: Any, path: str, *, where: str) -> list[dict[str, Any]]:
    """The list of records at ``path``; a single object counts as one record.

    Raises:
        SpineError: PARSE when the path is missing or holds something other than objects.
            ``where`` (a safe URL) names the response in the message.
    """
    found = value_at(data, path)
    shown = repr(path) if path else "the response"
    if found is MISSING:
        raise SpineError(
            f"{where}: records_path {path!r} not found in the response",
            category=ErrorCategory.PARSE,
            context={"records_path": path},
        )
    if found is None:
        return []
    if isinstance(found, Mapping):
        return [dict(found)]
    if isinstance(found, list) and all(isinstance(item, Mapping) for item in found):
        return [dict(item) for item in found]
    raise SpineError(
        f"{where}: {shown} holds {type(found).__name__}, expected a list of objects",
        category=ErrorCategory.PARSE,
        context={"records_path": path},
    )
