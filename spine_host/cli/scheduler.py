"""``spine scheduler run``: the scheduler service in the foreground, until SIGTERM or Ctrl-C.

Any number of these may run against one PostgreSQL database (on one machine or several): each
fire is claimed in ``schedule_runs`` by exactly one of them. On SIGTERM or SIGINT the process
stops claiming, lets the runs it started finish within ``--grace`` and exits 0; fires still
waiting (an overlap queue, ``after``) are recorded SKIPPED with the reason. Runs still going
after the grace period are left to the reaper (their process is gone: CRASHED) and the exit
code is 1.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import format_time

if TYPE_CHECKING:
    from spine_host.orchestration.schedule_fire import Fire

__all__ = ["scheduler_group"]


@click.group("scheduler", cls=SpineCommandGroup)
def scheduler_group() -> None:
    """Run the scheduler service that fires schedules."""


@scheduler_group.command("run")
@click.option(
    "--max-workers",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Fires carried at once; more wait, claimed, for a free worker.",
)
@click.option(
    "--grace",
    default="60s",
    show_default=True,
    help="On SIGTERM/Ctrl-C, how long running fires may take to finish (e.g. 30s, 5m).",
)
@click.option(
    "--heartbeat-interval",
    default="10s",
    show_default=True,
    help="How often this replica says it is alive, for its fires and the runs it drives.",
)
@click.option(
    "--stale-after",
    default="60s",
    show_default=True,
    help="Silence after which another replica reaps a run (resuming it when its workflow "
    "says resume_on_crash) and a remote worker's attempt counts as CRASHED.",
)
@pass_state
def run_command(
    state: CliState, max_workers: int, grace: str, heartbeat_interval: str, stale_after: str
) -> None:
    """Fire every enabled schedule on time, in the foreground, until SIGTERM or Ctrl-C.

    Start several (here or on other machines) against one PostgreSQL database for high
    availability: each nominal fire time runs exactly once. Prints one line per fire outcome.
    """
    from spine_host.orchestration.heartbeat import stale_after_problem
    from spine_host.orchestration.schedule import parse_duration
    from spine_host.orchestration.scheduler import SchedulerService
    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema

    seconds: dict[str, float] = {}
    for hint, text in (
        ("--grace", grace),
        ("--heartbeat-interval", heartbeat_interval),
        ("--stale-after", stale_after),
    ):
        try:
            seconds[hint] = parse_duration(text) or 0.0
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from None
    problem = stale_after_problem(seconds["--stale-after"], seconds["--heartbeat-interval"])
    if problem is not None:
        raise click.BadParameter(problem, param_hint="--stale-after")
    grace_seconds = seconds["--grace"]
    host = state.host()
    require_tables(host.storage, [schema.schedules, schema.schedule_runs, schema.workflow_runs])
    service = SchedulerService(
        host,
        max_workers=max_workers,
        observer=_print_fire,
        heartbeat_interval=seconds["--heartbeat-interval"],
        stale_after=seconds["--stale-after"],
    )
    schedules = service.list_schedules()
    if not schedules:
        raise click.UsageError(
            "no schedules to fire: register one in a plugin (spine_register_schedules) or add "
            "[schedules.NAME] to spine.toml"
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    enabled = [schedule for schedule in schedules if schedule.enabled]
    upcoming = service.get_next_runs(1)
    following = (
        f"; next: {upcoming[0][0]} at {format_time(upcoming[0][1], with_zone=True)}"
        if upcoming
        else ""
    )
    click.echo(
        f"scheduler {service.owner}: firing {len(enabled)} of {len(schedules)} schedule(s)"
        f"{following}. Stop with Ctrl-C or SIGTERM.",
        err=True,
    )
    while not stop.wait(3600):
        pass
    click.echo("stopping: no new fires; waiting for running ones to finish", err=True)
    finished = service.stop(grace=grace_seconds)
    if not finished:
        click.echo(
            f"error: runs still going after --grace {grace}; they will be marked CRASHED by "
            "the reaper (spine runs reap, or any scheduler replica)",
            err=True,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # worker threads are not daemons: do not wait for them
    click.echo("scheduler stopped", err=True)


def _print_fire(fire: Fire) -> None:
    parts: list[Any] = [
        format_time(fire.finished_at or fire.started_at or fire.claimed_at, with_zone=True),
        fire.schedule_name,
        f"for {format_time(fire.nominal_time, with_zone=True)}",
        fire.status.value,
    ]
    if fire.fired_by != "schedule":
        parts.append(f"({fire.fired_by})")
    if fire.target_id:
        parts.append(f"{'run' if fire.run_id else 'execution'} {fire.target_id}")
    if fire.reason:
        parts.append(f"- {fire.reason}")
    click.echo("  ".join(str(part) for part in parts))
