"""The attempt write of the run loop at driver level: the hot path of write-ahead history.

Write-ahead costs one transaction per step in a chain (the end of one step and the start of the
next), and SQLAlchemy's per-statement work (execution context, cache lookup, result set-up)
cost more than the commit itself. So on SQLite and PostgreSQL the three statements of that
transaction (the ownership check, the inserts of new attempts, the updates of ended ones) are
compiled once per dialect by SQLAlchemy, from the same Core tables, and run on the driver's
cursor with the columns' own bind processors (JSON, UTC timestamps). Other dialects (DB2) take
the ordinary Core path in :mod:`~spine_host.orchestration.history`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus
from spine_host.storage import schema
from spine_host.storage.fencing import share_locked
from spine_host.storage.types import utc_now

__all__ = ["CLAIM_COLUMNS", "AttemptStatements", "attempt_statements"]

_runs = schema.workflow_runs
_steps = schema.workflow_steps
_KEY = ("run_id", "step_name", "attempt")
_FAST_DIALECTS = frozenset({"sqlite", "postgresql"})
#: Columns a remote executor's worker writes (its claim); the runner's writes leave them alone.
CLAIM_COLUMNS = frozenset({"worker", "claimed_at", "heartbeat_at"})


class _Compiled:
    """One statement compiled for a dialect, with how to turn a row into its parameters."""

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        order = getattr(compiled, "positiontup", None)  # qmark drivers: parameters in order
        names = list(order) if order else list(compiled.params)
        self.positional = bool(order)
        self.names = names
        self.defaults = dict(compiled.params)  # literal values (status = 'RUNNING') bound too
        processors: dict[str, Callable[[Any], Any] | None] = {}
        for name in names:
            column = _column_of(name)
            # dialect_impl: the type as this dialect runs it (JSON on SQLite, JSONB on
            # PostgreSQL), whose processor SQLAlchemy's own execution would apply.
            processors[name] = (
                column.type.dialect_impl(dialect).bind_processor(dialect)
                if column is not None
                else None
            )
        self.processors = processors

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        converted = {}
        for name in self.names:
            value = values[name] if name in values else self.defaults.get(name)
            if isinstance(value, enum.Enum):  # StepStatus: the driver gets its plain value
                value = value.value
            process = self.processors[name]
            converted[name] = process(value) if process is not None and value is not None else value
        return [converted[name] for name in self.names] if self.positional else converted


class AttemptStatements:
    """The ownership check, attempt insert and attempt update, compiled for one dialect."""

    def __init__(self, dialect: sa.Dialect) -> None:
        owned = sa.select(_runs.c.run_id, _runs.c.cancel_requested_at).where(
            _runs.c.run_id == sa.bindparam("run_id"),
            _runs.c.owner == sa.bindparam("owner"),
            _runs.c.status == RunStatus.RUNNING.value,
        )
        columns = [column.name for column in _steps.columns]
        locked = share_locked(owned, dialect)
        assert isinstance(locked, sa.ClauseElement)
        self.owned = _Compiled(locked, dialect)
        self.insert = _Compiled(
            _steps.insert().values({name: sa.bindparam(name) for name in columns}), dialect
        )
        changed = [
            name
            for name in columns
            if name not in _KEY and name != "created_at" and name not in CLAIM_COLUMNS
        ]
        self.update = _Compiled(
            _steps.update()
            .where(*(_steps.c[name] == sa.bindparam(f"key_{name}") for name in _KEY))
            .where(_steps.c.status == StepStatus.RUNNING.value)
            .values({name: sa.bindparam(name) for name in changed}),
            dialect,
        )

    def owned_state(self, cursor: Any, run_id: str, owner: str) -> bool | None:
        """None unless ``owner`` holds run ``run_id`` RUNNING (the row stays share-locked);
        else whether a cancellation of it was asked for."""
        cursor.execute(self.owned.sql, self.owned.parameters({"run_id": run_id, "owner": owner}))
        row = cursor.fetchone()
        return None if row is None else row[1] is not None

    def insert_attempts(self, cursor: Any, attempts: Sequence[StepAttempt]) -> None:
        """Insert ``attempts`` as they are."""
        now = utc_now()
        rows = [self.insert.parameters({**a.to_row(), "created_at": now}) for a in attempts]
        cursor.executemany(self.insert.sql, rows)

    def update_attempts(self, cursor: Any, attempts: Sequence[StepAttempt]) -> None:
        """Write the end of ``attempts`` over their rows, where those are still RUNNING.

        An attempt a remote worker ended itself already holds its end: the runner's copy of
        it changes nothing, and a runner's late verdict (a timeout) cannot overwrite it.
        """
        rows = []
        for attempt in attempts:
            values = attempt.to_row()
            values.update({f"key_{name}": values[name] for name in _KEY})
            rows.append(self.update.parameters(values))
        cursor.executemany(self.update.sql, rows)


def attempt_statements(dialect: sa.Dialect) -> AttemptStatements | None:
    """The driver-level statements for ``dialect``, or None where the Core path is used."""
    if dialect.name not in _FAST_DIALECTS:
        return None
    return _for_dialect(dialect)


@functools.cache
def _for_dialect(dialect: sa.Dialect) -> AttemptStatements:
    return AttemptStatements(dialect)


def _column_of(name: str) -> sa.Column[Any] | None:
    bare = name.removeprefix("key_")
    if bare in _steps.c:
        return _steps.c[bare]
    if bare in _runs.c:
        return _runs.c[bare]
    return None
