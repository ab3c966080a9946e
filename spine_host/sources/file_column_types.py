"""Column type names of the file source's ``types`` option, and the pyarrow types they mean.

A type is written the way people write it or the way Arrow names it; both mean the same::

    date                 date32               a calendar day
    datetime             timestamp[us]        a time of day without a zone
    datetime[tz=UTC]     timestamp[us, tz=UTC]
    int                  int64
    str, text            string
    float                float64
    bool                 bool
    decimal(12, 2)       decimal128(12, 2)    (decimal256 above 38 digits)

Arrow's other names (``int32``, ``uint8``, ``float32``, ``date64``, ``binary``,
``timestamp[ms]``, ``decimal256(50, 4)``...) are accepted too. pyarrow is imported only when a
name is turned into a type: checking a configuration stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_type", "check_type_name"]

# Arrow's names of pyarrow types without parameters, and the pyarrow factory of each.
_SIMPLE_TYPES = {
    "bool": "bool_",
    "boolean": "bool_",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float32": "float32",
    "float64": "float64",
    "float": "float64",
    "double": "float64",
    "string": "string",
    "utf8": "string",
    "large_string": "large_string",
    "binary": "binary",
    "date32": "date32",
    "date64": "date64",
}
# The names people write, and the Arrow names they stand for.
_ALIASES = {
    "date": "date32",
    "datetime": "timestamp[us]",
    "int": "int64",
    "str": "string",
    "text": "string",
}
_TIMESTAMP = re.compile(r"timestamp\[(s|ms|us|ns)(?:,\s*tz=([^\]]+))?\]")
_DECIMAL = re.compile(r"decimal(128|256)\((\d+),\s*(\d+)\)")
_DATETIME_WITH_ZONE = re.compile(r"datetime\[tz=([^\]]+)\]")
_PLAIN_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
# decimal128 holds up to 38 digits; ``decimal(P, S)`` is decimal256 beyond that.
_DECIMAL128_DIGITS = 38
_PATTERNS = (
    "datetime[tz=ZONE]",
    "timestamp[UNIT] or timestamp[UNIT, tz=ZONE] (UNIT s, ms, us, ns)",
    "decimal(P, S)",
    "decimal128(P, S)",
    "decimal256(P, S)",
)


def check_type_name(name: str) -> None:
    """Raise ValueError unless ``name`` is a column type the file source understands.

    The message lists every accepted name.
    """
    if _arrow_name(name) is None:
        known = ", ".join(sorted({*_SIMPLE_TYPES, *_ALIASES}))
        raise ValueError(
            f"unknown column type {name!r}; expected one of {known}, {', '.join(_PATTERNS)}"
        )


def arrow_type(name: str) -> pa.DataType:
    """A pyarrow type by name: ``date``, ``int64``, ``timestamp[us, tz=UTC]``, ``decimal(9,2)``.

    Raises:
        ValueError: ``name`` is not a type the file source understands (see the module doc).
    """
    import pyarrow as pa

    check_type_name(name)
    text = _arrow_name(name)
    assert text is not None  # check_type_name accepted it
    if text in _SIMPLE_TYPES:
        factory: Callable[[], pa.DataType] = getattr(pa, _SIMPLE_TYPES[text])
        return factory()
    if match := _TIMESTAMP.fullmatch(text):
        unit, zone = match.groups()
        return pa.timestamp(unit, tz=zone.strip() if zone else None)
    match = _DECIMAL.fullmatch(text)
    assert match is not None  # _arrow_name gives only names matched above
    width, precision, scale = match.groups()
    decimal = pa.decimal128 if width == "128" else pa.decimal256
    return decimal(int(precision), int(scale))


def _arrow_name(name: str) -> str | None:
    """Arrow's name for the type ``name`` stands for; None when it is no known type."""
    text = name.strip()
    text = _ALIASES.get(text, text)
    if match := _DATETIME_WITH_ZONE.fullmatch(text):
        text = f"timestamp[us, tz={match.group(1)}]"
    elif match := _PLAIN_DECIMAL.fullmatch(text):
        precision, scale = match.groups()
        width = 128 if int(precision) <= _DECIMAL128_DIGITS else 256
        text = f"decimal{width}({precision}, {scale})"
    if text in _SIMPLE_TYPES or _TIMESTAMP.fullmatch(text) or _DECIMAL.fullmatch(text):
        return text
    return None
