"""``spine runs list|show|resume|retry|reap``: workflow run history and crash recovery.

Imports nothing heavy at module level (see ``spine_host.cli.workflows``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table
from spine_host.cli.workflows import emit_run
from spine_host.orchestration.records import RunStatus

if TYPE_CHECKING:
    from spine_host.orchestration.records import StepAttempt, WorkflowRun

__all__ = ["parse_duration", "parse_since", "runs_group"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@click.group("runs", cls=SpineCommandGroup)
def runs_group() -> None:
    """Workflow run history: list, inspect, resume, retry, reap crashed runs."""


@runs_group.command("list")
@click.option("--workflow", help="Only runs of this workflow.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in RunStatus], case_sensitive=False),
    help="Only runs in this status.",
)
@click.option("--since", help="Only runs started since: a duration (24h, 30m, 7d) or a date.")
@click.option("--limit", default=50, show_default=True, help="At most this many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(
    state: CliState,
    workflow: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Runs, newest first."""
    runs = _history(state).list_runs(
        workflow=workflow,
        status=status,  # click.Choice gives the canonical (upper-case) spelling
        since=parse_since(since) if since else None,
        limit=limit,
    )
    if as_json:
        emit_json([run.to_dict(with_steps=False) for run in runs])
        return
    rows = [
        (
            run.run_id,
            run.workflow,
            run.status.value,
            _time(run.started_at),
            _duration(run),
            f"{run.steps_completed}/{run.steps_total}",
            run.error_category,
        )
        for run in runs
    ]
    emit_table(
        ["RUN", "WORKFLOW", "STATUS", "STARTED", "DURATION", "STEPS", "ERROR"],
        rows,
        empty="no runs",
    )


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def show_command(state: CliState, run_id: str, as_json: bool) -> None:
    """One run: its status, params, error, and every attempt of every step."""
    run = _history(state).require_run(run_id)
    if as_json:
        emit_json(run.to_dict())
        return
    click.echo(f"run       {run.run_id}")
    click.echo(f"workflow  {run.workflow}")
    click.echo(f"status    {run.status.value}")
    click.echo(f"started   {_time(run.started_at)}  finished {_time(run.finished_at)}")
    click.echo(f"trigger   {run.triggered_by or '-'}  parent {run.parent_run_id or '-'}")
    click.echo(f"params    {run.params or '-'}")
    if run.error:
        click.echo(f"error     [{run.error_category}] {run.error.get('message')}")
    click.echo("")
    emit_table(
        ["STEP", "ATTEMPT", "STATUS", "STARTED", "DURATION", "ROWS IN/OUT/REJ", "ERROR"],
        [_attempt_row(attempt) for attempt in run.steps],
        empty="no steps recorded",
    )


@runs_group.command("resume")
@click.argument("run_id")
@click.option("--from", "from_step", help="Also re-run this step and everything after it.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_state
def resume_command(state: CliState, run_id: str, from_step: str | None, as_json: bool) -> None:
    """Finish a failed or crashed run in place; completed steps are not run again.

    Exit 2 when RUN_ID cannot be resumed (COMPLETED, or still RUNNING), before anything runs.
    """
    emit_run(_runner(state).resume(run_id, from_step=from_step), as_json=as_json)


@runs_group.command("retry")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_state
def retry_command(state: CliState, run_id: str, as_json: bool) -> None:
    """Run the workflow again with the same params, as a new run linked to RUN_ID."""
    emit_run(_runner(state).retry(run_id), as_json=as_json)


@runs_group.command("reap")
@click.option(
    "--stale-after",
    default="60s",
    show_default=True,
    help=(
        "Mark RUNNING runs CRASHED when their heartbeat is older than this; at least two "
        "heartbeat intervals (20s), or live runs would be reaped."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def reap_command(state: CliState, stale_after: str, as_json: bool) -> None:
    """Mark runs whose runner died (no heartbeat) CRASHED, and alert about them."""
    crashed = _runner(state, reap_on_start=False).reap(parse_duration(stale_after))
    if as_json:
        emit_json([run.to_dict(with_steps=False) for run in crashed])
        return
    for run in crashed:
        click.echo(
            f"CRASHED {run.run_id} {run.workflow} (last heartbeat {_time(run.heartbeat_at)})"
        )
    click.echo(f"{len(crashed)} run(s) marked CRASHED")


def parse_duration(text: str) -> float:
    """``"90s"``, ``"5m"``, ``"24h"``, ``"7d"``, ``"1w"``, ``"250ms"`` or bare seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration like 30s, 5m, 24h or 7d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A duration back from now (``24h``) or an ISO date/time (UTC when it has no zone)."""
    if _DURATION.match(text):
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration (24h) nor a date (2025-12-26T06:00)",
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _history(state: CliState) -> Any:
    from spine_host.orchestration.history import WorkflowHistoryRepository

    return WorkflowHistoryRepository(state.host().storage)


def _runner(state: CliState, **options: Any) -> Any:
    from spine_host.orchestration.runner import WorkflowRunner

    return WorkflowRunner(state.host(), **options)


def _attempt_row(attempt: StepAttempt) -> tuple[Any, ...]:
    counts = (attempt.rows_in, attempt.rows_out, attempt.rows_rejected)
    rows = "/".join("-" if value is None else str(value) for value in counts)
    error = None
    if attempt.error:
        error = f"[{attempt.error_category}] {attempt.error.get('message')}"
    return (
        attempt.step_name,
        attempt.attempt,
        attempt.status.value,
        _time(attempt.started_at),
        None if attempt.duration is None else f"{attempt.duration:.3g}s",
        rows,
        error,
    )


def _duration(run: WorkflowRun) -> str | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return f"{(run.finished_at - run.started_at).total_seconds():.3g}s"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")
