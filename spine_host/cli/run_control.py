"""``spine runs logs|cancel``: what a run's steps logged, and stopping a run from anywhere.

Both work on a run driven by another process (``spine workflows run`` in one terminal, these in
another): logs are read from ``workflow_step_logs`` as the runner writes them, and a
cancellation is a request written on the run's row, which its runner reads at each heartbeat
(see :mod:`spine_host.orchestration.cancellation`).

Imports nothing heavy at module level (see ``spine_host.cli.workflows``).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

from spine_host.cli.context import EXIT_FAILURE, CliState, pass_state
from spine_host.cli.output import emit_json, format_time
from spine_host.cli.run_ids import resolve_run_id
from spine_host.cli.runs import runs_group
from spine_host.cli.times import parse_duration
from spine_host.printable import quoted

if TYPE_CHECKING:
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.orchestration.step_logs import StepLogRecord, StepLogRepository

__all__: list[str] = []

#: Seconds between two looks at a followed run.
FOLLOW_INTERVAL = 0.5


@runs_group.command("logs")
@click.argument("run_id")
@click.argument("step", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object a line with -f).")
@pass_state
def logs_command(
    state: CliState, run_id: str, step: str | None, follow: bool, as_json: bool
) -> None:
    """What a run's steps logged (INFO and above), oldest first; only STEP's when given.

    RUN_ID may be a unique prefix of 6 or more characters. A line reads

    \b
        2025-12-26 06:00:01 UTC  fetch#1  INFO  spine_otc.pipelines: loaded 42 rows

    where fetch#1 is the step and its attempt. At most 1,000 records are kept per attempt,
    secrets masked. With --follow, new lines are printed as the run goes (checked every 0.5s)
    until it is no longer RUNNING.
    """
    history, logs = _repositories(state, with_logs=True)
    run = _run(state, history, run_id)
    if step is not None:
        _check_step(state, run, step)
    seen: dict[tuple[str, int], int] = {}
    printed = 0
    while True:
        # Read the status first: records written before the run ended are then all visible.
        running = _running(history, run.run_id) if follow else False
        records = logs.list(run.run_id, step_name=step, after=seen)
        for record in records:
            seen[record.attempt_key] = max(seen.get(record.attempt_key, 0), record.seq)
        if follow:
            for record in records:
                click.echo(json.dumps(record.to_dict()) if as_json else _line(record))
        elif as_json:
            emit_json([record.to_dict() for record in records])
        else:
            for record in records:
                click.echo(_line(record))
        printed += len(records)
        if not running:
            break
        time.sleep(FOLLOW_INTERVAL)
    if not printed and not as_json:
        what = f"step {quoted(step)} of run {run.run_id}" if step else f"run {run.run_id}"
        click.echo(f"no log records for {what}", err=True)


@runs_group.command("cancel")
@click.argument("run_id")
@click.option("--reason", help="Why the run is cancelled; recorded on the run.")
@click.option(
    "--wait",
    default="30s",
    show_default=True,
    help="How long to wait for the run's runner to stop it (it looks at each heartbeat); "
    "0 only asks.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@pass_state
def cancel_command(
    state: CliState, run_id: str, reason: str | None, wait: str, as_json: bool
) -> None:
    """Stop a RUNNING run, driven by this or any other process; it ends CANCELLED.

    No further step starts; the running ones are let go (nothing they commit through spine
    afterwards counts) and end CANCELLED; steps never started stay so. The request (who,
    when, --reason) stays on the run. A run whose runner is gone (its process died, or its
    heartbeat is stale) is ended CANCELLED by this command. RUN_ID may be a unique prefix of
    6 or more characters.

    Exit 0 once the run is CANCELLED (or, with --wait 0, once asked), 1 when it ended
    otherwise first or was still running after --wait, 2 when RUN_ID is unknown or not
    RUNNING. `spine runs resume` finishes a cancelled run.
    """
    from spine_host.orchestration.cancellation import cancel_run
    from spine_host.orchestration.records import RunStatus

    seconds = parse_duration(wait)
    history, _ = _repositories(state, with_logs=False)
    run = _run(state, history, run_id)
    done = cancel_run(state.host(), run.run_id, reason=reason, wait=seconds)
    run = done.run
    if as_json:
        emit_json(
            {
                **run.to_dict(with_steps=False),
                "requested_now": done.requested,
                "ended_here": done.ended_here,
            }
        )
    else:
        request = done.request
        asked = request.describe() if request is not None else "cancelled"
        if run.status is RunStatus.CANCELLED:
            how = "its runner was gone" if done.ended_here else "its runner stopped it"
            click.echo(f"run {run.run_id} {asked}; {how}")
        elif run.status is RunStatus.RUNNING:
            when = format_time(request.requested_at, with_zone=True) if request else None
            click.echo(
                f"run {run.run_id} is still RUNNING: cancellation requested at {when or '-'}; "
                "its runner stops it at its next heartbeat"
            )
        else:
            click.echo(
                f"run {run.run_id} ended {run.status.value} before its runner saw the cancellation"
            )
    stopped = run.status is RunStatus.CANCELLED
    if not stopped and not (run.status is RunStatus.RUNNING and seconds == 0):
        click.get_current_context().exit(EXIT_FAILURE)


def _line(record: StepLogRecord) -> str:
    """``2025-12-26 06:00:01 UTC  fetch#1  INFO  logger: message``; later lines indented."""
    when = format_time(record.logged_at, with_zone=True)
    message = record.message.replace("\n", "\n    ")
    return (
        f"{when}  {record.step_name}#{record.attempt}  {record.level}  {record.logger}: {message}"
    )


def _check_step(state: CliState, run: WorkflowRun, step: str) -> None:
    """A STEP neither in the run's workflow nor in its history is a usage error (exit 2)."""
    from spine_host.orchestration.workflow import Workflow

    known = {attempt.step_name for attempt in run.steps}
    registry = state.host().registries.workflows
    if run.workflow in registry:
        workflow = registry.get(run.workflow)
        if isinstance(workflow, Workflow):
            known |= set(workflow.order)
    if step not in known:
        raise click.BadParameter(
            f"run {run.run_id} of {run.workflow} has no step {quoted(step)}; "
            f"its steps: {', '.join(sorted(known)) or 'none recorded'}",
            param_hint="STEP",
        )


def _run(state: CliState, history: WorkflowHistoryRepository, text: str) -> WorkflowRun:
    """The run ``text`` names (a whole id or a unique prefix); otherwise exit 2."""
    run_id = resolve_run_id(state, text)
    run = history.get_run(run_id)
    if run is None:  # deleted between the two queries
        raise click.BadParameter(f"no workflow run {quoted(text)}", param_hint="RUN_ID")
    return run


def _running(history: WorkflowHistoryRepository, run_id: str) -> bool:
    from spine_host.orchestration.records import RunStatus

    run = history.get_run(run_id, with_steps=False)
    return run is not None and run.status is RunStatus.RUNNING


def _repositories(
    state: CliState, *, with_logs: bool
) -> tuple[WorkflowHistoryRepository, StepLogRepository]:
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.step_logs import StepLogRepository
    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema

    storage = state.host().storage
    tables = [schema.workflow_runs, schema.workflow_steps]
    if with_logs:
        tables.append(schema.workflow_step_logs)
    require_tables(storage, tables)
    return WorkflowHistoryRepository(storage), StepLogRepository(storage)
