"""``spine pipelines list|run|runs|show``: registered pipelines, running one, and their history.

Exit codes: 0 completed or skipped, 1 failed, 2 unknown pipeline, bad parameters or options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import EXIT_FAILURE, CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import (
    emit_json,
    emit_table,
    format_counts,
    format_duration,
    format_params,
    format_time,
    format_value,
)
from spine_host.cli.run_ids import resolve_id
from spine_host.cli.times import parse_since
from spine_host.errors import ErrorCategory, SpineError
from spine_host.printable import quoted

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.pipelines.execution import Execution
    from spine_host.pipelines.repository import ExecutionRepository

__all__ = ["parse_param_options", "pipelines_group"]


@click.group(
    "pipelines",
    cls=SpineCommandGroup,
    short_help="List and run pipelines; list their runs and inspect one.",
)
def pipelines_group() -> None:
    """List and run registered pipelines; list their runs and inspect one."""


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
            "; ".join(_parameter_text(parameter) for parameter in entry["parameters"]) or None,
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
    help=(
        "Run at most once per key: a key whose execution finished shows that execution; one "
        "still running elsewhere is reported (exit 1); one that crashed runs again."
    ),
)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait while another live run works on the same partition (then exit 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON.")
@pass_state
def run_command(
    state: CliState,
    name: str,
    param_options: tuple[str, ...],
    force: bool,
    idempotency_key: str | None,
    wait_seconds: float,
    as_json: bool,
) -> None:
    """Run pipeline NAME once and record it; exit 1 if it fails or runs elsewhere."""
    from spine_host.pipelines.dispatcher import Dispatcher
    from spine_host.pipelines.repository import ExecutionRepository

    params = parse_param_options(param_options)
    host = state.host()
    ExecutionRepository(host.storage).require_tables()
    execution = Dispatcher(host).run(
        name,
        params,
        idempotency_key=idempotency_key,
        force=force,
        partition_wait=wait_seconds,
    )
    if as_json:
        emit_json(execution.to_dict())
    else:
        _echo_execution(execution)
    if execution.status in ("FAILED", "CRASHED", "TIMED_OUT"):
        raise click.exceptions.Exit(EXIT_FAILURE)


@pipelines_group.command("runs")
@click.option("--pipeline", default=None, help="Only runs of this pipeline.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    callback=lambda ctx, param, options: _parse_statuses(options),
    help="Only runs in this status (FAILED, RUNNING...); repeat or comma-separate for several.",
)
@click.option("--since", default=None, help="Only runs since: a duration (24h, 30m) or a date.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def runs_command(
    state: CliState,
    pipeline: str | None,
    statuses: tuple[str, ...],
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List pipeline runs (executions), newest first.

    Every run is listed, however it was started: from this command line, a workflow step or a
    schedule. Workflow runs have their own listing: spine runs list.
    """
    from spine_host.pipelines.repository import ExecutionRepository

    moment = parse_since(since) if since else None
    repository = ExecutionRepository(state.host().storage)
    repository.require_tables()
    executions = repository.recent(
        pipeline=pipeline, status=statuses or None, since=moment, limit=limit
    )
    if as_json:
        emit_json([execution.to_dict() for execution in executions])
        return
    emit_table(
        [
            "EXECUTION",
            "PIPELINE",
            "STATUS",
            "PARAMS",
            "STARTED (UTC)",
            "DURATION",
            "ROWS IN/OUT/REJ",
            "TRIGGERED BY",
        ],
        [
            (
                execution.execution_id,
                execution.pipeline,
                execution.status.value,
                format_params(execution.params),
                execution.started_at or execution.created_at,
                format_duration(execution.duration_seconds),
                format_counts(execution.rows_in, execution.rows_out, execution.rows_rejected),
                execution.triggered_by,
            )
            for execution in executions
        ],
        empty="no pipeline runs",
    )


@pipelines_group.command("show")
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def show_command(state: CliState, execution_id: str, as_json: bool) -> None:
    """Show one execution: status, params, result or error, and every event with its attempt.

    EXECUTION_ID may be the first 6 or more characters of an id, as long as only one
    execution's id starts so.
    """
    from spine_host.pipelines.repository import ExecutionRepository

    repository = ExecutionRepository(state.host().storage)
    repository.require_tables()
    execution = _existing_execution(repository, execution_id)
    events = repository.events(execution.execution_id)
    if as_json:
        emit_json({**execution.to_dict(), "events": [event.to_dict() for event in events]})
        return
    _echo_execution(execution)
    started = format_time(execution.started_at, with_zone=True) or "-"
    finished = format_time(execution.finished_at, with_zone=True) or "-"
    click.echo(f"params   {format_params(execution.params) or '-'}")
    click.echo(f"started  {started}  finished {finished}")
    click.echo(f"trigger  {execution.triggered_by or '-'}")
    click.echo("")
    emit_table(
        ["WHEN (UTC)", "EVENT", "ATTEMPT", "MESSAGE"],
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
                "parameters": _parameters(described.Params, describe_params(described.Params)),
                "provider": claim.provider,
                "description": described.description,
            }
        )
    return entries


def _parameters(params_cls: Any, descriptions: list[str]) -> list[dict[str, Any]]:
    """Each parameter: ``name``, ``type`` (described for people), ``required``, ``default``
    and ``default_computed`` (a factory makes the default when the pipeline runs; ``default``
    is then null).

    ``descriptions`` are :func:`describe_params`'s lines (``name: type = default``), one per
    ``init`` field in order; the type is taken from them, the rest from the attrs field.
    """
    if params_cls is None:
        return []
    import attrs

    from spine_host.json_values import json_safe

    fields = [field for field in attrs.fields(params_cls) if field.init]
    parameters = []
    for field, description in zip(fields, descriptions, strict=True):
        name = field.alias or field.name
        kind = description.removeprefix(f"{name}: ")
        required = field.default is attrs.NOTHING
        computed = isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
        default = None if required or computed else json_safe(field.default)
        if not required:
            kind = kind.removesuffix(f" = {'(computed)' if computed else default}")
        parameters.append(
            {
                "name": name,
                "type": kind,
                "required": required,
                "default": default,
                "default_computed": computed,
            }
        )
    return parameters


def _parameter_text(parameter: dict[str, Any]) -> str:
    """``tier: one of T1, T2, OTC = T1``, ``venues: ... = (computed)``; no default, none shown."""
    text = f"{parameter['name']}: {parameter['type']}"
    if parameter["default_computed"]:
        return f"{text} = (computed)"
    if parameter["default"] is None:
        return text
    default = format_value(parameter["default"]) or '""'  # an empty text, as people quote it
    return f"{text} = {default}"


def _parse_statuses(options: tuple[str, ...]) -> tuple[str, ...]:
    """``--status failed --status CRASHED,running`` as canonical ExecutionStatus values."""
    if not options:
        return ()
    from spine_host.pipelines.execution import ExecutionStatus

    valid = {status.value for status in ExecutionStatus}
    statuses: list[str] = []
    for option in options:
        for text in option.split(","):
            status = text.strip().upper()
            if status not in valid:
                raise click.BadParameter(
                    f"{text.strip()!r} is not an execution status; use one of "
                    + ", ".join(known.value for known in ExecutionStatus),
                    param_hint="--status",
                )
            if status not in statuses:
                statuses.append(status)
    return tuple(statuses)


def _existing_execution(repository: ExecutionRepository, text: str) -> Execution:
    """The execution ``text`` names: a whole id, or a unique prefix of 6 or more characters
    (:mod:`spine_host.cli.run_ids`); anything else is a usage error (exit 2)."""
    from spine_host.storage.schema import ID_LENGTH

    execution_id = resolve_id(
        text,
        exists=lambda known: repository.get(known) is not None,
        starting_with=lambda prefix, limit: repository.ids_starting_with(prefix, limit=limit),
        noun="execution",
        param_hint="EXECUTION_ID",
        listing="spine pipelines runs",
        longest=ID_LENGTH,
    )
    execution = repository.get(execution_id)
    if execution is None:  # deleted between the two queries
        raise click.BadParameter(f"no execution {quoted(text)}", param_hint="EXECUTION_ID")
    return execution


def _echo_execution(execution: Execution) -> None:
    duration = format_duration(execution.duration_seconds)
    timing = f", {duration}" if duration is not None else ""
    click.echo(
        f"{execution.status.value} {execution.pipeline} execution {execution.execution_id} "
        f"({execution.attempts} attempt(s){timing})"
    )
    if execution.error is not None:
        click.echo(f"error [{execution.error.category.value}]: {execution.error.message}")
    elif execution.result is not None:
        click.echo(f"result: {format_value(execution.result) or '-'}")
