"""The runs page's grid: one row per workflow, one cell per day, coloured by how its runs ended.

Counted with one ``GROUP BY workflow, status`` per day over a ``started_at`` range: each is an
index range scan, and the same SQL runs on SQLite, PostgreSQL and DB2 (no dialect's date
function is needed to cut days). Days are UTC days, as every time spine stores.

Counting two weeks of a busy history costs more than the rest of the runs page, so the server
keeps each grid it counted for a few seconds (:class:`GridCache`): a page reloaded every two
seconds, or many people looking at once, count it once.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import attrs
import sqlalchemy as sa

from spine_host.storage import schema
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = ["GRID_SECONDS", "DayCell", "GridCache", "RunGrid", "run_grid"]

_runs = schema.workflow_runs

#: Days the grid shows by default.
GRID_DAYS = 14
#: Seconds a counted grid is shown before it is counted again.
GRID_SECONDS = 10.0

_FAILED = frozenset({"FAILED", "CRASHED", "TIMED_OUT"})
_PARTLY = frozenset({"PARTIAL", "CANCELLED"})


@attrs.frozen
class DayCell:
    """The runs of one workflow on one day: how many ended in each status."""

    day: date
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        """How many runs started that day."""
        return sum(self.counts.values())

    @property
    def outcome(self) -> str:
        """``none``, ``good`` (all completed), ``bad`` (all that ended failed), ``mixed``
        (failures and successes), ``warn`` (partial or cancelled) or ``busy`` (running)."""
        if not self.counts:
            return "none"
        statuses = set(self.counts)
        failed = bool(statuses & _FAILED)
        if failed and "COMPLETED" in statuses:
            return "mixed"
        if failed:
            return "bad"
        if statuses & _PARTLY:
            return "warn"
        if "RUNNING" in statuses:
            return "busy"
        return "good"

    @property
    def summary(self) -> str:
        """``2 COMPLETED, 1 FAILED``: for the cell's tooltip."""
        return ", ".join(f"{count} {status}" for status, count in sorted(self.counts.items()))


@attrs.frozen
class RunGrid:
    """Workflows by days: ``rows`` pairs each workflow with one cell per day of ``days``."""

    days: list[date]
    rows: list[tuple[str, list[DayCell]]]


def run_grid(
    storage: SqlAlchemyAdapter,
    *,
    last_day: date,
    days: int = GRID_DAYS,
    workflow: str | None = None,
) -> RunGrid:
    """Counts per workflow, day and status for the ``days`` days ending with ``last_day``."""
    shown = [last_day - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    counts: dict[str, dict[date, dict[str, int]]] = {}
    for day in shown:
        start = datetime.combine(day, time(), UTC)
        statement = (
            sa.select(_runs.c.workflow, _runs.c.status, sa.func.count().label("runs"))
            .where(_runs.c.started_at >= start, _runs.c.started_at < start + timedelta(days=1))
            .group_by(_runs.c.workflow, _runs.c.status)
        )
        if workflow:
            statement = statement.where(_runs.c.workflow == workflow)
        for row in storage.query(statement):
            per_day = counts.setdefault(row["workflow"], {}).setdefault(day, {})
            per_day[row["status"]] = int(row["runs"])
    rows = [
        (name, [DayCell(day, counts[name].get(day, {})) for day in shown])
        for name in sorted(counts)
    ]
    return RunGrid(shown, rows)


class GridCache:
    """Grids counted in the last :data:`GRID_SECONDS`, by (last day, days, workflow).

    Args:
        storage: where runs are counted.
        seconds: how long a counted grid is reused.
    """

    def __init__(self, storage: SqlAlchemyAdapter, seconds: float = GRID_SECONDS) -> None:
        self.storage = storage
        self.seconds = seconds
        self._grids: dict[tuple[date, int, str | None], tuple[float, RunGrid]] = {}
        self._lock = threading.Lock()

    def grid(
        self, *, last_day: date, days: int = GRID_DAYS, workflow: str | None = None
    ) -> RunGrid:
        """The grid, counted now or at most ``seconds`` ago."""
        key = (last_day, days, workflow)
        now = clock.monotonic()
        with self._lock:
            kept = self._grids.get(key)
            if kept is not None and now - kept[0] < self.seconds:
                return kept[1]
        counted = run_grid(self.storage, last_day=last_day, days=days, workflow=workflow)
        with self._lock:
            self._grids = {k: v for k, v in self._grids.items() if now - v[0] < self.seconds}
            self._grids[key] = (now, counted)
        return counted
