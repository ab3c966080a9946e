"""Collecting what a plugin module defines, for ``register_all``-style helpers.

A plugin often registers "everything this module defines": pipelines, schedules. Scanning a
module's namespace needs two rules every such helper shares: take from a module only what the
caller accepts for it (usually: defined in that very module, so a module importing another's
objects does not register them twice), and register each object once per call however many
sources hold it.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["collect_defined"]


def collect_defined(
    sources: Iterable[types.ModuleType | Iterable[Any]],
    accept: Callable[[Any, types.ModuleType], bool],
) -> Iterator[Any]:
    """Each object of ``sources`` once: from a module, the values ``accept(value, module)``
    takes; from any other iterable, every item."""
    seen: set[int] = set()
    for source in sources:
        if isinstance(source, types.ModuleType):
            candidates: Iterable[Any] = [
                value for value in vars(source).values() if accept(value, source)
            ]
        else:
            candidates = source
        for candidate in candidates:
            if id(candidate) not in seen:
                seen.add(id(candidate))
                yield candidate
