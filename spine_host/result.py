"""``Ok`` / ``Err``: what sources and channels return instead of raising for expected failures.

>>> Ok(2).map(lambda x: x * 10).unwrap()
20
>>> Err(SpineError("gone", category=ErrorCategory.NOT_FOUND)).unwrap_or(0)
0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, NoReturn, TypeVar

import attrs

from spine_host.errors import SpineError

__all__ = ["Err", "Ok", "Result", "collect", "partition"]

T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E", bound=SpineError)
F = TypeVar("F", bound=SpineError)


@attrs.frozen
class Ok(Generic[T]):
    """A success holding ``value``."""

    value: T

    @property
    def ok(self) -> bool:
        """Always True."""
        return True

    def map(self, fn: Callable[[T], U]) -> Ok[U]:
        """Apply ``fn`` to the value."""
        return Ok(fn(self.value))

    def and_then(self, fn: Callable[[T], Result[U, Any]]) -> Result[U, Any]:
        """Chain a step that itself returns a result."""
        return fn(self.value)

    def map_err(self, fn: Callable[[Any], Any]) -> Ok[T]:
        """Nothing to map: return self."""
        return self

    def unwrap(self) -> T:
        """Return the value."""
        return self.value

    def unwrap_or(self, default: object) -> T:
        """Return the value (the default is for ``Err``)."""
        return self.value


@attrs.frozen
class Err(Generic[E]):
    """A failure holding a classified ``error``."""

    error: E

    @property
    def ok(self) -> bool:
        """Always False."""
        return False

    def map(self, fn: Callable[[Any], Any]) -> Err[E]:
        """Nothing to map: return self."""
        return self

    def and_then(self, fn: Callable[[Any], Any]) -> Err[E]:
        """Short-circuit: return self."""
        return self

    def map_err(self, fn: Callable[[E], F]) -> Err[F]:
        """Transform the error, for example to add context."""
        return Err(fn(self.error))

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error

    def unwrap_or(self, default: U) -> U:
        """Return ``default``."""
        return default


Result = Ok[T] | Err[E]


def collect(results: Iterable[Result[T, E]]) -> Result[list[T], E]:
    """All values if every result is ``Ok``, else the first ``Err``."""
    values: list[T] = []
    for result in results:
        if isinstance(result, Err):
            return result
        values.append(result.value)
    return Ok(values)


def partition(results: Iterable[Result[T, E]]) -> tuple[list[T], list[E]]:
    """Split results into (values, errors), keeping order within each."""
    values: list[T] = []
    errors: list[E] = []
    for result in results:
        if isinstance(result, Ok):
            values.append(result.value)
        else:
            errors.append(result.error)
    return values, errors
