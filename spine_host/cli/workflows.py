"""``spine workflows list|show|run``: the workflows plugins registered, and running one.

Imports nothing heavy at module level: the runner (and SQLAlchemy with it) is imported when a
command needs it, so ``spine --help`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import EXIT_FAILURE, CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table, format_duration, format_params
from spine_host.cli.pipelines import parse_param_options
from spine_host.cli.run_steps import error_text, not_started, step_rows

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.orchestration.workflow import Step, Workflow

__all__ = ["emit_run", "workflows_group"]


@click.group("workflows", cls=SpineCommandGroup)
def workflows_group() -> None:
    """List, inspect and run workflows."""


@workflows_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """Every registered workflow, with its steps and concurrency."""
    workflows = _workflows(state)
    if as_json:
        emit_json([_describe(workflow, state.host()) for workflow in workflows])
        return
    rows = [
        (wf.name, len(wf.steps), wf.max_concurrency, format_duration(wf.timeout), wf.description)
        for wf in workflows
    ]
    emit_table(
        ["NAME", "STEPS", "CONCURRENCY", "TIMEOUT", "DESCRIPTION"],
        rows,
        empty="no workflows registered",
    )


@workflows_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def show_command(state: CliState, name: str, as_json: bool) -> None:
    """A workflow's steps in run order: what each runs, needs, and how it fails."""
    workflow = _runner(state).workflow(name)
    if as_json:
        emit_json(_describe(workflow, state.host()))
        return
    click.echo(f"{workflow.name}: {workflow.description or '(no description)'}")
    click.echo(
        f"max_concurrency {workflow.max_concurrency}, "
        f"timeout {format_duration(workflow.timeout) or '-'}, executor {workflow.executor}"
        f"{f', queue {workflow.queue}' if workflow.queue else ''}"
        f"{', resume_on_crash' if workflow.resume_on_crash else ''}, "
        f"defaults {format_params(workflow.defaults) or '-'}"
    )
    rows = []
    for step_name in workflow.order:
        described = _describe_step(workflow.step(step_name), state.host())
        described["timeout"] = format_duration(described["timeout"])
        rows.append(tuple(described[key] for key in _STEP_KEYS))
    emit_table(
        ["STEP", "RUNS", "DEPENDS ON", "CONDITION", "ATTEMPTS", "TIMEOUT", "ON FAILURE"], rows
    )


@workflows_group.command("run")
@click.argument("name")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A run param; repeat for more (lists are comma-separated, a key only once).",
)
@click.option(
    "--executor",
    metavar="NAME",
    help="Run the steps on this registered executor instead of the workflow's own "
    "(e.g. celery, with spine-celery installed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_state
def run_command(
    state: CliState, name: str, params: tuple[str, ...], executor: str | None, as_json: bool
) -> None:
    """Run workflow NAME and wait for it; exit 1 unless it COMPLETED, 2 for bad params or a
    workflow the executor cannot run."""
    # The same -p rules as `spine pipelines run`: KEY=VALUE, each key once. Bad params raise
    # VALIDATION before a run exists, which the group reports with exit 2.
    runner = _runner(state)
    run = runner.run(name, parse_param_options(params), executor=executor)
    emit_run(run, as_json=as_json, order=runner.workflow(name).order)


def emit_run(run: WorkflowRun, *, as_json: bool, order: Sequence[str] | None = None) -> None:
    """Print a finished run (summary, one line per attempt, steps not started).

    Exits 1 unless COMPLETED. ``order``: the workflow's steps, to list those never started.
    """
    if as_json:
        data = run.to_dict()
        data["steps_not_started"] = not_started(run, order)
        emit_json(data)
    else:
        click.echo(
            f"run {run.run_id} of {run.workflow}: {run.status.value} "
            f"({run.steps_completed} completed, {run.steps_skipped} skipped, "
            f"{run.steps_failed} failed, of {run.steps_total} steps)"
        )
        if run.error:
            click.echo(f"error {error_text(run.error_category, run.error, colon=True)}")
        rows = step_rows(run, order, detailed=False)
        emit_table(["STEP", "ATTEMPT", "STATUS", "DURATION", "NOTE"], rows)
    if run.status.value != "COMPLETED":
        click.get_current_context().exit(EXIT_FAILURE)


def _runner(state: CliState) -> Any:
    from spine_host.orchestration.runner import WorkflowRunner

    return WorkflowRunner(state.host())


def _workflows(state: CliState) -> list[Workflow]:
    from spine_host.orchestration.workflow import Workflow

    registry = state.host().registries.workflows
    found = [registry.get(name) for name in registry.names()]
    return [workflow for workflow in found if isinstance(workflow, Workflow)]


def _describe(workflow: Workflow, host: Host) -> dict[str, Any]:
    return {
        "name": workflow.name,
        "description": workflow.description,
        "max_concurrency": workflow.max_concurrency,
        "timeout": workflow.timeout,
        "executor": workflow.executor,
        "queue": workflow.queue,
        "resume_on_crash": workflow.resume_on_crash,
        "defaults": dict(workflow.defaults),
        "steps": [_describe_step(workflow.step(name), host) for name in workflow.order],
    }


_STEP_KEYS = ("name", "runs", "depends_on", "condition", "max_attempts", "timeout", "on_failure")


def _describe_step(step: Step, host: Host) -> dict[str, Any]:
    """A step's JSON form; ``timeout`` in seconds (None without one)."""
    from spine_host.orchestration.steps import step_retry_policy
    from spine_host.orchestration.workflow import Branch

    if isinstance(step.condition, Branch):
        condition: str | None = f"{step.condition.step} == {step.condition.value!r}"
    elif step.condition is not None:
        condition = getattr(step.condition, "__name__", "callable")
    else:
        condition = None
    values = (
        step.name,
        step.describe(),
        list(step.depends_on),
        condition,
        step_retry_policy(host, step).max_attempts,  # what the runner will really use
        step.timeout,
        step.on_failure.value,
    )
    described = dict(zip(_STEP_KEYS, values, strict=True))
    described["queue"] = step.queue
    return described
