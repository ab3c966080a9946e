"""``spine pipelines list|run|show``: registered pipelines, running one, and its history.

Exit codes: 0 completed or skipped, 1 failed, 2 unknown pipeline or bad parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import EXIT_FAILURE, CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table
from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.pipelines.execution import Execution

__all__ = ["parse_param_options", "pipelines_group"]


@click.group("pipelines", cls=SpineCommandGroup)
def pipelines_group() -> None:
    """List, run and inspect registered pipelines."""


@pipelines_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """List every registered pipeline with its parameters and the plugin providing it."""
    entries = _pipeline_entries(state.host())
    if as_json:
        emit_json(entries)
        return
    rows = [
        (
            entry["name"],
            entry["domain"],
            entry["stage"],
            "; ".join(entry["parameters"]) or None,
            entry["provider"],
            entry["description"] or None,
        )
        for entry in entries
    ]
    emit_table(
        ["NAME", "DOMAIN", "STAGE", "PARAMETERS", "PROVIDER", "DESCRIPTION"],
        rows,
        empty="no pipelines registered (plugins register them with spine_register_pipelines)",
    )


@pipelines_group.command("run")
@click.argument("name")
@click.option(
    "-p",
    "--param",
    "param_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A pipeline parameter; repeat for more (lists are comma-separated).",
)
@click.option("--force", is_flag=True, help="Run even if the partition already reached its stage.")
@click.option(
    "--idempotency-key",
    default=None,
    help="Run at most once per key: a key already used shows that execution instead.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON.")
@pass_state
def run_command(
    state: CliState,
    name: str,
    param_options: tuple[str, ...],
    force: bool,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Run pipeline NAME once and record it; exit 1 if it fails."""
    from spine_host.pipelines.dispatcher import Dispatcher
    from spine_host.pipelines.repository import ExecutionRepository

    params = parse_param_options(param_options)
    host = state.host()
    ExecutionRepository(host.storage).require_tables()
    execution = Dispatcher(host).run(name, params, idempotency_key=idempotency_key, force=force)
    if as_json:
        emit_json(execution.to_dict())
    else:
        _echo_execution(execution)
    if execution.status == "FAILED":
        raise click.exceptions.Exit(EXIT_FAILURE)


@pipelines_group.command("show")
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def show_command(state: CliState, execution_id: str, as_json: bool) -> None:
    """Show one execution: status, result or error, and every event with its attempt."""
    from spine_host.pipelines.repository import ExecutionRepository

    repository = ExecutionRepository(state.host().storage)
    repository.require_tables()
    execution = repository.get(execution_id)
    if execution is None:
        raise SpineError(f"no execution {execution_id!r}", category=ErrorCategory.NOT_FOUND)
    events = repository.events(execution_id)
    if as_json:
        emit_json({**execution.to_dict(), "events": [event.to_dict() for event in events]})
        return
    _echo_execution(execution)
    emit_table(
        ["WHEN", "EVENT", "ATTEMPT", "MESSAGE"],
        [(e.occurred_at, e.event_type.value, e.attempt, e.message) for e in events],
    )


def parse_param_options(options: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``-p`` options (``week_ending=2025-12-26``) as a dict; a key given twice is an error."""
    params: dict[str, str] = {}
    for option in options:
        key, separator, value = option.partition("=")
        key = key.strip()
        if not separator or not key:
            raise SpineError(
                f"-p {option!r}: expected KEY=VALUE, e.g. -p week_ending=2025-12-26",
                category=ErrorCategory.VALIDATION,
            )
        if key in params:
            raise SpineError(
                f"-p {key} is given twice; pass a list as one comma-separated value",
                category=ErrorCategory.VALIDATION,
            )
        params[key] = value
    return params


def _pipeline_entries(host: Host) -> list[dict[str, Any]]:
    from spine_host.pipelines.params import describe_params
    from spine_host.pipelines.registration import pipeline_attributes

    registry = host.registries.pipelines
    entries = []
    for name in registry.names():
        claim = registry.winner(name)
        assert claim is not None  # names() lists winners only
        described = pipeline_attributes(claim.value)
        entries.append(
            {
                "name": name,
                "domain": described.domain,
                "stage": described.stage,
                "parameters": describe_params(described.Params),
                "provider": claim.provider,
                "description": described.description,
            }
        )
    return entries


def _echo_execution(execution: Execution) -> None:
    duration = execution.duration_seconds
    timing = f", {duration:.2f}s" if duration is not None else ""
    click.echo(
        f"{execution.status.value} {execution.pipeline} execution {execution.execution_id} "
        f"({execution.attempts} attempt(s){timing})"
    )
    if execution.error is not None:
        click.echo(f"error [{execution.error.category.value}]: {execution.error.message}")
    elif execution.result is not None:
        click.echo(f"result: {execution.result}")
