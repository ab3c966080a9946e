"""The contract of a registered pipeline (DESIGN §9)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Pipeline"]


@runtime_checkable
class Pipeline(Protocol):
    """A named unit of work with typed parameters.

    ``run(context, params)`` does the work and returns a JSON-safe result; ``params`` is an
    instance of ``Params`` (an attrs class) structured from the caller's values.
    """

    name: str
    Params: type[Any] | None

    def run(self, context: Any, params: Any) -> Any:
        """Do the work for one execution."""
