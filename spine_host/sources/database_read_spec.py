"""What one read of a ``database`` source covers: its :class:`ReadSpec`.

:mod:`spine_host.sources.database` makes it from the configuration and the call's parameters;
:mod:`spine_host.sources.database_reader` reads by it. Neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ReadSpec"]


@attrs.frozen(kw_only=True)
class ReadSpec:
    """What one read covers: the configuration with the call's parameters applied."""

    table: str | None
    query: str | None
    key: tuple[str, ...]
    page_size: int
    watermark: str | None
    since: Any
