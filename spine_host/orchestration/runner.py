"""The :class:`WorkflowRunner`: run, resume and retry workflows, with history and crash recovery.

::

    runner = WorkflowRunner(host)
    run = runner.run("otc.weekly", {"week_ending": "2025-12-26"})
    if run.status != "COMPLETED":
        run = runner.resume(run.run_id)          # same run id; finished steps are not re-run

Guarantees:

- history is complete when ``run()``/``resume()`` return: the run row and every attempt row
  (one per attempt) are committed;
- write-ahead: a step's attempt is recorded RUNNING before it is submitted, and its end before
  any step that depends on it starts, so a process killed at any moment never makes resume
  run a finished step again;
- a run writes a heartbeat while it is alive; when a runner starts it first reaps runs (and
  pipeline executions) whose owner is gone: its process is dead on this host, or its heartbeat
  went stale (CRASHED, with ``spine_run_finished`` fired for each). On SQLite a live process
  is never reaped: a step holding the write lock also holds up its runner's heartbeat;
- fencing: each attempt's commits through spine's storage are accepted only while this runner
  owns the run and has not let the attempt go (timed out, run taken), see
  :mod:`spine_host.storage.fencing`;
- a runner whose run was reaped stops: it starts no further step, cancels its live attempts and
  writes nothing more, so the reaper's record (and a resume's new attempts) stand;
- a run someone asked to cancel (``spine runs cancel``, from any process) starts no further
  step; its runner sees the request at its next heartbeat, lets its live attempts go (fenced:
  nothing they commit through spine counts) and records them CANCELLED, and the run ends
  CANCELLED with ``spine_run_finished``; steps that never started have no attempt (see
  :mod:`~spine_host.orchestration.cancellation`);
- what each attempt's code logs (any logger, INFO and above, on its own thread) is kept in
  ``workflow_step_logs``, redacted and bounded, and written before the run's end is
  (see :mod:`~spine_host.orchestration.step_logs`);
- an interrupted runner (Ctrl-C, a storage failure) writes what it buffered, ends its RUNNING
  attempts CRASHED and the run FAILED before the exception propagates;
- a pipeline step whose work an earlier run already did (manifest stage reached) is SKIPPED
  with ``skip_reason`` ``stage reached``, counted in ``steps_skipped``, and its dependents run;
- ``resume`` keeps COMPLETED and SKIPPED steps (and their stored outputs) and re-runs failed,
  crashed, timed-out, cancelled and never-started steps and everything downstream of them
  (a CANCELLED run is resumed like a FAILED one); ``retry``
  starts a new run linked to the old one through ``parent_run_id``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.orchestration._log_capture import capturing
from spine_host.orchestration._run_loop import RunLoop, RunOutcome
from spine_host.orchestration._run_plan import KeptStep
from spine_host.orchestration.cancellation import CancelWatch
from spine_host.orchestration.heartbeat import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_STALE_AFTER,
    Heartbeat,
    new_owner,
    reap,
    stale_after_problem,
)
from spine_host.orchestration.history import REOPENABLE_RUN_STATUSES, WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus, WorkflowRun
from spine_host.orchestration.remote_check import check_remote
from spine_host.orchestration.steps import declared_params, pipeline_step_params
from spine_host.orchestration.workflow import Workflow
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.contracts import Executor
    from spine_host.pipelines.execution import Execution

__all__ = ["WorkflowRunner"]

log = logging.getLogger(__name__)


class WorkflowRunner:
    """Runs workflows on a host and keeps their history in the host's storage.

    Args:
        host: registries (workflows, pipelines, executors), storage and hooks.
        heartbeat_interval: seconds between heartbeats of a live run.
        stale_after: seconds without a heartbeat after which a RUNNING run is CRASHED.
        reap_on_start: reap stale runs before this runner's first run (the default).
    """

    def __init__(
        self,
        host: Host,
        *,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        stale_after: float = DEFAULT_STALE_AFTER,
        reap_on_start: bool = True,
    ) -> None:
        problem = stale_after_problem(stale_after, heartbeat_interval)
        if problem is not None:
            raise SpineError(f"stale_after: {problem}", category=ErrorCategory.CONFIG)
        self.host = host
        self.history = WorkflowHistoryRepository(host.storage)
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self._reaped = not reap_on_start

    # -- public --------------------------------------------------------------------------------

    def run(
        self,
        workflow: Workflow | str,
        params: Mapping[str, Any] | None = None,
        *,
        triggered_by: str = "manual",
        schedule_name: str | None = None,
        logical_date: datetime | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        executor: str | None = None,
    ) -> WorkflowRun:
        """Run ``workflow`` (an object or a registered name) to a terminal state.

        ``run_id`` names the run in advance (a new id by default), so a caller can record a
        link to the run (a schedule fire) before the run starts. ``executor`` runs its steps
        on another registered executor than the workflow's own (``celery``); a remote one
        refuses, before anything is recorded, a workflow its workers could not rebuild.
        """
        self._reap_once()
        workflow = self._on_executor(self.workflow(workflow), executor)
        self._check_pipelines(workflow)
        self._check_params(workflow, params or {})
        steps_on = self._executor(workflow)
        owner = new_owner()
        now = utc_now()
        run = WorkflowRun(
            run_id=run_id or uuid.uuid4().hex,
            workflow=workflow.name,
            status=RunStatus.RUNNING,
            params=json_safe(dict(params or {})),
            triggered_by=triggered_by,
            parent_run_id=parent_run_id,
            schedule_name=schedule_name,
            logical_date=logical_date,
            owner=owner,
            heartbeat_at=now,
            steps_total=len(workflow.steps),
            started_at=now,
        )
        try:
            self.history.save_run(run)
        except BaseException:
            steps_on.shutdown(wait=False)
            raise
        return self._execute(workflow, run, owner, steps_on)

    def resume(
        self, run_id: str, from_step: str | None = None, *, executor: str | None = None
    ) -> WorkflowRun:
        """Finish run ``run_id`` in place: same id, completed steps kept, the rest re-run.

        ``from_step`` also re-runs that step and everything downstream of it, completed or not;
        ``executor`` as in :meth:`run`.
        Raises NOT_FOUND for an unknown run or step, VALIDATION for a COMPLETED or live run.
        """
        self._reap_once()
        stored = self.history.require_run(run_id)
        if stored.status in (RunStatus.COMPLETED, RunStatus.RUNNING):
            raise SpineError(
                f"run {run_id} is {stored.status.value}; only "
                f"{', '.join(sorted(REOPENABLE_RUN_STATUSES))} runs can be resumed",
                category=ErrorCategory.VALIDATION,
            )
        workflow = self._on_executor(self.workflow(stored.workflow), executor)
        self._check_pipelines(workflow)
        if from_step is not None:
            workflow.step(from_step)  # NOT_FOUND before the run is reopened
        steps_on = self._executor(workflow)
        owner = new_owner()
        # Plan from the history read after reopening: from here on nobody else writes this run.
        try:
            run = self.history.reopen(run_id, owner=owner)
        except BaseException:
            steps_on.shutdown(wait=False)
            raise
        latest = run.latest_attempts()
        rerun = {
            step.name
            for step in workflow.steps
            if step.name not in latest
            or latest[step.name].status not in (StepStatus.COMPLETED, StepStatus.SKIPPED)
        }
        if from_step is not None:
            rerun.add(from_step)
        for name in list(rerun):
            rerun |= workflow.dependents(name)
        kept = {
            name: KeptStep(attempt.status, attempt.outputs, attempt.skip_reason)
            for name, attempt in latest.items()
            if name not in rerun and name in {step.name for step in workflow.steps}
        }
        log.info("resuming run %s: re-running %s", run_id, ", ".join(sorted(rerun)) or "nothing")
        next_attempt = {name: attempt.attempt + 1 for name, attempt in latest.items()}
        return self._execute(workflow, run, owner, steps_on, kept=kept, next_attempt=next_attempt)

    def retry(self, run_id: str, *, executor: str | None = None) -> WorkflowRun:
        """Start a new run of the same workflow with the same params, linked by parent_run_id."""
        stored = self.history.require_run(run_id)
        if not stored.finished:
            raise SpineError(
                f"run {run_id} is still {stored.status.value}; retry a finished run, or reap it",
                category=ErrorCategory.VALIDATION,
            )
        return self.run(
            stored.workflow,
            stored.params,
            triggered_by="retry",
            schedule_name=stored.schedule_name,
            logical_date=stored.logical_date,
            parent_run_id=run_id,
            executor=executor,
        )

    def reap(self, stale_after: float | None = None) -> list[WorkflowRun]:
        """Mark RUNNING runs without a heartbeat for ``stale_after`` seconds CRASHED.

        Raises VALIDATION when ``stale_after`` is shorter than two heartbeat intervals: live
        runs would be reaped between two heartbeats.
        """
        if stale_after is None:
            stale_after = self.stale_after
        problem = stale_after_problem(stale_after, self.heartbeat_interval)
        if problem is not None:
            raise SpineError(f"cannot reap: {problem}", category=ErrorCategory.VALIDATION)
        return reap(self.host, self.history, stale_after)

    def reap_executions(self, stale_after: float | None = None) -> list[Execution]:
        """Mark PENDING/RUNNING pipeline executions whose owner is gone CRASHED.

        The same rule as :meth:`reap`: the owner's process is dead on this host, or its
        heartbeat is older than ``stale_after`` (and, on SQLite, its process is not alive).
        """
        from spine_host.pipelines.ownership import reap_executions

        if stale_after is None:
            stale_after = self.stale_after
        problem = stale_after_problem(stale_after, self.heartbeat_interval)
        if problem is not None:
            raise SpineError(f"cannot reap: {problem}", category=ErrorCategory.VALIDATION)
        return reap_executions(self.host, stale_after)

    def workflow(self, workflow: Workflow | str) -> Workflow:
        """A workflow object, looked up in the host's registry when given by name."""
        if isinstance(workflow, Workflow):
            return workflow
        found = self.host.registries.workflows.get(workflow)
        if not isinstance(found, Workflow):
            raise SpineError(
                f"workflow {workflow!r} is a {type(found).__name__}, not a spine Workflow",
                category=ErrorCategory.PLUGIN,
            )
        return found

    # -- internals -----------------------------------------------------------------------------

    def _execute(
        self,
        workflow: Workflow,
        run: WorkflowRun,
        owner: str,
        executor: Executor,
        *,
        kept: Mapping[str, KeptStep] | None = None,
        next_attempt: Mapping[str, int] | None = None,
    ) -> WorkflowRun:
        watch = CancelWatch(self.history, run.run_id)

        def beat() -> bool:
            alive = self.history.heartbeat(run.run_id, owner=owner)
            if alive:
                watch.check()
            return alive

        heartbeat = Heartbeat(beat, owner, self.heartbeat_interval, label=f"run {run.run_id}")
        heartbeat.start()
        loop: RunLoop | None = None
        try:
            with capturing():
                self.host.notify("spine_run_started", run=run)
                loop = RunLoop(
                    self.host,
                    self.history,
                    workflow,
                    run,
                    executor,
                    owner=owner,
                    kept=kept,
                    next_attempt=next_attempt,
                    should_stop=lambda: heartbeat.lost,
                    cancel_requested=lambda: watch.request,
                    poll_interval=self.heartbeat_interval,
                    heartbeat_interval=self.heartbeat_interval,
                    stale_after=self.stale_after,
                )
                watch.on_request = loop.wake
                outcome = loop.execute()
                loop.logs.close()  # every record written before the run's end is
        except BaseException as exc:
            # A storage failure or an interrupt: record what we can; a run left RUNNING would
            # otherwise wait for the reaper.
            heartbeat.stop()
            if loop is not None:
                loop.logs.close()
            self._abandon(run, owner, loop, exc)
            raise
        finally:
            heartbeat.stop()
            executor.shutdown(wait=False)
            if loop is not None:
                loop.writer.close()
        if outcome.lost or not self._finish(workflow, run, owner, outcome):
            log.warning(
                "run %s was taken from this runner (reaped?); it stopped and kept the record "
                "the reaper or the resuming runner wrote",
                run.run_id,
            )
            return self.history.require_run(run.run_id)
        self.host.notify("spine_run_finished", run=run)
        return run

    def _finish(
        self, workflow: Workflow, run: WorkflowRun, owner: str, outcome: RunOutcome
    ) -> bool:
        """Write the run's terminal state; False when it is no longer ``owner``'s to write."""
        self._conclude(workflow, run, outcome)
        return _while_locked(run.run_id, lambda: self.history.finish_run(run, owner=owner))

    def _conclude(self, workflow: Workflow, run: WorkflowRun, outcome: RunOutcome) -> None:
        """Fill the run's terminal fields from its attempts."""
        run.status = outcome.status
        run.finished_at = utc_now()
        if outcome.cancel is not None:  # as requested (the runner does not write these)
            run.cancel_requested_at = outcome.cancel.requested_at
            run.cancel_requested_by = outcome.cancel.requested_by
            run.cancel_reason = outcome.cancel.reason
        if outcome.error is not None and outcome.status is not RunStatus.COMPLETED:
            run.error = outcome.error.to_dict()
            run.error_category = outcome.error.category.value
        latest = run.latest_attempts()
        statuses = [attempt.status for attempt in latest.values()]
        run.steps_total = len(workflow.steps)
        run.steps_completed = statuses.count(StepStatus.COMPLETED)
        run.steps_failed = sum(1 for status in statuses if status.failed)
        run.steps_skipped = statuses.count(StepStatus.SKIPPED)  # done before, or not needed
        completed = [a for a in latest.values() if a.status is StepStatus.COMPLETED]
        run.rows_in = _total(completed, "rows_in")
        run.rows_out = _total(completed, "rows_out")
        run.rows_rejected = _total(completed, "rows_rejected")
        run.outputs = {
            name: latest[name].outputs
            for name in workflow.leaves
            if name in latest and latest[name].satisfied
        }

    def _abandon(
        self, run: WorkflowRun, owner: str, loop: RunLoop | None, exc: BaseException
    ) -> None:
        """Leave an interrupted run FAILED, its live attempts CRASHED, nothing RUNNING."""
        error = (
            self.host.classify(exc)
            if isinstance(exc, Exception)
            else SpineError(
                f"runner interrupted: {type(exc).__name__}", category=ErrorCategory.INTERNAL
            )
        )
        step_error = SpineError(
            f"the runner stopped while this step ran: {error.message}",
            category=ErrorCategory.INTERNAL,
            retryable=True,
        )
        if loop is not None:
            try:
                loop.interrupt(step_error)
            except SpineError:
                log.exception("could not record the attempts of run %s", run.run_id)
        run.status = RunStatus.FAILED
        run.finished_at = utc_now()
        run.error = error.to_dict()
        run.error_category = error.category.value
        try:
            abandoned = _while_locked(
                run.run_id,
                lambda: self.history.abandon_run(run, owner=owner, step_error=step_error.to_dict()),
            )
            if abandoned:
                self.host.notify("spine_run_finished", run=run)
        except SpineError:
            log.exception("could not record the failure of run %s", run.run_id)

    def _executor(self, workflow: Workflow) -> Executor:
        """The executor ``workflow``'s steps run on, checked able to run them."""
        executor = self.host.executor(workflow.executor)
        if getattr(executor, "remote", False):
            try:
                check_remote(self.host, workflow, workflow.executor)
            except BaseException:
                executor.shutdown(wait=False)
                raise
        return executor

    @staticmethod
    def _on_executor(workflow: Workflow, executor: str | None) -> Workflow:
        """``workflow`` with its steps on ``executor`` (itself when None or the same)."""
        if executor is None or executor == workflow.executor:
            return workflow
        return attrs.evolve(workflow, executor=executor)

    def _check_pipelines(self, workflow: Workflow) -> None:
        missing = [
            f"{step.name} -> {step.pipeline}"
            for step in workflow.steps
            if step.pipeline is not None and step.pipeline not in self.host.registries.pipelines
        ]
        if missing:
            raise SpineError(
                f"workflow {workflow.name!r} runs pipelines no plugin registered: "
                f"{', '.join(missing)}",
                category=ErrorCategory.NOT_FOUND,
            )

    def _check_params(self, workflow: Workflow, params: Mapping[str, Any]) -> None:
        """Refuse a run whose params cannot work, before anything runs or is recorded.

        Run params no step takes are refused (a typo would otherwise vanish silently), and each
        pipeline step's params are structured now, so a bad value (a Saturday where a Friday is
        needed) fails the command instead of the run's first step.
        """
        from spine_host.pipelines.params import structure_params
        from spine_host.pipelines.registration import pipeline_attributes

        declared = {
            step.pipeline: declared_params(self.host, step.pipeline)
            for step in workflow.steps
            if step.pipeline is not None
        }
        # Unknown names first: a typo (week_endin) must be reported as itself, not as the
        # required param (week_ending) it failed to provide.
        if all(step.pipeline is not None for step in workflow.steps):  # callables take anything
            accepted = set().union(*declared.values())
            unknown = sorted(set(params) - accepted)
            if unknown:
                raise SpineError(
                    f"workflow {workflow.name!r}: no step takes param(s) {', '.join(unknown)}; "
                    f"its pipelines take: {', '.join(sorted(accepted)) or 'nothing'}",
                    category=ErrorCategory.VALIDATION,
                )
        for step in workflow.steps:
            if step.pipeline is None:
                continue
            values = pipeline_step_params(
                workflow.params_for(step, params), step.params, declared[step.pipeline]
            )
            pipeline = self.host.registries.pipelines.get(step.pipeline)
            try:
                structure_params(step.pipeline, pipeline_attributes(pipeline).Params, values)
            except SpineError as exc:
                raise SpineError(
                    f"workflow {workflow.name!r}, step {step.name!r}: {exc.message}",
                    category=exc.category,
                    cause=exc,
                ) from exc

    def _reap_once(self) -> None:
        if not self._reaped:
            self._reaped = True
            self.reap()
            self.reap_executions()


def _while_locked(run_id: str, write: Callable[[], bool]) -> bool:
    """Run ``write`` until it is not refused for SQLite's write lock (held by someone else).

    The run's last writes must get through: a run that did its work and then failed to say so
    would stay RUNNING while its process lives (on SQLite a live process is never reaped).
    """
    while True:
        try:
            return write()
        except SpineError as exc:
            if not exc.context.get("database_locked"):
                raise
            log.warning("run %s: waiting for the database write lock to record its end", run_id)


def _total(attempts: list[StepAttempt], field: str) -> int | None:
    values = [getattr(attempt, field) for attempt in attempts]
    known = [value for value in values if value is not None]
    return sum(known) if known else None
