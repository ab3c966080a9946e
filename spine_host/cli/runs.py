"""``spine runs list|show|resume|retry|reap``: workflow run history and crash recovery.

Imports nothing heavy at module level (see ``spine_host.cli.workflows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import (
    emit_json,
    emit_table,
    format_duration,
    format_params,
    format_time,
)
from spine_host.cli.run_ids import resolve_run_id
from spine_host.cli.run_steps import (
    STEP_HEADERS,
    error_text,
    not_started,
    step_rows,
    worker_label,
)
from spine_host.cli.times import parse_duration, parse_since
from spine_host.cli.workflows import emit_run
from spine_host.orchestration.records import RunStatus
from spine_host.printable import quoted

if TYPE_CHECKING:
    from spine_host.orchestration.records import WorkflowRun

__all__ = ["parse_duration", "parse_since", "runs_group"]


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
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many runs.",
)
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
    since_at = parse_since(since) if since else None  # a bad value is a usage error first
    history = _run_listing(state)
    if workflow is not None:
        _check_workflow_known(state, history, workflow)
    runs = history.list_runs(
        workflow=workflow,
        status=status,  # click.Choice gives the canonical (upper-case) spelling
        since=since_at,
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
            format_time(run.started_at),
            _duration(run),
            _steps_done(run),
            run.error_category,
        )
        for run in runs
    ]
    emit_table(
        ["RUN", "WORKFLOW", "STATUS", "STARTED (UTC)", "DURATION", "STEPS", "ERROR"],
        rows,
        empty=_no_runs(state, workflow, status, since),
    )


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def show_command(state: CliState, run_id: str, as_json: bool) -> None:
    """One run: its status, params, error, every attempt of every step, and steps not started.

    RUN_ID may be the first 6 or more characters of an id, as long as only one id starts so.
    """
    run = _existing_run(state, run_id)
    order = _step_order(state, run.workflow)
    if as_json:
        data = run.to_dict()
        data["steps_not_started"] = not_started(run, order)
        emit_json(data)
        return
    started = format_time(run.started_at, with_zone=True) or "-"
    finished = format_time(run.finished_at, with_zone=True) or "-"
    click.echo(f"run       {run.run_id}")
    click.echo(f"workflow  {run.workflow}")
    click.echo(f"status    {run.status.value}")
    click.echo(f"started   {started}  finished {finished}  ({_duration(run) or '-'})")
    click.echo(f"trigger   {run.triggered_by or '-'}  parent {run.parent_run_id or '-'}")
    click.echo(f"params    {format_params(run.params) or '-'}")
    click.echo(
        f"steps     {run.steps_completed} completed, {run.steps_skipped} skipped, "
        f"{run.steps_failed} failed, of {run.steps_total}"
    )
    if run.error:
        click.echo(f"error     {error_text(run.error_category, run.error)}")
    click.echo("")
    headers, rows = list(STEP_HEADERS), step_rows(run, order)
    if any(attempt.worker for attempt in run.steps):  # a remote executor ran them: where
        headers.insert(-1, "WORKER")
        workers = [worker_label(attempt.worker) for attempt in run.steps]
        workers += [None] * (len(rows) - len(workers))  # steps never started
        rows = [(*row[:-1], worker, row[-1]) for row, worker in zip(rows, workers, strict=True)]
    emit_table(headers, rows, empty="no steps recorded")


@runs_group.command("resume")
@click.argument("run_id")
@click.option("--from", "from_step", help="Also re-run this step and everything after it.")
@click.option("--executor", metavar="NAME", help="Run the steps on this registered executor.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_state
def resume_command(
    state: CliState, run_id: str, from_step: str | None, executor: str | None, as_json: bool
) -> None:
    """Finish a failed or crashed run in place; completed steps are not run again.

    RUN_ID may be a unique prefix of 6 or more characters. Exit 2 when RUN_ID cannot be resumed
    (unknown, ambiguous, COMPLETED, or still RUNNING), before anything runs.
    """
    run = _runner(state).resume(
        _existing_run(state, run_id).run_id, from_step=from_step, executor=executor
    )
    emit_run(run, as_json=as_json, order=_step_order(state, run.workflow))


@runs_group.command("retry")
@click.argument("run_id")
@click.option("--executor", metavar="NAME", help="Run the steps on this registered executor.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_state
def retry_command(state: CliState, run_id: str, executor: str | None, as_json: bool) -> None:
    """Run the workflow again with the same params, as a new run linked to RUN_ID.

    RUN_ID may be a unique prefix of 6 or more characters.
    """
    run = _runner(state).retry(_existing_run(state, run_id).run_id, executor=executor)
    emit_run(run, as_json=as_json, order=_step_order(state, run.workflow))


def _existing_run(state: CliState, text: str) -> WorkflowRun:
    """The run ``text`` names (a whole id or a unique prefix); otherwise a usage error (exit 2)."""
    history = _history(state)
    run_id = resolve_run_id(state, text)
    run: WorkflowRun | None = history.get_run(run_id)
    if run is None:  # deleted between the two queries
        raise click.BadParameter(f"no workflow run {quoted(text)}", param_hint="RUN_ID")
    return run


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
    """Mark workflow runs and pipeline executions whose process died CRASHED.

    A run or execution is reaped when its process is gone from this host, or its heartbeat is
    older than --stale-after (on SQLite, only if its process is not alive here). Each one
    reaped raises one CRASHED alert, whichever process reaps it.
    """
    _history(state)  # the tables must exist (and a missing SQLite file is not created)
    runner = _runner(state, reap_on_start=False)
    limit = parse_duration(stale_after)
    crashed = runner.reap(limit)
    executions = runner.reap_executions(limit)
    if as_json:
        emit_json(
            [{"kind": "workflow_run", **run.to_dict(with_steps=False)} for run in crashed]
            + [{"kind": "execution", **execution.to_dict()} for execution in executions]
        )
        return
    for run in crashed:
        click.echo(
            f"CRASHED run {run.run_id} {run.workflow} "
            f"(last heartbeat {format_time(run.heartbeat_at, with_zone=True) or '-'})"
        )
    for execution in executions:
        click.echo(
            f"CRASHED execution {execution.execution_id} {execution.pipeline} "
            f"(last heartbeat {format_time(execution.heartbeat_at, with_zone=True) or '-'})"
        )
    click.echo(f"{len(crashed)} run(s) and {len(executions)} execution(s) marked CRASHED")


def _check_workflow_known(state: CliState, history: Any, workflow: str) -> None:
    """A workflow that is neither registered nor in the history is a usage error (exit 2).

    One removed from its plugin still lists the runs it left.
    """
    registered = state.host().registries.workflows
    if workflow in registered or history.list_runs(workflow=workflow, limit=1):
        return
    raise click.BadParameter(
        f"unknown workflow {quoted(workflow)}: not registered and no run of it recorded; "
        f"registered: {', '.join(registered.names()) or 'none'}",
        param_hint="--workflow",
    )


def _no_runs(state: CliState, workflow: str | None, status: str | None, since: str | None) -> str:
    """What an empty listing says: which filters matched nothing, and an unknown workflow."""
    filters = [
        f"{label} {value}"
        for label, value in (("workflow", workflow), ("status", status), ("since", since))
        if value
    ]
    if not filters:
        return "no runs"
    message = f"no runs match {', '.join(filters)}"
    if workflow:
        registered = state.host().registries.workflows
        if workflow not in registered:
            known = ", ".join(registered.names()) or "none"
            message += f" ({workflow!r} is not a registered workflow; registered: {known})"
    return message


def _history(state: CliState) -> Any:
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema

    storage = state.host().storage
    require_tables(storage, [schema.workflow_runs, schema.workflow_steps])
    return WorkflowHistoryRepository(storage)


def _run_listing(state: CliState) -> Any:
    """What lists runs: ``sqlite3`` alone on a SQLite file, else the repository."""
    from spine_host.cli.run_listing import run_listing

    return run_listing(state.host(), lambda: _history(state))


def _runner(state: CliState, **options: Any) -> Any:
    from spine_host.orchestration.runner import WorkflowRunner

    return WorkflowRunner(state.host(), **options)


def _step_order(state: CliState, workflow: str) -> list[str] | None:
    """The workflow's steps in run order, when a plugin still registers it."""
    from spine_host.orchestration.workflow import Workflow

    registry = state.host().registries.workflows
    if workflow not in registry:
        return None
    found = registry.get(workflow)
    return list(found.order) if isinstance(found, Workflow) else None


def _steps_done(run: WorkflowRun) -> str:
    """``3/3``, or ``0/3, 3 skipped`` when work was skipped (already done, or not needed)."""
    done = f"{run.steps_completed}/{run.steps_total}"
    return f"{done}, {run.steps_skipped} skipped" if run.steps_skipped else done


def _duration(run: WorkflowRun) -> str | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return format_duration((run.finished_at - run.started_at).total_seconds())
