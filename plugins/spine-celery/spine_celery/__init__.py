"""spine-celery: the ``celery`` executor for spine-host, and ``spine worker``.

Workflow steps go to Celery workers (a Redis or RabbitMQ broker) by reference; each worker
builds its spine host from the same ``spine.toml`` and plugins, claims and heartbeats the
attempt, and records it in the same database, fenced exactly as a local attempt is.

This entry module imports only the standard library and spine_host: the executor is
registered lazily (its module loads when a run uses it), Celery is imported when the executor
first connects or a worker starts, and ``spine worker``'s options are plain click, so every
``spine`` command (``--help`` included) starts fast with the plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host import hookimpl

if TYPE_CHECKING:
    import click

    from spine_celery.executor import CeleryExecutor
    from spine_host.orchestration.contracts import Executor
    from spine_host.registry import Register

__all__ = ["CeleryExecutor", "spine_register_commands", "spine_register_executors"]


def __getattr__(name: str) -> Any:
    """``CeleryExecutor``, imported from :mod:`spine_celery.executor` on first use."""
    if name != "CeleryExecutor":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from spine_celery.executor import CeleryExecutor

    return CeleryExecutor


@hookimpl
def spine_register_executors(register: Register[type[Executor]]) -> None:
    """Provide the ``celery`` executor."""
    register.lazy("celery", "spine_celery.executor:CeleryExecutor")


@hookimpl
def spine_register_commands(cli: click.Group) -> None:
    """Provide ``spine worker``."""
    from spine_celery.command import worker_command

    cli.add_command(worker_command)
