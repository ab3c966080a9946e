"""Starting a Celery worker for spine: what ``spine worker`` runs once its options are read.

The worker is built from the CLI's host: its ``[executors.celery]`` table (the broker, the
result backend, the default queue) and its ``spine.toml``, which every pool process builds its
own spine host from, so steps run with the runners' plugins and database. Before starting, it
reaches the broker, the result backend and the database once: one that does not answer is an
error naming it (password masked), exit 1, instead of a worker retrying in the background.

Why ``prefork`` is the default pool: a step is arbitrary pipeline code, often CPU-bound
(parsing, Arrow); processes use every core, and a step that crashes or leaks takes down only
its pool process (Celery replaces it, and spine's attempt heartbeat notices the lost step).
``solo`` runs one step at a time in the worker process itself (the simplest to reason about:
killing the worker kills its step); ``threads`` shares one process and one host between steps,
as the local executor does.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

import attrs
import click

from spine_celery.app import TASK_NAME, celery_app, check_broker, check_result_backend
from spine_celery.executor import CeleryExecutor
from spine_host.errors import ConfigError, SpineError
from spine_host.redaction import redact_url

if TYPE_CHECKING:
    from spine_celery.config import CeleryConfig
    from spine_celery.task import RunAttempt
    from spine_host.host import Host

__all__ = ["WorkerOptions", "run_worker"]

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class WorkerOptions:
    """How to run the worker.

    Args:
        queues: the queues to serve; empty: the configured default queue.
        concurrency: steps at once; None: Celery's default (the number of CPUs).
        pool: ``prefork``, ``solo`` or ``threads``.
        loglevel: the worker's log level.
        executor: the ``[executors.NAME]`` table to read.
    """

    queues: tuple[str, ...] = ()
    concurrency: int | None = None
    pool: str = "prefork"
    loglevel: str = "INFO"
    executor: str = "celery"


def run_worker(host: Host, options: WorkerOptions) -> int:
    """Check the broker, say what is served, run the worker until it is stopped; its exit code.

    Raises a SpineError (DEPENDENCY) naming the broker, the result backend or the database
    that does not answer.
    """
    config = _celery_config(host, options.executor)
    spine_config = str(host.config.path.resolve()) if host.config.path else None
    app = celery_app(config, worker=True, spine_config=spine_config)
    check_broker(app, config)
    check_result_backend(app, config)
    storage = _check_storage(host)
    queues = options.queues or (config.queue,)
    concurrency = 1 if options.pool == "solo" else options.concurrency or os.cpu_count() or 1
    node = f"spine.{os.getpid()}@{socket.gethostname()}"
    click.echo(f"spine worker {node}")
    click.echo(f"  broker:         {config.broker_label}")
    click.echo(f"  result backend: {config.backend_label}")
    click.echo(f"  queues:         {', '.join(queues)}")
    click.echo(f"  pool:           {options.pool}, concurrency {concurrency}")
    click.echo(f"  config:         {spine_config or 'none found (defaults)'}")
    click.echo(f"  storage:        {storage}")
    task: RunAttempt = app.tasks[TASK_NAME]
    _prepare_hosts(task, options.pool)
    # The host the CLI built was for reading the configuration: closed before pool processes
    # fork (they build their own), so none of them shares its database connections.
    host.close()
    worker = app.Worker(
        hostname=node,
        queues=list(queues),
        concurrency=concurrency,
        pool=options.pool,
        loglevel=options.loglevel,
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    return int(worker.exitcode or 0)


def _celery_config(host: Host, name: str) -> CeleryConfig:
    """``[executors.NAME]``, structured (and checked) as a run would."""
    executor = host.executor(name)
    executor.shutdown(wait=False)
    if not isinstance(executor, CeleryExecutor):
        raise ConfigError(f"executor {name!r} is a {type(executor).__name__}, not spine-celery's")
    return executor.config


def _check_storage(host: Host) -> str:
    """Reach spine's database once (the runners' too: the worker records attempts there)."""
    url = redact_url(host.config.storage.url)
    try:
        host.storage.query("SELECT 1 AS ok")
    except Exception as exc:
        error = host.classify(exc)
        raise SpineError(
            f"the worker cannot reach spine's database {url}: {error.message}",
            category=error.category,
        ) from None
    return url


def _prepare_hosts(task: RunAttempt, pool: str) -> None:
    """Build spine hosts before the first step (in each pool process, or here) and close them
    when their process stops."""
    from celery import signals  # type: ignore[import-untyped]

    def close(**_: object) -> None:
        task.worker_host.close()

    if pool != "prefork":
        task.worker_host.get()
        signals.worker_shutdown.connect(close, weak=False)
        return

    def build(**_: object) -> None:
        try:
            task.worker_host.get()
        except Exception:  # the first step reports it, as a FAILED attempt saying why
            log.exception("could not build the spine host")

    signals.worker_process_init.connect(build, weak=False)
    signals.worker_process_shutdown.connect(close, weak=False)
