"""``spine quality list``: persisted quality check results, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table, format_value

if TYPE_CHECKING:
    from spine_host.pipelines.quality import QualityRecord

__all__ = ["quality_group"]


@click.group("quality", cls=SpineCommandGroup)
def quality_group() -> None:
    """Inspect quality check results."""


@quality_group.command("list")
@click.option("--execution", "execution_id", default=None, help="Only checks of this execution.")
@click.option(
    "--status",
    type=click.Choice(["PASS", "WARN", "FAIL"], case_sensitive=False),
    default=None,
    help="Only checks with this outcome.",
)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(
    state: CliState, execution_id: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """List quality check results with actual and expected values."""
    from spine_host.pipelines._storage import require_tables
    from spine_host.pipelines.quality import list_quality
    from spine_host.storage import schema

    storage = state.host().storage
    require_tables(storage, [schema.core_quality])
    records = list_quality(
        storage,
        execution_id=execution_id,
        status=status.upper() if status else None,
        limit=limit,
    )
    if as_json:
        emit_json(
            [
                {
                    "check_name": r.check_name,
                    "status": r.status.value,
                    "actual": r.actual,
                    "expected": r.expected,
                    "message": r.message,
                    "details": r.details,
                    "execution_id": r.execution_id,
                    "pipeline": r.pipeline,
                    "domain": r.domain,
                    "partition_key": r.partition_key,
                    "checked_at": r.checked_at.isoformat() if r.checked_at else None,
                }
                for r in records
            ]
        )
        return
    emit_table(
        [
            "CHECKED (UTC)",
            "EXECUTION",
            "PIPELINE",
            "CHECK",
            "STATUS",
            "ACTUAL",
            "EXPECTED",
            "MESSAGE",
        ],
        [
            (
                r.checked_at,
                r.execution_id,
                r.pipeline,
                r.check_name,
                r.status.value,
                format_value(r.actual),
                format_value(r.expected),
                _message(r),
            )
            for r in records
        ],
        empty="no quality checks recorded",
    )


def _message(record: QualityRecord) -> str | None:
    # A person must see that the data this check judged is not in the database.
    if record.data_rolled_back:
        return " ".join(part for part in (record.message, "(data rolled back)") if part)
    return record.message or None
