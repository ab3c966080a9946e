"""What every file reader is given: the :class:`ReadSpec`, where rejects go, pyarrow's error.

The readers of each format (:mod:`~spine_host.sources.file_delimited`,
:mod:`~spine_host.sources.file_json`) and the format table that dispatches to them
(:mod:`~spine_host.sources.file_formats`) all import this module; it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from spine_host.sources.result import Reject

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["OnReject", "ReadSpec", "arrow_invalid"]

#: Called with each malformed row or record; the read goes on.
OnReject = Callable[[Reject], None]


@attrs.frozen(kw_only=True)
class ReadSpec:
    """How to read a file: the resolved, pyarrow-typed form of a FileSource configuration."""

    format: str | None
    header: bool = True
    columns: tuple[str, ...] | None = None
    types: Mapping[str, pa.DataType] = attrs.field(factory=dict)
    delimiter: str | None = None
    quote: str | None = '"'
    encoding: str = "utf8"
    records_path: str | None = None
    block_size: int = 1 << 20


def arrow_invalid() -> type[Exception]:
    """pyarrow's ArrowInvalid, imported on first use."""
    import pyarrow as pa

    invalid: type[Exception] = pa.ArrowInvalid
    return invalid
