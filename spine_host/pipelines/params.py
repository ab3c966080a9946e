"""Typed pipeline parameters: CLI strings (``-p week_ending=2025-12-26``) into an attrs class.

A pipeline declares its parameters as an attrs class ``Params``. Callers pass strings (the
command line, ``spine.toml`` schedules) or already typed values (a workflow step); both are
structured with a lenient cattrs converter and the class's attrs validators run. Every problem
is reported at once, as a VALIDATION :class:`~spine_host.errors.SpineError` naming the
parameter, the value and what was expected::

    pipeline 'otc.ingest': week_ending = '2025-12-27': must be a Friday
    pipeline 'otc.ingest': unknown parameter 'tier2'; known parameters: week_ending, tier
"""

from __future__ import annotations

import collections.abc
import contextlib
import datetime as dt
import decimal
import enum
import math
import pathlib
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.structuring import structure

__all__ = [
    "describe_params",
    "params_converter",
    "params_to_json",
    "structure_params",
]

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})

#: What a comma-separated parameter is built as, by the origin of its declared type
#: (``typing.get_origin(typing.Sequence[int])`` is ``collections.abc.Sequence``). A read-only
#: ``Sequence`` becomes a tuple and a read-only ``Set`` a frozenset, so frozen Params stay
#: hashable.
_COLLECTIONS: dict[Any, Callable[[list[Any]], Any]] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: tuple,
    collections.abc.MutableSequence: list,
    collections.abc.Set: frozenset,
    collections.abc.MutableSet: set,
}

# Exactly the forms the messages promise; fromisoformat alone also takes 20251226 and 2025-W52-5.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})?"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")


def structure_params(pipeline: str, params_cls: type[Any] | None, raw: Mapping[str, Any]) -> Any:
    """Build the ``Params`` instance of ``pipeline`` from ``raw``; None when it takes none.

    ``raw`` is never modified. Raises a VALIDATION ``SpineError`` listing every missing,
    unknown or invalid parameter with its value and the expectation.
    """
    values = dict(raw)
    if params_cls is None:
        if values:
            unknown = ", ".join(repr(name) for name in sorted(values))
            raise _invalid(pipeline, [f"takes no parameters; got {unknown}"])
        return None
    fields = _fields(params_cls)
    problems = _unknown(values, fields) + _missing(values, fields)
    converter = params_converter()
    typed: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in values:
            continue
        try:
            field_type: Any = field.type
            typed[name] = structure(
                values[name], field_type, name, converter, error=_ProblemMessage
            )
        except _ProblemMessage as exc:
            problems.append(str(exc))
    if problems:
        raise _invalid(pipeline, problems)
    return _construct(pipeline, params_cls, fields, typed)


def params_converter() -> cattrs.Converter:
    """A converter that also accepts strings for every scalar, enum, date and list type."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    hooks: dict[type[Any], Callable[[Any, Any], Any]] = {
        str: _string,
        bool: _boolean,
        int: _integer,
        float: _number,
        decimal.Decimal: _decimal,
        dt.date: _date,
        dt.datetime: _datetime,
        pathlib.Path: lambda value, _: pathlib.Path(_string(value)),
        enum.Enum: _enum,
    }
    for kind, hook in hooks.items():
        converter.register_structure_hook(kind, _enum_first(hook))
    converter.register_structure_hook_factory(_is_sequence, _sequence_hook(converter))
    return converter


def params_to_json(params: Any) -> dict[str, Any]:
    """The JSON-safe form of a ``Params`` instance (dates as ISO text, enums by value)."""
    if params is None:
        return {}
    data = attrs.asdict(params, recurse=True)
    return {name: json_safe(value) for name, value in data.items()}


def describe_params(params_cls: type[Any] | None) -> list[str]:
    """One ``name: type = default`` line per parameter, for listings and help."""
    if params_cls is None:
        return []
    lines = []
    for name, field in _fields(params_cls).items():
        text = f"{name}: {_type_name(field.type)}"
        if field.default is not attrs.NOTHING:
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = "(computed)"
            text += f" = {json_safe(default)}"
        lines.append(text)
    return lines


# -- structuring steps --------------------------------------------------------------------------


class _ProblemMessage(Exception):
    """One problem's message from :func:`spine_host.structuring.structure`."""


def _invalid(pipeline: str, problems: list[str]) -> SpineError:
    return SpineError(
        f"pipeline {pipeline!r}: " + "; ".join(problems),
        category=ErrorCategory.VALIDATION,
        context={"pipeline": pipeline, "problems": problems},
    )


def _fields(params_cls: type[Any]) -> dict[str, attrs.Attribute[Any]]:
    if not attrs.has(params_cls):
        raise TypeError(f"Params must be an attrs class, got {params_cls!r}")
    attrs.resolve_types(params_cls)
    return {field.alias or field.name: field for field in attrs.fields(params_cls) if field.init}


def _unknown(values: Mapping[str, Any], fields: Mapping[str, Any]) -> list[str]:
    unknown = sorted(set(values) - set(fields))
    if not unknown:
        return []
    names = ", ".join(repr(name) for name in unknown)
    known = ", ".join(fields) or "none"
    noun = "parameter" if len(unknown) == 1 else "parameters"
    return [f"unknown {noun} {names}; known parameters: {known}"]


def _missing(values: Mapping[str, Any], fields: Mapping[str, attrs.Attribute[Any]]) -> list[str]:
    return [
        f"{name}: required but missing (expected {_type_name(field.type)})"
        for name, field in fields.items()
        if name not in values and field.default is attrs.NOTHING
    ]


def _construct(
    pipeline: str,
    params_cls: type[Any],
    fields: Mapping[str, attrs.Attribute[Any]],
    typed: dict[str, Any],
) -> Any:
    try:
        return params_cls(**typed)
    except (ValueError, TypeError) as exc:
        problems = _validator_problems(params_cls, fields, typed) or [str(exc)]
        raise _invalid(pipeline, problems) from exc


def _validator_problems(
    params_cls: type[Any],
    fields: Mapping[str, attrs.Attribute[Any]],
    typed: Mapping[str, Any],
) -> list[str]:
    """Run each field's validator alone, so a message can name the parameter and its value.

    attrs raises the first validator's bare message ("must be a Friday") without saying which
    field; validators receive the instance, so they get a blank one (most ignore it).
    """
    blank = object.__new__(params_cls)
    problems = []
    for name, field in fields.items():
        if field.validator is None or name not in typed:
            continue
        try:
            field.validator(blank, field, typed[name])
        except (ValueError, TypeError) as exc:
            problems.append(f"{name} = {json_safe(typed[name])!r}: {exc}")
    return problems


# -- lenient hooks: strings accepted for every type a parameter can have ------------------------


def _string(value: Any, _: Any = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | decimal.Decimal | dt.date | enum.Enum):
        return str(value.value if isinstance(value, enum.Enum) else value)
    raise TypeError(f"expected text, got {type(value).__name__}")


def _boolean(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected true or false (also yes/no, 1/0)")


def _integer(value: Any, _: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # int() alone would also take "1_000" and other digits than 0-9.
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError("expected an integer")


def _number(value: Any, _: Any) -> float:
    number: float | None = None
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and "_" not in value:
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    # nan and inf parse, but no parameter means them and nan compares unequal to itself.
    if number is None or not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _decimal(value: Any, _: Any) -> decimal.Decimal:
    number: decimal.Decimal | None = None
    if isinstance(value, decimal.Decimal):
        number = value
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        # str() first: Decimal(0.1) would keep the float's binary noise.
        text = str(value).strip()
        with contextlib.suppress(decimal.InvalidOperation):
            number = decimal.Decimal(text) if "_" not in text else None
    if number is None or not number.is_finite():
        raise ValueError("expected a finite decimal number")
    return number


def _date(value: Any, _: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:  # 2025-02-30
            pass
    raise ValueError("expected a date as YYYY-MM-DD")


def _datetime(value: Any, _: Any) -> dt.datetime:
    example = "e.g. 2025-12-26T06:00:00+00:00 or 2025-12-26T06:00:00Z"
    parsed: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and _ISO_DATETIME.fullmatch(value.strip()):
        with contextlib.suppress(ValueError):  # the right shape, but 2025-12-26T25:00Z
            parsed = dt.datetime.fromisoformat(value.strip())
    if parsed is None:
        raise ValueError(f"expected a date and time as ISO 8601 with an offset, {example}")
    # A naive time would be read in whatever zone the host runs in; spine stores UTC.
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(
            f"a date and time needs an offset or Z (spine stores UTC); add one, {example}"
        )
    return parsed


def _enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    for member in cls:
        # True == 1: a boolean picks a member only by identity, never an IntEnum's 1.
        if value is member or (value == member.value and not isinstance(value, bool)):
            return member
    if isinstance(value, str):
        text = value.strip()
        for member in cls:
            if text.upper() == member.name.upper() or text == str(member.value):
                return member
    allowed = ", ".join(str(member.value) for member in cls)
    raise ValueError(f"expected one of {allowed}")


def _enum_first(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    # Hooks are found by the class's MRO, and an IntEnum or StrEnum is an int or a str
    # before it is an Enum: every hook must send enums to _enum.
    def dispatch(value: Any, cls: Any) -> Any:
        if isinstance(cls, type) and issubclass(cls, enum.Enum):
            return _enum(value, cls)
        return hook(value, cls)

    return dispatch


def _is_sequence(cls: Any) -> bool:
    return (typing.get_origin(cls) or cls) in _COLLECTIONS


def _is_fixed_tuple(cls: Any) -> bool:
    # tuple[int, str] has one type per position; tuple[int, ...] and the rest one item type.
    arguments = typing.get_args(cls)
    return typing.get_origin(cls) is tuple and bool(arguments) and Ellipsis not in arguments


def _item_types(cls: Any) -> list[Any]:
    """The declared item types: one for ``list[T]``/``tuple[T, ...]``, one per slot otherwise."""
    return [arg for arg in typing.get_args(cls) if arg is not Ellipsis] or [str]


def _sequence_hook(converter: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(cls: Any) -> Callable[[Any, Any], Any]:
        origin = typing.get_origin(cls) or cls
        build = _COLLECTIONS[origin]
        item_types = _item_types(cls)
        fixed = _is_fixed_tuple(cls)

        def hook(value: Any, _: Any) -> Any:
            # "a,b,c" on the command line; a list when a workflow passes one.
            items = [item.strip() for item in value.split(",")] if isinstance(value, str) else value
            if isinstance(items, str | bytes | Mapping) or not hasattr(items, "__iter__"):
                raise ValueError(f"expected {_type_name(cls)}")
            items = [item for item in items if item != ""]
            if fixed and len(items) != len(item_types):
                raise ValueError(f"expected {_type_name(cls)}, got {len(items)}")
            structured = []
            for index, item in enumerate(items):
                item_type = item_types[index] if fixed else item_types[0]
                try:
                    structured.append(converter.structure(item, item_type))
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"item {index + 1} {item!r}: {exc}") from exc
            return build(structured)

        return hook

    return factory


# -- descriptions ---------------------------------------------------------------------------------


def _type_name(cls: Any) -> str:
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in cls)
    if _is_sequence(cls):
        item_types = _item_types(cls)
        if _is_fixed_tuple(cls):
            slots = ", ".join(_type_name(item) for item in item_types)
            return f"{len(item_types)} comma-separated values ({slots})"
        return f"a comma-separated list of {_type_name(item_types[0])}"
    names = {
        str: "text",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        decimal.Decimal: "a decimal number",
        dt.date: "a date as YYYY-MM-DD",
        dt.datetime: "an ISO 8601 date and time with an offset",
        pathlib.Path: "a path",
    }
    if cls in names:
        return names[cls]
    arguments = [arg for arg in typing.get_args(cls) if arg is not type(None)]
    if len(arguments) == 1 and type(None) in typing.get_args(cls):
        return f"{_type_name(arguments[0])} (optional)"
    return getattr(cls, "__name__", str(cls))
