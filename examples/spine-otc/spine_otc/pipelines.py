"""The OTC pipelines: ingest a week's file, check it, summarize it by venue.

Each declares a manifest stage for its week, so re-running a finished week is skipped unless
forced, and each is idempotent: a forced re-run replaces the week's rows instead of adding to
them.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import sqlalchemy as sa

from spine_host import ErrorCategory, SpineError
from spine_host.pipelines import CheckResult, ExecutionContext, register_pipeline
from spine_host.sources.file import FileSource
from spine_otc.params import WeekParams
from spine_otc.tables import venue_summary, weekly_volume

STAGES = ("INGESTED", "CHECKED", "SUMMARIZED")

COLUMN_TYPES = {
    "week_ending": "date32",
    "trade_count": "int64",
    "share_volume": "int64",
}


def week_file(params: WeekParams) -> str:
    """The bundled sample file for the week (a real plugin would configure a source)."""
    return str(resources.files("spine_otc") / "data" / f"otc_{params.week_ending}.psv")


@register_pipeline(
    "otc.ingest_week",
    params=WeekParams,
    stage="INGESTED",
    stages=STAGES,
    partition="{week_ending}",
)
def ingest_week(context: ExecutionContext, params: WeekParams) -> dict[str, Any]:
    """Load one week's venue volumes; malformed lines become rejects."""
    source = FileSource(
        "otc_week", FileSource.Config(path=week_file(params), format="psv", types=COLUMN_TYPES)
    )
    result = source.fetch()
    if result.error is not None:
        raise result.error
    rows = [
        {**row, "execution_id": context.execution_id}
        for row in result.rows()
        if row["week_ending"] == params.week_ending
    ]
    storage: Any = context.host.storage
    # One transaction: a failed load keeps the week's previous rows instead of leaving it empty.
    with storage.transaction():
        with storage.connection() as connection:
            connection.execute(
                sa.delete(weekly_volume).where(weekly_volume.c.week_ending == params.week_ending)
            )
        loaded = storage.bulk_insert(weekly_volume.name, rows) if rows else 0  # joins the block
    with context.rejects("INGESTED") as rejects:
        rejects.add_all(result.rejects)
    return {
        "rows_in": loaded + len(result.rejects),
        "rows_out": loaded,
        "rows_rejected": len(result.rejects),
        "file": week_file(params),
    }


@register_pipeline(
    "otc.check_week",
    params=WeekParams,
    stage="CHECKED",
    stages=STAGES,
    partition="{week_ending}",
)
def check_week(context: ExecutionContext, params: WeekParams) -> dict[str, Any]:
    """Quality gate: the week has rows, from enough venues, with no negative volume."""
    stats = context.host.storage.query(
        sa.select(
            sa.func.count().label("row_count"),
            sa.func.count(sa.distinct(weekly_volume.c.venue)).label("venues"),
            sa.func.min(weekly_volume.c.share_volume).label("smallest"),
        ).where(weekly_volume.c.week_ending == params.week_ending)
    )[0]
    quality = context.quality()
    quality.add("row_count", lambda: CheckResult.compare(stats["row_count"], at_least=1))
    quality.add("venues", lambda: CheckResult.compare(stats["venues"], at_least=3))
    quality.add(
        "no_negative_volume", lambda: CheckResult.compare(stats["smallest"] or 0, at_least=0)
    )
    quality.gate()
    return {"rows_in": stats["row_count"], "venues": stats["venues"]}


@register_pipeline(
    "otc.summarize_week",
    params=WeekParams,
    stage="SUMMARIZED",
    stages=STAGES,
    partition="{week_ending}",
)
def summarize_week(context: ExecutionContext, params: WeekParams) -> dict[str, Any]:
    """Totals per venue for the week, replacing any earlier summary of it."""
    totals = (
        sa.select(
            weekly_volume.c.week_ending,
            weekly_volume.c.venue,
            sa.func.count(sa.distinct(weekly_volume.c.symbol)).label("symbols"),
            sa.func.sum(weekly_volume.c.trade_count).label("trade_count"),
            sa.func.sum(weekly_volume.c.share_volume).label("share_volume"),
        )
        .where(weekly_volume.c.week_ending == params.week_ending)
        .group_by(weekly_volume.c.week_ending, weekly_volume.c.venue)
    )
    storage: Any = context.host.storage
    rows = [{**row, "execution_id": context.execution_id} for row in storage.query(totals)]
    if not rows:
        raise SpineError(
            f"no OTC volume loaded for week {params.week_ending}: run otc.ingest_week first",
            category=ErrorCategory.DEPENDENCY,
        )
    with storage.transaction(), storage.connection() as connection:
        connection.execute(
            sa.delete(venue_summary).where(venue_summary.c.week_ending == params.week_ending)
        )
        connection.execute(sa.insert(venue_summary), rows)
    return {"rows_in": sum(row["symbols"] for row in rows), "rows_out": len(rows)}
