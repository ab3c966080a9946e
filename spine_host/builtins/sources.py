"""Builtin source types: ``file`` and ``database``.

Both modules import pyarrow and SQLAlchemy only inside their methods, so registering the classes
here keeps ``spine --help`` free of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host.plugins import hookimpl

if TYPE_CHECKING:
    from spine_host.registry import Register
    from spine_host.sources.source import Source


@hookimpl
def spine_register_sources(register: Register[type[Source]]) -> None:
    """Provide the ``file`` and ``database`` sources."""
    register.lazy("file", "spine_host.sources.file:FileSource")
    register.lazy("database", "spine_host.sources.database:DatabaseSource")
