"""Everything the run page shows about one run, read through the CLI's repositories.

``WorkflowHistoryRepository.get_run`` (the run and every attempt), ``StepLogRepository.list``
(what each attempt logged), the runs that retried it (``parent_run_id``, indexed), and the
dashboard's own audit rows for it. The timeline is computed from the attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import sqlalchemy as sa

from spine_host.api import Host
from spine_host.cli.run_steps import attempt_note
from spine_host.orchestration.history import REOPENABLE_RUN_STATUSES, WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepAttempt, WorkflowRun
from spine_host.orchestration.step_logs import StepLogRecord, StepLogRepository
from spine_host.orchestration.workflow import Workflow
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from spine_web.audit import AuditEntry, AuditLog
from spine_web.timeline import Timeline, attempt_anchor, build_timeline

__all__ = ["AttemptView", "RunDetail", "load_run"]

_runs = schema.workflow_runs
_executions = schema.executions


@attrs.frozen(kw_only=True)
class AttemptView:
    """One attempt as the attempts table shows it, with its log lines."""

    attempt: StepAttempt
    anchor: str
    note: str | None
    logs: list[StepLogRecord]
    #: The pipeline execution it recorded, if any (a callable step records none).
    execution_id: str | None


@attrs.frozen(kw_only=True)
class RunDetail:
    """The run page's content."""

    run: WorkflowRun
    attempts: list[AttemptView]
    not_started: list[str]
    timeline: Timeline
    retries: list[WorkflowRun]
    audit: list[AuditEntry]
    registered: bool

    @property
    def resumable(self) -> bool:
        """Whether ``resume`` may reopen it (failed, partial, crashed...; never COMPLETED)."""
        return self.registered and self.run.status.value in REOPENABLE_RUN_STATUSES

    @property
    def retriable(self) -> bool:
        """Whether ``retry`` may start a new run of it (it has ended)."""
        return self.registered and self.run.finished

    @property
    def cancellable(self) -> bool:
        """Whether ``cancel`` applies (it is running)."""
        return self.run.status is RunStatus.RUNNING

    @property
    def execution_ids(self) -> list[str]:
        """The pipeline executions its attempts recorded, in start order."""
        return [view.execution_id for view in self.attempts if view.execution_id]


def load_run(
    host: Host, run_id: str, *, audit: AuditLog | None = None, now: datetime | None = None
) -> RunDetail | None:
    """The run page's content for ``run_id``; None for an unknown run.

    ``audit``: where the dashboard's actions are recorded (None when its table is missing).
    """
    storage = host.storage
    history = WorkflowHistoryRepository(storage)
    run = history.get_run(run_id)
    if run is None:
        return None
    order = step_order(host, run.workflow)
    logs: dict[tuple[str, int], list[StepLogRecord]] = {}
    for record in StepLogRepository(storage).list(run_id):
        logs.setdefault(record.attempt_key, []).append(record)
    recorded = _recorded_executions(host, [a.execution_id for a in run.steps if a.execution_id])
    attempts = [
        AttemptView(
            attempt=attempt,
            anchor=attempt_anchor(attempt.step_name, attempt.attempt),
            note=attempt_note(attempt),
            logs=logs.get((attempt.step_name, attempt.attempt), []),
            execution_id=attempt.execution_id if attempt.execution_id in recorded else None,
        )
        for attempt in run.steps
    ]
    attempted = {attempt.step_name for attempt in run.steps}
    retries = [
        WorkflowRun.from_row(row)
        for row in storage.query(
            sa.select(_runs)
            .where(_runs.c.parent_run_id == run_id)
            .order_by(_runs.c.started_at, _runs.c.run_id)
        )
    ]
    return RunDetail(
        run=run,
        attempts=attempts,
        not_started=[name for name in order if name not in attempted],
        timeline=build_timeline(run, order, now or utc_now()),
        retries=retries,
        audit=audit.of_target("run", run_id) if audit is not None else [],
        registered=run.workflow in host.registries.workflows,
    )


def _recorded_executions(host: Host, execution_ids: list[str]) -> set[str]:
    """Which of ``execution_ids`` have an ``executions`` row (by primary key)."""
    if not execution_ids:
        return set()
    rows = host.storage.query(
        sa.select(_executions.c.execution_id).where(_executions.c.execution_id.in_(execution_ids))
    )
    return {row["execution_id"] for row in rows}


def step_order(host: Host, workflow: str) -> Sequence[str]:
    """The workflow's steps in run order, when a plugin still registers it; else none."""
    registry = host.registries.workflows
    if workflow not in registry:
        return []
    found = registry.get(workflow)
    return list(found.order) if isinstance(found, Workflow) else []
