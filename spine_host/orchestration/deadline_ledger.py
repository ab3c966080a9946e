"""The ``deadlines`` table: one row per missed (deadline, logical time), claimed by inserting it,
so a DEADLINE_MISSED alert is raised once whatever the number of scheduler replicas; the row
turns RECOVERED, once, when the late work succeeds, naming the run that met it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from spine_host.errors import SpineError
from spine_host.storage import schema

if TYPE_CHECKING:
    from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["MISSED", "RECOVERED", "DeadlineLedger", "DeadlineRow"]

MISSED = "MISSED"
RECOVERED = "RECOVERED"
_table = schema.deadlines
_REASON_LENGTH = 500


@attrs.frozen
class DeadlineRow:
    """One ``deadlines`` row."""

    deadline_key: str
    logical_time: datetime
    due_at: datetime
    status: str
    reason: str | None
    alert_id: str | None
    raised_at: datetime
    recovered_at: datetime | None
    met_by_run_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, times in ISO 8601."""
        data = attrs.asdict(self)
        return {
            name: (value.isoformat() if isinstance(value, datetime) else value)
            for name, value in data.items()
        }


class DeadlineLedger:
    """Reads and writes ``deadlines`` in ``storage``."""

    def __init__(self, storage: DatabaseAdapter) -> None:
        self.storage = storage

    def claim(
        self,
        key: str,
        logical_time: datetime,
        *,
        due_at: datetime,
        reason: str,
        owner: str,
        now: datetime,
    ) -> bool:
        """Record ``key`` missed for ``logical_time``; False when a row exists already."""
        try:
            self.storage.execute(
                sa.insert(_table).values(
                    deadline_key=key,
                    logical_time=logical_time,
                    due_at=due_at,
                    status=MISSED,
                    reason=reason[:_REASON_LENGTH],
                    raised_by=owner,
                    raised_at=now,
                )
            )
        except SpineError as error:
            if isinstance(error.cause, sa.exc.IntegrityError):
                return False
            raise
        return True

    def set_alert(self, key: str, logical_time: datetime, alert_id: str) -> None:
        """Link the row to the alert raised for it."""
        self.storage.execute(
            sa.update(_table).where(*_row(key, logical_time)).values(alert_id=alert_id)
        )

    def recover(
        self, key: str, logical_time: datetime, *, met_by: str | None, now: datetime
    ) -> bool:
        """MISSED -> RECOVERED, naming the run that met it; False if it was not MISSED."""
        changed = self.storage.execute(
            sa.update(_table)
            .where(*_row(key, logical_time), _table.c.status == MISSED)
            .values(status=RECOVERED, recovered_at=now, met_by_run_id=met_by)
        )
        return changed > 0

    def rows(self, key: str, *, since: datetime | None = None) -> dict[datetime, DeadlineRow]:
        """The rows of ``key`` (from ``since`` on), by logical time."""
        statement = sa.select(_table).where(_table.c.deadline_key == key)
        if since is not None:
            statement = statement.where(_table.c.logical_time >= since)
        return {row.logical_time: row for row in map(_deadline, self.storage.query(statement))}

    def open_missed(self, key: str) -> list[DeadlineRow]:
        """Rows of ``key`` still MISSED, oldest first."""
        rows = self.storage.query(
            sa.select(_table)
            .where(_table.c.deadline_key == key, _table.c.status == MISSED)
            .order_by(_table.c.logical_time)
        )
        return [_deadline(row) for row in rows]

    def latest(self, key: str) -> DeadlineRow | None:
        """The row of ``key`` with the latest logical time."""
        rows = self.storage.query(
            sa.select(_table)
            .where(_table.c.deadline_key == key)
            .order_by(_table.c.logical_time.desc())
            .limit(1)
        )
        return _deadline(rows[0]) if rows else None


def _row(key: str, logical_time: datetime) -> tuple[Any, ...]:
    return (_table.c.deadline_key == key, _table.c.logical_time == logical_time)


def _deadline(row: Mapping[str, Any]) -> DeadlineRow:
    return DeadlineRow(
        deadline_key=row["deadline_key"],
        logical_time=row["logical_time"],
        due_at=row["due_at"],
        status=row["status"],
        reason=row["reason"],
        alert_id=row["alert_id"],
        raised_at=row["raised_at"],
        recovered_at=row["recovered_at"],
        met_by_run_id=row["met_by_run_id"],
    )
