"""Ok / Err envelopes."""

from __future__ import annotations

import pytest

from spine_host import Err, ErrorCategory, Ok, SpineError
from spine_host.result import collect, partition

GONE = SpineError("gone", category=ErrorCategory.NOT_FOUND)


def test_ok_maps_and_chains() -> None:
    assert Ok(2).map(lambda x: x * 10).unwrap() == 20
    assert Ok(2).and_then(lambda x: Ok(x + 1)).unwrap() == 3
    assert Ok(2).and_then(lambda x: Err(GONE)).ok is False
    assert Ok(2).unwrap_or(0) == 2


def test_err_short_circuits_and_unwrap_raises_the_error() -> None:
    failed = Err(GONE)
    assert failed.map(lambda x: x * 10) is failed
    assert failed.and_then(lambda x: Ok(x)) is failed
    assert failed.unwrap_or(0) == 0
    with pytest.raises(SpineError, match="gone"):
        failed.unwrap()


def test_map_err_adds_context() -> None:
    wrapped = Err(GONE).map_err(lambda e: SpineError(f"prices: {e.message}", category=e.category))
    assert wrapped.error.message == "prices: gone"
    assert wrapped.error.category is ErrorCategory.NOT_FOUND


def test_collect_and_partition() -> None:
    assert collect([Ok(1), Ok(2)]).unwrap() == [1, 2]
    assert collect([Ok(1), Err(GONE), Ok(3)]).ok is False
    values, errors = partition([Ok(1), Err(GONE), Ok(3)])
    assert values == [1, 3]
    assert errors == [GONE]


def test_results_are_frozen_values() -> None:
    assert Ok(1) == Ok(1)
    with pytest.raises(AttributeError):
        Ok(1).value = 2  # type: ignore[misc]
