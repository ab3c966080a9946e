"""What the attempts of a workflow run logged: ``workflow_step_logs``, one row per record.

::

    logs = StepLogRepository(host.storage)
    for record in logs.list("1f3a...", step_name="fetch"):
        print(record.step_name, record.attempt, record.level, record.message)

Records are captured while a step's code runs (any logger, INFO and above; see
:mod:`~spine_host.orchestration._log_capture`), at most 1,000 per attempt with one last record
saying how many more were dropped, each message redacted through the host's redactor and cut
to 4,000 characters before it is stored. The run's runner writes them in batches
(:mod:`~spine_host.orchestration._log_writer`), in order within each attempt (``seq``), so a
reader that remembers the last ``seq`` it saw of each attempt reads only what is new
(:meth:`StepLogRepository.list` with ``after``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["StepLogRecord", "StepLogRepository"]

_logs = schema.workflow_step_logs


@attrs.frozen(kw_only=True)
class StepLogRecord:
    """One log record of one attempt of one step: a row of ``workflow_step_logs``."""

    run_id: str
    step_name: str
    attempt: int
    #: Its order within the attempt, from 1.
    seq: int
    logged_at: datetime
    level: str
    logger: str
    message: str

    @property
    def attempt_key(self) -> tuple[str, int]:
        """``(step_name, attempt)``: which attempt logged it."""
        return (self.step_name, self.attempt)

    def to_row(self) -> dict[str, Any]:
        """The ``workflow_step_logs`` row."""
        return attrs.asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StepLogRecord:
        """Build from a ``workflow_step_logs`` row."""
        return cls(**{name: row[name] for name in _FIELDS})

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for ``--json`` output."""
        data = self.to_row()
        data["logged_at"] = self.logged_at.isoformat()
        return data


class StepLogRepository:
    """Reads and writes the step logs of workflow runs.

    Args:
        storage: the host's storage adapter, whose database holds ``workflow_step_logs``.
    """

    def __init__(self, storage: DatabaseAdapter) -> None:
        self.storage = storage

    def write(self, records: Sequence[StepLogRecord]) -> None:
        """Insert ``records`` in one transaction."""
        if records:
            self.storage.executemany(_logs.insert(), [record.to_row() for record in records])

    def list(
        self,
        run_id: str,
        *,
        step_name: str | None = None,
        after: Mapping[tuple[str, int], int] | None = None,
    ) -> list[StepLogRecord]:
        """The records of run ``run_id`` (of one step when given), oldest first.

        ``after`` maps ``(step_name, attempt)`` to the last ``seq`` already read of that
        attempt: only later records of those attempts are returned (and every record of the
        others).
        """
        statement = sa.select(_logs).where(_logs.c.run_id == run_id)
        if step_name is not None:
            statement = statement.where(_logs.c.step_name == step_name)
        if after:
            seen = [
                sa.and_(
                    _logs.c.step_name == step,
                    _logs.c.attempt == attempt,
                    _logs.c.seq <= seq,
                )
                for (step, attempt), seq in after.items()
            ]
            statement = statement.where(sa.not_(sa.or_(*seen)))
        statement = statement.order_by(
            _logs.c.logged_at, _logs.c.step_name, _logs.c.attempt, _logs.c.seq
        )
        return [StepLogRecord.from_row(row) for row in self.storage.query(statement)]


_FIELDS = tuple(field.name for field in attrs.fields(StepLogRecord))
