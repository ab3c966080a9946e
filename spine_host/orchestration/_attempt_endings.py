"""Ending, from outside, the attempts (and their pipeline executions) that a run left RUNNING.

The reaper (CRASHED), an interrupted runner (CRASHED) and a cancellation whose runner is gone
(CANCELLED) all end a run in one transaction with its RUNNING attempts. An attempt ended so
cannot end its own pipeline execution (it is fenced, or its process is dead), so the same
transaction ends the execution too. Executions have no CANCELLED status: the execution of a
cancelled attempt ends CRASHED, which frees its idempotency key for the run that does the work
again, with the cancellation as its error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.records import StepStatus
from spine_host.storage import schema

__all__ = [
    "CANCELLED_EXECUTION_ERROR",
    "end_executions",
    "end_running_attempts",
    "execution_status",
]

_steps = schema.workflow_steps
_executions = schema.executions

#: The error of the execution of an attempt let go because its run was cancelled.
CANCELLED_EXECUTION_ERROR = SpineError(
    "its workflow run was cancelled; the step was let go", category=ErrorCategory.INTERNAL
).to_dict()


def end_running_attempts(
    connection: sa.Connection,
    run_id: str,
    status: StepStatus,
    error: dict[str, Any] | None,
    at: datetime,
    *,
    execution_error: dict[str, Any] | None = None,
) -> None:
    """End the RUNNING attempts of run ``run_id`` with ``status`` and ``error``, their
    executions too (with ``execution_error`` when given, else ``error``)."""
    running = sa.select(_steps.c.execution_id).where(
        _steps.c.run_id == run_id,
        _steps.c.status == StepStatus.RUNNING.value,
        _steps.c.execution_id.is_not(None),
    )
    executions = [row[0] for row in connection.execute(running)]
    end_executions(connection, executions, execution_status(status), execution_error or error, at)
    connection.execute(
        _steps.update()
        .where(_steps.c.run_id == run_id, _steps.c.status == StepStatus.RUNNING.value)
        .values(
            status=status.value,
            finished_at=at,
            error=error,
            error_category=(error or {}).get("category"),
        )
    )


def end_executions(
    connection: sa.Connection,
    execution_ids: Sequence[str],
    status: str,
    error: dict[str, Any] | None,
    at: datetime,
) -> None:
    """End the still-open executions among ``execution_ids`` with ``status`` (CRASHED...)."""
    if not execution_ids:
        return
    connection.execute(
        _executions.update()
        .where(
            _executions.c.execution_id.in_(list(execution_ids)),
            _executions.c.status.in_(["PENDING", "RUNNING"]),
        )
        .values(
            status=status,
            finished_at=at,
            error=error,
            error_category=(error or {}).get("category"),
        )
    )


def execution_status(status: StepStatus) -> str:
    """The status an execution gets when its attempt is let go with ``status``."""
    return StepStatus.CRASHED.value if status is StepStatus.CANCELLED else status.value
