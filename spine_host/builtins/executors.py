"""Builtin executors: ``local``, a pool of daemon threads in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host.plugins import hookimpl

if TYPE_CHECKING:
    from spine_host.orchestration.contracts import Executor
    from spine_host.registry import Register


@hookimpl
def spine_register_executors(register: Register[type[Executor]]) -> None:
    """Provide the ``local`` executor (the default of every workflow)."""
    register.lazy("local", "spine_host.orchestration.executors:LocalExecutor")
