"""Builtin source types: ``file``.

``spine_host.sources.file`` imports pyarrow only inside its methods, so registering the class
here keeps ``spine --help`` free of pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host.plugins import hookimpl
from spine_host.sources.file import FileSource

if TYPE_CHECKING:
    from spine_host.registry import Register
    from spine_host.sources.source import Source


@hookimpl
def spine_register_sources(register: Register[type[Source]]) -> None:
    """Provide the ``file`` source."""
    register("file", FileSource)
