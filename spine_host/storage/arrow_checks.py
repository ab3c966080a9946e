"""Whether an Arrow array's values fit a column, judged once per array from its Arrow type.

The Arrow type settles most of it: an int32 array fits an INTEGER column whatever its values, a
string array never fits one (see :mod:`spine_host.storage.value_checks` for what each declared
type accepts). Where the type alone does not settle it (int64 values for an INTEGER, strings for
a VARCHAR(n), decimals for a NUMERIC(p, s), ints for a BOOLEAN), one vectorised pass with
``pyarrow.compute`` decides; only an array that fails it is converted to Python values, to find
the first misfit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host.storage.value_checks import (
    BooleanCheck,
    ColumnCheck,
    DateTimeCheck,
    IntegerCheck,
    NumberCheck,
    TextCheck,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_kind", "first_arrow_misfit"]


def first_arrow_misfit(check: ColumnCheck, array: pa.Array) -> int | None:
    """The index of the first value of ``array`` that does not fit the column, or None."""
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if array.null_count == len(array):
        return None
    kind = arrow_kind(array.type)
    if kind not in check.arrow_kinds:
        return _first_present(array)  # every value is of a type the column does not hold
    if isinstance(check, DateTimeCheck) and not check.naive_is_utc and array.type.tz is None:
        return _first_present(array)
    if not _maybe_out_of_bounds(check, array, kind):
        return None
    return check.first_misfit(array.to_pylist())


def arrow_kind(arrow_type: pa.DataType) -> str:
    """The family of an Arrow type, as the checks name them: ``int``, ``str``, ``timestamp``..."""
    import pyarrow as pa

    types = pa.types
    families = (
        ("null", types.is_null),
        ("bool", types.is_boolean),
        ("int", types.is_integer),
        ("float", types.is_floating),
        ("decimal", types.is_decimal),
        ("str", _any_of(types.is_string, types.is_large_string, types.is_string_view)),
        (
            "bytes",
            _any_of(
                types.is_binary,
                types.is_large_binary,
                types.is_fixed_size_binary,
                types.is_binary_view,
            ),
        ),
        ("timestamp", types.is_timestamp),
        ("date", types.is_date),
        ("time", types.is_time),
        (
            "list",
            _any_of(
                types.is_list,
                types.is_large_list,
                types.is_fixed_size_list,
                types.is_list_view,
                types.is_large_list_view,
            ),
        ),
        ("dict", _any_of(types.is_struct, types.is_map)),
    )
    for family, test in families:
        if test(arrow_type):
            return family
    return "other"


def _maybe_out_of_bounds(check: ColumnCheck, array: pa.Array, kind: str) -> bool:
    """Whether some value of an array of a fitting type may still be out of the column's bounds."""
    import pyarrow.compute as pc

    if isinstance(check, IntegerCheck) and kind == "int":
        type_low, type_high = _integer_range(array.type)
        if check.low <= type_low and type_high <= check.high:
            return False  # int32 values always fit an INTEGER
        low, high = _min_max(array)
        return bool(low < check.low or high > check.high)
    if isinstance(check, BooleanCheck) and kind == "int":
        low, high = _min_max(array)
        return bool(low < 0 or high > 1)
    if isinstance(check, TextCheck) and check.length is not None:
        longest = pc.max(pc.utf8_length(array)).as_py()
        return bool(longest is not None and longest > check.length)
    if isinstance(check, NumberCheck) and check.limit is not None:
        low, high = _min_max(array)  # NaN is left out, and fits NUMERIC
        return bool(max(abs(low), abs(high)) >= check.limit)
    return False


def _integer_range(arrow_type: pa.DataType) -> tuple[int, int]:
    import pyarrow as pa

    bits = arrow_type.bit_width
    if pa.types.is_unsigned_integer(arrow_type):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _min_max(array: pa.Array) -> tuple[Any, Any]:
    import pyarrow.compute as pc

    result = pc.min_max(array)
    return result["min"].as_py(), result["max"].as_py()


def _first_present(array: pa.Array) -> int:
    import pyarrow.compute as pc

    index: int = pc.index(array.is_valid(), True).as_py()
    return index


def _any_of(*tests: Any) -> Any:
    return lambda arrow_type: any(test(arrow_type) for test in tests)
