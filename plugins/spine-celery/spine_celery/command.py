"""``spine worker``: a Celery worker that runs spine's workflow steps.

This module is imported whenever ``spine`` lists its commands (``spine --help``), so it holds
only the command's options; Celery and the worker itself load when the command runs
(:mod:`spine_celery.worker`).
"""

from __future__ import annotations

import click

from spine_host.cli.context import CliState, pass_state

__all__ = ["POOLS", "worker_command"]

#: Pools ``--pool`` accepts: processes (the default), one task at a time, or threads.
POOLS = ("prefork", "solo", "threads")


@click.command("worker")
@click.option(
    "-Q",
    "--queues",
    metavar="NAME[,NAME...]",
    help="Queues to serve, comma-separated (default: [executors.celery] queue, 'spine').",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    help="Steps run at once (prefork, threads); default: the number of CPUs. solo runs one.",
)
@click.option(
    "-P",
    "--pool",
    type=click.Choice(POOLS),
    default="prefork",
    show_default=True,
    help="prefork: a process per concurrent step (isolated, uses every core); solo: the "
    "worker process runs one step at a time; threads: steps share one process.",
)
@click.option(
    "-l",
    "--loglevel",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Log level of the worker's own log.",
)
@pass_state
def worker_command(
    state: CliState, queues: str | None, concurrency: int | None, pool: str, loglevel: str
) -> None:
    """Run a Celery worker for spine's workflow steps (plugins and database from spine.toml).

    Runners send steps of workflows with executor "celery" (or --executor celery) to the
    broker of [executors.celery]; this worker runs them with the same plugins and records them
    in the same database. Exits 1 when the broker cannot be reached.
    """
    from spine_celery.worker import WorkerOptions, run_worker

    options = WorkerOptions(
        queues=_queue_list(queues), concurrency=concurrency, pool=pool, loglevel=loglevel.upper()
    )
    exit_code = run_worker(state.host(), options)
    if exit_code:
        click.get_current_context().exit(exit_code)


def _queue_list(queues: str | None) -> tuple[str, ...]:
    if queues is None:
        return ()
    names = tuple(name.strip() for name in queues.split(",") if name.strip())
    if not names:
        raise click.BadParameter("name at least one queue", param_hint="--queues")
    return names
