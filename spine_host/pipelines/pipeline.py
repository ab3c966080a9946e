"""The contract of a registered pipeline (DESIGN §9)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Pipeline"]


@runtime_checkable
class Pipeline(Protocol):
    """A named unit of work with typed parameters.

    ``run(context, params)`` does the work and returns a JSON-safe result; ``params`` is an
    instance of ``Params`` (an attrs class) structured from the caller's values.

    Optional attributes the dispatcher reads when present (``@register_pipeline`` sets them):
    ``description``, ``domain``, ``stage``, ``stages``, ``partition`` and ``retry_policy``; see
    :class:`spine_host.pipelines.registration.FunctionPipeline`.
    """

    # Read-only properties, so frozen value objects (FunctionPipeline) satisfy the protocol
    # as well as classes with plain attributes do.
    @property
    def name(self) -> str:
        """The registered name, ``domain.name``."""

    @property
    def Params(self) -> type[Any] | None:
        """The attrs class of the parameters; None when the pipeline takes none."""

    def run(self, context: Any, params: Any) -> Any:
        """Do the work for one execution."""
