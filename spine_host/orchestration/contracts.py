"""What orchestration hooks exchange with plugins: workflows, schedules, executors and runs.

These are structural contracts: the concrete classes (``Workflow``, ``Schedule``,
``WorkflowRun``...) satisfy them, and a plugin may pass any object that does.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from spine_host.orchestration.step_ref import StepWork
    from spine_host.orchestration.steps import AttemptOutcome

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
    """Where workflow steps run: threads in this process, or a plugin's workers (Celery).

    The runner hands each attempt over as a :class:`~spine_host.orchestration.step_ref.StepWork`
    and waits on the returned future for its
    :class:`~spine_host.orchestration.steps.AttemptOutcome`. An in-process executor calls
    ``work.run_here()`` on one of its threads. A remote executor sets the class attribute
    ``remote = True`` and sends ``work.ref.to_json()`` (names, params, run id, attempt, fencing
    token; never a closure) to a worker, which runs it with
    :func:`~spine_host.orchestration.remote_worker.run_step_ref` and sends back
    ``outcome_to_json(...)``; the runner then refuses steps a worker could not rebuild and
    watches the attempts' heartbeats. An executor that cannot take the work raises from
    ``submit``: the attempt is recorded FAILED with the executor's message.

    An executor class is built per run: ``cls.from_host(host, name, config)`` when the class
    has that classmethod (``config`` structured from ``[executors.NAME]`` into its ``Config``
    attrs class, or the raw table), else ``cls()``.
    """

    def submit(self, work: StepWork) -> Future[AttemptOutcome]:
        """Start the attempt ``work`` and return a future for its outcome."""

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
