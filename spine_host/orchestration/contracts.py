"""What orchestration hooks exchange with plugins: workflows, schedules, executors and runs.

These are structural contracts: the concrete classes (``Workflow``, ``Schedule``,
``WorkflowRun``...) satisfy them, and a plugin may pass any object that does.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

__all__ = ["Executor", "RunRecord", "ScheduleFire", "ScheduleSpec", "StepRecord", "WorkflowSpec"]


@runtime_checkable
class WorkflowSpec(Protocol):
    """A named DAG of steps."""

    name: str


@runtime_checkable
class ScheduleSpec(Protocol):
    """A named trigger for a workflow or a pipeline."""

    name: str


@runtime_checkable
class Executor(Protocol):
    """Where workflow steps run: a thread pool, or a plugin submitting to Dask or Celery."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Start ``fn(*args, **kwargs)`` and return a future for its result."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; wait for running work when ``wait``."""


@runtime_checkable
class RunRecord(Protocol):
    """A workflow or pipeline run as observers see it."""

    run_id: str
    status: str


@runtime_checkable
class StepRecord(Protocol):
    """One attempt of one step as observers see it."""

    step_name: str
    status: str
    attempt: int


@runtime_checkable
class ScheduleFire(Protocol):
    """One fire of a schedule for a nominal (logical) time, in its current state."""

    schedule_name: str
    nominal_time: datetime
    status: str
    reason: str | None
    fired_by: str
    run_id: str | None
    execution_id: str | None
