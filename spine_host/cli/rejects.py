"""``spine rejects list``: records pipelines could not process, newest first."""

from __future__ import annotations

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table
from spine_host.printable import quoted

__all__ = ["rejects_group"]

# Raw records can be long: the table shows the start, --json shows everything.
_RAW_WIDTH = 60


@click.group("rejects", cls=SpineCommandGroup)
def rejects_group() -> None:
    """Inspect rejected records."""


@rejects_group.command("list")
@click.option("--execution", "execution_id", default=None, help="Only rejects of this execution.")
@click.option("--reason", "reason_code", default=None, help="Only rejects with this reason code.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(
    state: CliState,
    execution_id: str | None,
    reason_code: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List rejects with stage, reason, source and line number, and how many match."""
    from spine_host.pipelines._storage import require_tables
    from spine_host.pipelines.rejects import (
        count_rejects,
        list_rejects,
        recorded_reason_codes,
    )
    from spine_host.storage import schema

    storage = state.host().storage
    require_tables(storage, [schema.core_rejects])
    if reason_code is not None and not count_rejects(storage, reason_code=reason_code):
        codes = recorded_reason_codes(storage)
        raise click.BadParameter(
            f"no reject has reason code {quoted(reason_code)}; recorded codes: "
            f"{', '.join(codes) or 'none (no rejects recorded)'}",
            param_hint="--reason",
        )
    records = list_rejects(storage, execution_id=execution_id, reason_code=reason_code, limit=limit)
    if as_json:
        # A list like every other listing; the total of matches is in the human output only
        # (a script that needs it raises --limit, or counts in SQL).
        emit_json(
            [
                {
                    "stage": r.stage,
                    "reason_code": r.reason_code,
                    "reason_detail": r.reason_detail,
                    "raw_record": r.raw_record,
                    "source_locator": r.source_locator,
                    "line_number": r.line_number,
                    "execution_id": r.execution_id,
                    "pipeline": r.pipeline,
                    "domain": r.domain,
                    "partition_key": r.partition_key,
                    "created_at": r.created_at.isoformat() if r.created_at else None,
                }
                for r in records
            ]
        )
        return
    emit_table(
        ["EXECUTION", "STAGE", "REASON", "DETAIL", "SOURCE", "LINE", "RAW"],
        [
            (
                r.execution_id,
                r.stage,
                r.reason_code,
                r.reason_detail,
                r.source_locator,
                r.line_number,
                _shorten(r.raw_record),
            )
            for r in records
        ],
        empty=_no_rejects(execution_id, reason_code),
    )
    if records:
        total = count_rejects(storage, execution_id=execution_id, reason_code=reason_code)
        click.echo(f"{len(records)} of {total} reject(s) shown")


def _shorten(raw: str | None) -> str | None:
    if raw is None or len(raw) <= _RAW_WIDTH:
        return raw
    return raw[: _RAW_WIDTH - 1] + "…"


def _no_rejects(execution_id: str | None, reason_code: str | None) -> str:
    filters = [
        f"{label} {value!r}"
        for label, value in (("execution", execution_id), ("reason code", reason_code))
        if value
    ]
    return f"no rejects with {' and '.join(filters)}" if filters else "no rejects recorded"
