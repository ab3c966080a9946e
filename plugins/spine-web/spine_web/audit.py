"""The audit log of dashboard actions: ``web_actions``, one row per action asked for.

::

    audit = AuditLog(host.storage)
    entry = audit.start("resume", "run", run_id, requested_by="web:alice", run_id=run_id)
    ...
    audit.finish(entry, "COMPLETED")

An action that finishes within its request (pause, cancel) is recorded with its outcome at
once; one that runs on (resume, retry, run now) is recorded STARTED and finished when its
background work ends, so a server stopped half-way leaves a STARTED row that says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.api import SpineError
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.types import utc_now
from spine_web.tables import web_actions

__all__ = ["STARTED", "AuditEntry", "AuditLog"]

#: The outcome of an action whose work goes on in the background.
STARTED = "STARTED"

_DETAIL_LENGTH = 1000


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One row of ``web_actions``."""

    action_id: int
    action_name: str
    target_kind: str
    target_name: str
    requested_by: str
    client_address: str | None
    requested_at: datetime
    finished_at: datetime | None
    outcome: str
    detail: str | None
    run_id: str | None


class AuditLog:
    """Writes and reads ``web_actions`` in ``storage``."""

    def __init__(self, storage: SqlAlchemyAdapter) -> None:
        self.storage = storage

    def available(self) -> bool:
        """Whether the table exists (``spine db upgrade`` ran with spine-web installed)."""
        try:
            self.storage.query(sa.select(web_actions.c.action_id).where(sa.false()))
        except SpineError:
            return False
        return True

    def record(
        self,
        action_name: str,
        target_kind: str,
        target_name: str,
        *,
        requested_by: str,
        outcome: str,
        client_address: str | None = None,
        detail: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Insert a row; return its id. An outcome other than STARTED is final."""
        now = utc_now()
        values: dict[str, Any] = {
            "action_name": action_name,
            "target_kind": target_kind,
            "target_name": target_name[:200],
            "requested_by": requested_by[:200],
            "client_address": (client_address or None) and client_address[:100],
            "requested_at": now,
            "finished_at": None if outcome == STARTED else now,
            "outcome": outcome,
            "detail": _short(detail),
            "run_id": run_id,
        }
        with self.storage.errors_classified(), self.storage.connection() as connection:
            result = connection.execute(sa.insert(web_actions).values(values))
            key = result.inserted_primary_key
            assert key is not None  # an INSERT of one row always has one
            return int(key[0])

    def finish(
        self, action_id: int, outcome: str, *, detail: str | None = None, run_id: str | None = None
    ) -> None:
        """Record how an action STARTED earlier ended."""
        values: dict[str, Any] = {"outcome": outcome, "finished_at": utc_now()}
        if detail is not None:
            values["detail"] = _short(detail)
        if run_id is not None:
            values["run_id"] = run_id
        self.storage.execute(
            sa.update(web_actions).where(web_actions.c.action_id == action_id).values(values)
        )

    def latest(self, *, limit: int = 100) -> list[AuditEntry]:
        """The latest actions, newest first."""
        statement = (
            sa.select(web_actions)
            .order_by(web_actions.c.requested_at.desc(), web_actions.c.action_id.desc())
            .limit(limit)
        )
        return [_entry(row) for row in self.storage.query(statement)]

    def of_target(self, target_kind: str, target_name: str, *, limit: int = 20) -> list[AuditEntry]:
        """The latest actions on one run or schedule, newest first."""
        statement = (
            sa.select(web_actions)
            .where(
                web_actions.c.target_kind == target_kind,
                web_actions.c.target_name == target_name,
            )
            .order_by(web_actions.c.requested_at.desc(), web_actions.c.action_id.desc())
            .limit(limit)
        )
        return [_entry(row) for row in self.storage.query(statement)]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(**{field.name: row[field.name] for field in attrs.fields(AuditEntry)})


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= _DETAIL_LENGTH:
        return text
    return text[: _DETAIL_LENGTH - 3] + "..."
