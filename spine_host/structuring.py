"""Turning plain data (TOML tables, CLI strings) into attrs classes, with errors people can act on.

cattrs does the structuring; this module makes it strict (a TOML string is not silently an
int) and turns its nested exception groups into one message per problem that names the dotted
path, the value found and what was expected::

    alerts.channels.ops.min_severity = 'FATAL': expected one of INFO, WARNING, ERROR, CRITICAL
"""

from __future__ import annotations

import enum
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from spine_host.errors import ConfigError
from spine_host.redaction import Redactor
from spine_host.severity import Severity

__all__ = ["config_converter", "structure"]

T = TypeVar("T")
_MISSING = object()


def config_converter() -> cattrs.Converter:
    """A converter for configuration files: strict scalar types, no unknown keys."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(str, _exact(str))
    converter.register_structure_hook(bool, _exact(bool))
    converter.register_structure_hook(int, _integer)
    converter.register_structure_hook(float, _number)
    # Hooks dispatch on the class's MRO, where StrEnum lists `str` before `Enum` (IntEnum: `int`):
    # register the enum bases explicitly so enum fields are never taken for plain strings.
    for enum_base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        converter.register_structure_hook(enum_base, _enum)
    converter.register_structure_hook(Severity, lambda value, _: Severity.parse(value))
    # cattrs builds a list from any iterable, so "db2" would become ["d", "b", "2"]: a string
    # where a list is expected is an error instead.
    converter.register_structure_hook_func(_is_sequence_type, _sequence(converter))
    return converter


def _is_sequence_type(cls: Any) -> bool:
    return typing.get_origin(cls) in (list, tuple, set, frozenset) or cls in (list, tuple)


def _sequence(converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    def structure_sequence(value: Any, cls: Any) -> Any:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            shown = "a string" if isinstance(value, str | bytes) else type(value).__name__
            hint = f"; write {json.dumps([value])}" if isinstance(value, str) else ""
            raise ValueError(f"expected a list, got {shown} {value!r}{hint}")
        origin = typing.get_origin(cls) or cls
        args = typing.get_args(cls)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],)
        if origin is tuple and len(args) > 1:
            return tuple(
                converter.structure(item, kind) for item, kind in zip(value, args, strict=True)
            )
        item_type = args[0] if args else Any
        items, errors = [], []
        for index, item in enumerate(value):
            try:
                items.append(converter.structure(item, item_type))
            except Exception as exc:  # reported with its index, as cattrs itself does
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring {cls} @ index {index}", index, item_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {cls!r}", errors, cls)
        return items if origin is list else origin(items)

    return structure_sequence


def structure(
    data: Any,
    cls: type[T],
    path: str,
    converter: cattrs.Converter | None = None,
    *,
    error: Callable[[str], Exception] = ConfigError,
) -> T:
    """Structure ``data`` into ``cls``; on failure raise ``error`` naming each bad path.

    Args:
        data: the raw value (a TOML table, a dict of strings).
        cls: the attrs class (or any type cattrs knows) to build.
        path: the dotted location of ``data``, used as the prefix of every message.
        converter: defaults to :func:`config_converter`.
        error: builds the exception from the message; ``ConfigError`` by default.
    """
    converter = converter or config_converter()
    try:
        return converter.structure(data, cls)
    except (BaseValidationError, ValueError, TypeError, KeyError) as exc:
        problems = [_describe(data, cls, path, segments, leaf) for segments, leaf in _leaves(exc)]
        raise error("; ".join(problems)) from exc


def _leaves(
    exc: BaseException, segments: tuple[Any, ...] = ()
) -> list[tuple[tuple[Any, ...], BaseException]]:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without_notes = exc.group_exceptions()
        found: list[tuple[tuple[Any, ...], BaseException]] = []
        for inner, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                found += _leaves(inner, (*segments, note.name))
            elif isinstance(note, IterableValidationNote):
                found += _leaves(inner, (*segments, note.index))
            else:
                found += _leaves(inner, segments)
        for inner in without_notes:
            found += _leaves(inner, segments)
        return found
    return [(segments, exc)]


def _describe(
    data: Any, cls: type[Any], path: str, segments: tuple[Any, ...], exc: BaseException
) -> str:
    where = _join(path, segments)
    if isinstance(exc, ForbiddenExtraKeysError):
        allowed = _field_names(exc.cl)
        unknown = ", ".join(repr(key) for key in sorted(exc.extra_fields))
        return f"{where or 'top level'}: unknown key {unknown}; allowed keys: {allowed}"
    if isinstance(exc, KeyError):
        return f"{where}: required but missing"
    table = _lookup(data, segments)
    named = _NAMED_MESSAGE.match(str(exc)) if len(exc.args) == 1 else None
    if named and isinstance(table, Mapping) and named["field"] in table:
        # A validator that says "encoding: unknown encoding ..." names its key itself.
        segments = (*segments, *named["path"].split("."))
        value = _lookup(data, segments)
        shown = "" if value is _MISSING else f" = {Redactor().redact_data(value, segments[-1])!r}"
        return f"{_join(path, segments)}{shown}: {named['reason']}"
    field = _validated_field(exc, table)
    if field is not None:
        # An attrs validator failed: point at the field it checked, not at the whole table.
        segments = (*segments, field)
        where = _join(path, segments)
    value = _lookup(data, segments)
    # A whole table can be shown here (a validator over several fields): mask its credentials.
    key = str(segments[-1]) if segments else ""
    shown = "" if value is _MISSING else f" = {Redactor().redact_data(value, key)!r}"
    reason = str(exc)
    if len(exc.args) >= 2 and isinstance(exc.args[1], attrs.Attribute):
        reason = str(exc.args[0])  # attrs validators pass (message, attribute, ...)
    if isinstance(exc, ValueError) and reason.startswith(repr(value)) and " is not " in reason:
        # Our hooks say "'X' is not a severity; expected ..."; keep only the expectation.
        reason = reason.split("; ", 1)[-1]
    return f"{where}{shown}: {reason}"


def _validated_field(exc: BaseException, table: Any) -> str | None:
    """The field an attrs validator complained about, when the table has it."""
    if len(exc.args) >= 2 and isinstance(exc.args[1], attrs.Attribute):
        name: str = exc.args[1].name
        return name
    # attrs' own validators say "'field' must be ..." with the message as the only argument.
    match = _VALIDATOR_MESSAGE.match(str(exc))
    if match and isinstance(table, Mapping) and match["field"] in table:
        return match["field"]
    return None


_VALIDATOR_MESSAGE = re.compile(r"^'(?P<field>[A-Za-z_]\w*)' must ")
_NAMED_MESSAGE = re.compile(
    r"^(?P<path>(?P<field>[A-Za-z_]\w*)(?:\.[\w-]+)*): (?P<reason>.+)$", re.DOTALL
)


def _join(path: str, segments: tuple[Any, ...]) -> str:
    parts = [path] if path else []
    for segment in segments:
        parts.append(f"[{segment}]" if isinstance(segment, int) else str(segment))
    return ".".join(parts).replace(".[", "[")


def _lookup(data: Any, segments: tuple[Any, ...]) -> Any:
    for segment in segments:
        if (isinstance(data, Mapping) and segment in data) or (
            isinstance(data, list | tuple) and isinstance(segment, int) and segment < len(data)
        ):
            data = data[segment]
        else:
            return _MISSING
    return data


def _field_names(cls: type[Any]) -> str:
    if attrs.has(cls):
        return ", ".join(field.name for field in attrs.fields(cls))
    return "none"


def _exact(kind: type[T]) -> Callable[[Any, Any], T]:
    def hook(value: Any, _: Any) -> T:
        if type(value) is not kind:
            raise TypeError(f"expected {_KIND_NAMES[kind]}, got {_kind_of(value)}")
        return value

    return hook


def _integer(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {_kind_of(value)}")
    return value


def _number(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_kind_of(value)}")
    return float(value)


def _enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    for member in cls:
        if value == member.value or (isinstance(value, str) and value.upper() == member.name):
            return member
    allowed = ", ".join(str(member.value) for member in cls)
    raise ValueError(f"{value!r} is not a valid {cls.__name__}; expected one of {allowed}")


_KIND_NAMES: dict[type[Any], str] = {str: "a string", bool: "true or false"}


def _kind_of(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names.update({list: "an array", dict: "a table"})
    return names.get(type(value), type(value).__name__)
