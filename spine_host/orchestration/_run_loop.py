"""The coordinating loop of one run: decide what may start, submit it, watch it, record it.

One thread (the caller of ``run``/``resume``) owns all decisions and all history writes; steps
run on the executor's workers and only return an :class:`AttemptOutcome`. The loop asks its
:class:`~spine_host.orchestration._run_plan.RunPlan` what starts next, keeps the attempts it
waits for in :class:`~spine_host.orchestration._live_attempts.LiveAttempts` and records them
through an :class:`~spine_host.orchestration._attempt_ledger.AttemptLedger`.

Each turn of the loop writes what changed at most every 50 ms, in one transaction (through an
:class:`~spine_host.orchestration._attempt_writer.AttemptWriter`), and everything before
``run()`` returns. So a thousand quick steps cost a few dozen commits, not a
thousand; a step that starts and ends between two writes is one row insert; a longer step shows
as RUNNING within 50 ms, which is what crash recovery and ``spine runs show`` need. If the
process dies, at most the last 50 ms of finished steps are unrecorded: resume runs them again,
as it would a step that was running.

Ownership: the run belongs to this runner only while its row names this runner as owner and is
RUNNING. A reaper that found the heartbeat stale (and maybe a resume by another runner) takes
it away. The loop then stops at once: it starts nothing more, sets ``cancelled`` on the live
attempts, drops its unwritten attempts and returns a ``lost`` outcome, so the runner writes
nothing over the state the reaper or the new owner wrote. It learns of the loss from the
heartbeat (``should_stop``, checked before every step it starts and at least every
``poll_interval``) or from a refused write (``record_attempts`` checks ownership in the same
transaction as the write). No step starts more than 50 ms after the last write that found the
run still this runner's (see ``_still_owned``): a reaper needs two heartbeat intervals of
silence, so a frozen runner that wakes up after being reaped writes, is refused, and stops
before it starts anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration._attempt_ledger import AttemptLedger, unknown_failure
from spine_host.orchestration._attempt_writer import AttemptWriter
from spine_host.orchestration._live_attempts import (
    LiveAttempt,
    LiveAttempts,
    run_timeout_error,
    step_timeout_error,
)
from spine_host.orchestration._run_plan import KeptStep, RunPlan
from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus
from spine_host.orchestration.steps import AttemptOutcome, StepContext, run_attempt
from spine_host.pipelines.context import ExecutionContext

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.contracts import Executor
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.orchestration.workflow import Step, Workflow

__all__ = ["RunLoop", "RunOutcome"]


@attrs.frozen
class RunOutcome:
    """How the loop ended: the run's status and, when it did not complete, why.

    ``lost``: the run was taken from this runner (reaped); its record is not this loop's to
    write, and ``status`` means nothing.
    """

    status: RunStatus
    error: SpineError | None
    final: dict[str, StepAttempt]
    lost: bool = False


class RunLoop:
    """Runs the steps of ``workflow`` for ``run`` (a new run, or a resumed one with ``kept``).

    Args:
        host: for classification and hooks.
        history: where attempts are written.
        workflow: the DAG.
        run: the RUNNING run (its ``steps`` list receives every attempt recorded).
        executor: where steps run.
        owner: the runner owning ``run``; every history write is conditional on it.
        kept: steps a resume keeps (COMPLETED or SKIPPED, with outputs).
        next_attempt: per step, the first attempt number to use (resumes continue numbering).
        should_stop: True once the run was taken from this runner (the heartbeat saw it).
        poll_interval: longest wait between two ``should_stop`` checks while steps run.
    """

    def __init__(
        self,
        host: Host,
        history: WorkflowHistoryRepository,
        workflow: Workflow,
        run: WorkflowRun,
        executor: Executor,
        *,
        owner: str,
        kept: Mapping[str, KeptStep] | None = None,
        next_attempt: Mapping[str, int] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        poll_interval: float | None = None,
    ) -> None:
        self.host = host
        self.owner = owner
        self.should_stop = should_stop
        self.poll_interval = poll_interval
        self.workflow = workflow
        self.run = run
        self.executor = executor
        self.plan = RunPlan(host, workflow, run.params, kept)
        self.live = LiveAttempts(host)
        self.writer = AttemptWriter(host, history, run, owner)
        self.ledger = AttemptLedger(run, self.writer, next_attempt)
        self.run_context = ExecutionContext(
            execution_id=run.run_id,
            batch_id=run.run_id,
            triggered_by=f"workflow:{run.run_id}",
            host=host,
            logical_date=run.logical_date,
        )

    def execute(self) -> RunOutcome:
        """Run until every step is decided, a ``stop`` failure drains, or the run times out."""
        run_deadline = time.monotonic() + self.workflow.timeout if self.workflow.timeout else None
        while True:
            self._schedule()
            if self._taken():
                return self._give_up()
            waiting_retry = self.plan.waiting_for_retry
            if not self.live and not waiting_retry:
                break
            now = time.monotonic()
            if run_deadline is not None and now >= run_deadline:
                self._time_out_run()
                if self._taken():
                    return self._give_up()
                error = run_timeout_error(self.workflow)
                return RunOutcome(RunStatus.TIMED_OUT, error, self.ledger.final)
            wake = [run_deadline] if run_deadline is not None else []
            wake += self.live.deadlines()
            if waiting_retry:
                wake.append(self.plan.next_retry_due())
            timeout = max(0.0, min(wake) - now) if wake else None
            if self.writer.pending:
                due = self.writer.next_due(now)
                timeout = due if timeout is None else min(timeout, due)
            if self.poll_interval is not None:  # wake up to notice a lost run promptly
                poll = self.poll_interval
                timeout = poll if timeout is None else min(timeout, poll)
            if self.live:
                for live, outcome in self.live.wait(timeout):
                    self._attempt_ended(live, outcome)
            else:  # only a retry is due later: record what we have, then wait for it
                self.writer.flush()
                time.sleep(timeout or 0.0)
            self._expire_attempts()
            if self.writer.next_due(time.monotonic()) == 0:
                self.writer.flush()
        self.writer.flush()
        if self._taken():
            return self._give_up()
        return RunOutcome(self.plan.final_status(), self.plan.error, self.ledger.final)

    def interrupt(self, error: SpineError) -> None:
        """End the run's live attempts CRASHED (cancelled) and write what is still buffered.

        For a runner stopped by Ctrl-C or a failure of its own; the caller ends the run.
        """
        self.ledger.crashed([live.record for live in self.live.cancel_all()], error)
        self.plan.abandon()
        if not self.writer.lost:
            self.writer.flush()

    # -- starting ------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start or skip every step whose dependencies are decided, within the concurrency."""
        if self.plan.stopped:
            return
        now = time.monotonic()
        while self.plan.retry_due(now) and self._has_room():
            if not self._still_owned():
                return
            step, tries = self.plan.pop_retry()
            self._start(step, tries + 1)
        while self.plan.has_ready and self._has_room():
            if not self._still_owned():
                return
            step = self.plan.pop_ready()
            skip = self.plan.skip_reason(step)
            if skip is not None:
                self._skip(step, skip)
            else:
                self._start(step, 1)

    def _start(self, step: Step, tries: int) -> None:
        params = self.plan.params(step)
        record = self.ledger.new_attempt(step, params)
        context = StepContext(
            run_id=self.run.run_id,
            workflow=self.workflow.name,
            step_name=step.name,
            attempt=record.attempt,
            host=self.host,
            execution=self.run_context.child(execution_id=record.execution_id),
            logical_date=self.run.logical_date,
        )
        future = self.executor.submit(run_attempt, step, context, self.plan.inputs(step), params)
        deadline = time.monotonic() + step.timeout if step.timeout else None
        self.live.add(future, LiveAttempt(step, record, context, tries, deadline))
        self.ledger.started(record)

    def _skip(self, step: Step, reason: SpineError | str) -> None:
        if not isinstance(reason, SpineError):  # its condition (or branch) said no
            self.ledger.not_run(step, StepStatus.SKIPPED)
            self.plan.skipped(step.name, blocked=False)
        elif reason.category is ErrorCategory.DEPENDENCY:
            self.ledger.not_run(step, StepStatus.SKIPPED, reason)
            self.plan.skipped(step.name, blocked=True)
        else:  # the condition itself failed: that is the step's failure
            self.ledger.not_run(step, StepStatus.FAILED, reason)
            self.plan.failed(step, StepStatus.FAILED, reason)

    def _has_room(self) -> bool:
        return len(self.live) < self.workflow.max_concurrency

    # -- ending --------------------------------------------------------------------------------

    def _attempt_ended(self, live: LiveAttempt, outcome: AttemptOutcome) -> None:
        record = live.record
        self.ledger.ended(record, outcome)
        if outcome.status is StepStatus.COMPLETED:
            self.ledger.conclude(record)
            self.plan.completed(record.step_name, outcome.outputs)
        else:
            self._failed_attempt(live, outcome.error or unknown_failure(record))

    def _expire_attempts(self) -> None:
        for live in self.live.expire(time.monotonic()):
            error = step_timeout_error(live)
            self.ledger.timed_out(live.record, error)
            self._failed_attempt(live, error)

    def _failed_attempt(self, live: LiveAttempt, error: SpineError) -> None:
        if self.plan.retry_later(live.step, live.tries, error):
            return
        self.ledger.conclude(live.record)
        self.plan.failed(live.step, live.record.status, error)

    def _time_out_run(self) -> None:
        for live in self.live.cancel_all():
            self.ledger.timed_out(live.record, run_timeout_error(self.workflow))
            self.ledger.conclude(live.record)
        self.writer.flush()

    # -- ownership -----------------------------------------------------------------------------

    def _taken(self) -> bool:
        """True once the run is no longer this runner's (a write was refused, or the heartbeat)."""
        return self.writer.lost or self.should_stop()

    def _still_owned(self) -> bool:
        """Whether a step may start: the run was this runner's at a write under 50 ms ago.

        A reaper takes a run only after two heartbeat intervals without a sign of life, and
        every write of this loop is one (it checks ownership and refreshes the heartbeat). So
        when the last write is older than the write interval (a long step just ended, the
        process was frozen), this writes first, and a run lost meanwhile starts nothing more.
        """
        if self._taken():
            return False
        if self.writer.next_due(time.monotonic()) == 0:
            self.writer.flush(confirm=True)
        return not self.writer.lost

    def _give_up(self) -> RunOutcome:
        """Stop working on a run that was taken away: cancel live attempts, write nothing."""
        self.live.cancel_all()
        self.plan.abandon()
        self.writer.drop()
        error = SpineError(
            f"run {self.run.run_id} was taken from this runner (its heartbeat was found stale "
            "and the run reaped); it stopped without recording more",
            category=ErrorCategory.INTERNAL,
        )
        return RunOutcome(RunStatus.CRASHED, error, self.ledger.final, lost=True)
