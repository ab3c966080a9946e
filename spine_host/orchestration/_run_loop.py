"""The coordinating loop of one run: decide what may start, submit it, watch it, record it.

One thread (the caller of ``run``/``resume``) owns all decisions and all history writes; steps
run on the executor's workers and only return an :class:`AttemptOutcome`. Each turn of the loop
writes what changed at most every 50 ms, in one transaction (through an
:class:`~spine_host.orchestration._attempt_writer.AttemptWriter`), and everything before
``run()`` returns. So a thousand quick steps cost a few dozen commits, not a
thousand; a step that starts and ends between two writes is one row insert; a longer step shows
as RUNNING within 50 ms, which is what crash recovery and ``spine runs show`` need. If the
process dies, at most the last 50 ms of finished steps are unrecorded: resume runs them again,
as it would a step that was running.

Timeouts: Python cannot kill a thread. When an attempt overruns its timeout (or the run
overruns its own), the loop records the attempt TIMED_OUT, sets its ``context.cancelled`` event,
stops waiting for it and ignores whatever it returns later; its worker thread runs on in the
background until the step's code returns.

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

import heapq
import itertools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration._attempt_writer import AttemptWriter
from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus
from spine_host.orchestration.steps import (
    AttemptOutcome,
    StepContext,
    declared_params,
    json_safe,
    pipeline_step_params,
    run_attempt,
    step_retry_policy,
)
from spine_host.orchestration.workflow import Branch, OnFailure, Step, Workflow
from spine_host.pipelines.context import ExecutionContext, new_id
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.contracts import Executor
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.retry import RetryPolicy

__all__ = ["KeptStep", "RunLoop", "RunOutcome"]


@attrs.frozen
class KeptStep:
    """A step a resumed run does not run again: its final status and stored outputs."""

    status: StepStatus
    outputs: Any = None


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


@attrs.define
class _Live:
    """An attempt the loop is waiting for."""

    step: Step
    record: StepAttempt
    context: StepContext
    tries: int
    deadline: float | None


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
        self.history = history
        self.workflow = workflow
        self.run = run
        self.executor = executor
        self.steps = {step.name: step for step in workflow.steps}
        self.done: dict[str, KeptStep] = dict(kept or {})
        # Steps skipped because something they need failed: their dependents skip too.
        self.blocked: set[str] = set()
        self.final: dict[str, StepAttempt] = {}
        self.next_attempt = dict(next_attempt or {})
        # Ready steps come out in workflow order; each waits for its undecided parents.
        self.position = {name: index for index, name in enumerate(workflow.order)}
        self.children: dict[str, list[str]] = {name: [] for name in workflow.order}
        for step in workflow.steps:
            for parent in step.needs:
                self.children[parent].append(step.name)
        self.undecided: dict[str, int] = {}
        self.ready: list[tuple[int, str]] = []
        for name in workflow.order:
            if name not in self.done:
                waiting = sum(1 for p in self.steps[name].needs if p not in self.done)
                self.undecided[name] = waiting
                if not waiting:
                    heapq.heappush(self.ready, (self.position[name], name))
        self.live: dict[Future[AttemptOutcome], _Live] = {}
        self.retries: list[tuple[float, int, str, int]] = []  # (due, tiebreak, step, tries)
        self._tiebreak = itertools.count()
        self.stop_error: SpineError | None = None
        self.first_error: SpineError | None = None
        self.run_context = ExecutionContext(
            execution_id=run.run_id,
            batch_id=run.run_id,
            triggered_by=f"workflow:{run.run_id}",
            host=host,
            logical_date=run.logical_date,
        )
        self._declared: dict[str, frozenset[str]] = {}
        self._policies: dict[str, RetryPolicy] = {}
        self.writer = AttemptWriter(host, history, run, owner)

    # -- the loop ------------------------------------------------------------------------------

    def execute(self) -> RunOutcome:
        """Run until every step is decided, a ``stop`` failure drains, or the run times out."""
        run_deadline = time.monotonic() + self.workflow.timeout if self.workflow.timeout else None
        while True:
            self._schedule()
            if self._taken():
                return self._give_up()
            waiting_retry = bool(self.retries) and self.stop_error is None
            if not self.live and not waiting_retry:
                break
            now = time.monotonic()
            if run_deadline is not None and now >= run_deadline:
                self._time_out_run()
                if self._taken():
                    return self._give_up()
                return RunOutcome(RunStatus.TIMED_OUT, self._run_timeout_error(), self.final)
            wake = [run_deadline] if run_deadline is not None else []
            wake += [live.deadline for live in self.live.values() if live.deadline is not None]
            if waiting_retry:
                wake.append(self.retries[0][0])
            timeout = max(0.0, min(wake) - now) if wake else None
            if self.writer.pending:
                due = self.writer.next_due(now)
                timeout = due if timeout is None else min(timeout, due)
            if self.poll_interval is not None:  # wake up to notice a lost run promptly
                poll = self.poll_interval
                timeout = poll if timeout is None else min(timeout, poll)
            if self.live:
                ended, _ = wait(list(self.live), timeout=timeout, return_when=FIRST_COMPLETED)
                for future in ended:
                    self._attempt_ended(self.live.pop(future), _outcome(future, self.host))
            else:  # only a retry is due later: record what we have, then wait for it
                self.writer.flush()
                time.sleep(timeout or 0.0)
            self._expire_attempts()
            if self.writer.next_due(time.monotonic()) == 0:
                self.writer.flush()
        self.writer.flush()
        if self._taken():
            return self._give_up()
        return RunOutcome(self._final_status(), self.stop_error or self.first_error, self.final)

    # -- deciding ------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start or skip every step whose dependencies are decided, within the concurrency."""
        if self.stop_error is not None:
            return
        now = time.monotonic()
        while self.retries and self.retries[0][0] <= now and self._has_room():
            if not self._still_owned():
                return
            _, _, name, tries = heapq.heappop(self.retries)
            self._start(self.steps[name], tries + 1)
        while self.ready and self.stop_error is None and self._has_room():
            if not self._still_owned():
                return
            _, name = heapq.heappop(self.ready)
            step = self.steps[name]
            skip = self._skip_reason(step)
            if skip is not None:
                self._skip(step, skip)
            else:
                self._start(step, 1)

    def _skip_reason(self, step: Step) -> SpineError | str | None:
        """Why ``step`` must not run: an error (upstream failed), "condition", or None."""
        failed = [
            parent
            for parent in step.needs
            if self.done[parent].status.failed or parent in self.blocked
        ]
        if failed:
            return SpineError(
                f"not run: step(s) {', '.join(failed)} it depends on did not complete",
                category=ErrorCategory.DEPENDENCY,
            )
        if step.needs and all(self.done[p].status is StepStatus.SKIPPED for p in step.needs):
            return "condition"  # only reachable through a branch that was not taken
        if step.condition is None:
            return None
        inputs = self._inputs(step)
        params = self.workflow.params_for(step, self.run.params)
        if isinstance(step.condition, Branch):
            return None if step.condition.taken(inputs) else "condition"
        try:
            return None if step.condition(inputs, params) else "condition"
        except Exception as exc:
            error = self.host.classify(exc)
            return SpineError(
                f"condition of step {step.name!r} raised: {error.message}",
                category=error.category,
                cause=exc,
            )

    def _params(self, step: Step) -> dict[str, Any]:
        """Defaults < run params < step params; a pipeline gets only the shared ones it declares."""
        params = self.workflow.params_for(step, self.run.params)
        if step.pipeline is None:
            return params
        if step.pipeline not in self._declared:
            self._declared[step.pipeline] = declared_params(self.host, step.pipeline)
        return pipeline_step_params(params, step.params, self._declared[step.pipeline])

    def _decide(self, name: str, outcome: KeptStep) -> None:
        """Record a step's final state and release the steps that were waiting only for it."""
        self.done[name] = outcome
        for child in self.children[name]:
            if child in self.undecided:
                self.undecided[child] -= 1
                if self.undecided[child] == 0:
                    heapq.heappush(self.ready, (self.position[child], child))

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

    def _retry_policy(self, step: Step) -> RetryPolicy:
        if step.name not in self._policies:
            self._policies[step.name] = step_retry_policy(self.host, step)
        return self._policies[step.name]

    def _has_room(self) -> bool:
        return len(self.live) < self.workflow.max_concurrency

    def _inputs(self, step: Step) -> dict[str, Any]:
        return {
            parent: self.done[parent].outputs
            for parent in step.needs
            if self.done[parent].status is StepStatus.COMPLETED
        }

    # -- acting --------------------------------------------------------------------------------

    def _start(self, step: Step, tries: int) -> None:
        attempt = self.next_attempt.get(step.name, 1)
        self.next_attempt[step.name] = attempt + 1
        params = self._params(step)
        record = StepAttempt(
            run_id=self.run.run_id,
            step_name=step.name,
            attempt=attempt,
            status=StepStatus.RUNNING,
            pipeline=step.pipeline,
            execution_id=new_id(),
            params=json_safe(params),
            started_at=utc_now(),
        )
        context = StepContext(
            run_id=self.run.run_id,
            workflow=self.workflow.name,
            step_name=step.name,
            attempt=attempt,
            host=self.host,
            execution=self.run_context.child(execution_id=record.execution_id),
            logical_date=self.run.logical_date,
        )
        future = self.executor.submit(run_attempt, step, context, self._inputs(step), params)
        deadline = time.monotonic() + step.timeout if step.timeout else None
        self.live[future] = _Live(step, record, context, tries, deadline)
        self.writer.started(record)
        self.run.steps.append(record)

    def _skip(self, step: Step, reason: SpineError | str) -> None:
        now = utc_now()
        attempt = self.next_attempt.get(step.name, 1)
        self.next_attempt[step.name] = attempt + 1
        record = StepAttempt(
            run_id=self.run.run_id,
            step_name=step.name,
            attempt=attempt,
            status=StepStatus.SKIPPED,
            pipeline=step.pipeline,
            started_at=now,
            finished_at=now,
        )
        if isinstance(reason, SpineError):
            if reason.category is ErrorCategory.DEPENDENCY:
                self.blocked.add(step.name)
                _set_error(record, reason)
                self._decide(step.name, KeptStep(StepStatus.SKIPPED))
            else:  # the condition itself failed: that is the step's failure
                record.status = StepStatus.FAILED
                _set_error(record, reason)
                self._decide(step.name, KeptStep(StepStatus.FAILED))
                self._step_failed(step, reason)
        else:
            self._decide(step.name, KeptStep(StepStatus.SKIPPED))
        self.final[step.name] = record
        self.writer.started(record)
        self.writer.finished(record)
        self.run.steps.append(record)

    def _attempt_ended(self, live: _Live, outcome: AttemptOutcome) -> None:
        record = live.record
        record.status = outcome.status
        record.finished_at = utc_now()
        record.outputs = outcome.outputs
        record.execution_id = outcome.execution_id or record.execution_id
        record.rows_in = outcome.rows_in
        record.rows_out = outcome.rows_out
        record.rows_rejected = outcome.rows_rejected
        if outcome.error is not None:
            _set_error(record, outcome.error)
        self.writer.finished(record)
        if outcome.status is StepStatus.COMPLETED:
            self.final[record.step_name] = record
            self._decide(record.step_name, KeptStep(StepStatus.COMPLETED, outcome.outputs))
        else:
            self._failed_attempt(live, outcome.error or _unknown_failure(record))

    def _expire_attempts(self) -> None:
        now = time.monotonic()
        for future, live in list(self.live.items()):
            if live.deadline is not None and now >= live.deadline and not future.done():
                del self.live[future]
                live.context.cancelled.set()
                error = SpineError(
                    f"step {live.step.name!r} attempt {live.record.attempt} exceeded its "
                    f"timeout of {live.step.timeout:g}s and was abandoned",
                    category=ErrorCategory.TIMEOUT,
                )
                self._mark_timed_out(live, error)
                self._failed_attempt(live, error)

    def _failed_attempt(self, live: _Live, error: SpineError) -> None:
        policy = self._retry_policy(live.step)
        if live.tries < policy.max_attempts and policy.should_retry(error):
            due = time.monotonic() + policy.delay_for(live.tries, error)
            heapq.heappush(self.retries, (due, next(self._tiebreak), live.step.name, live.tries))
            return
        self.final[live.step.name] = live.record
        self._decide(live.step.name, KeptStep(live.record.status))
        self._step_failed(live.step, error)

    def _step_failed(self, step: Step, error: SpineError) -> None:
        self.first_error = self.first_error or error
        if step.on_failure is OnFailure.STOP and self.stop_error is None:
            self.stop_error = error
            self.ready.clear()  # nothing new starts; a resume runs what never did

    def _time_out_run(self) -> None:
        for live in self.live.values():
            live.context.cancelled.set()
            self._mark_timed_out(live, self._run_timeout_error())
            self.final[live.step.name] = live.record
        self.live.clear()
        self.writer.flush()

    def _mark_timed_out(self, live: _Live, error: SpineError) -> None:
        live.record.status = StepStatus.TIMED_OUT
        live.record.finished_at = utc_now()
        _set_error(live.record, error)
        self.writer.finished(live.record)

    def _run_timeout_error(self) -> SpineError:
        return SpineError(
            f"run exceeded the workflow timeout of {self.workflow.timeout:g}s",
            category=ErrorCategory.TIMEOUT,
        )

    def interrupt(self, error: SpineError) -> None:
        """End the run's live attempts CRASHED (cancelled) and write what is still buffered.

        For a runner stopped by Ctrl-C or a failure of its own; the caller ends the run.
        """
        now = utc_now()
        for live in self.live.values():
            live.context.cancelled.set()
            live.record.status = StepStatus.CRASHED
            live.record.finished_at = now
            _set_error(live.record, error)
            self.writer.finished(live.record)
        self.live.clear()
        self.ready.clear()
        self.retries.clear()
        if not self.writer.lost:
            self.writer.flush()

    def _give_up(self) -> RunOutcome:
        """Stop working on a run that was taken away: cancel live attempts, write nothing."""
        for live in self.live.values():
            live.context.cancelled.set()
        self.live.clear()
        self.ready.clear()
        self.retries.clear()
        self.writer.drop()
        error = SpineError(
            f"run {self.run.run_id} was taken from this runner (its heartbeat was found stale "
            "and the run reaped); it stopped without recording more",
            category=ErrorCategory.INTERNAL,
        )
        return RunOutcome(RunStatus.CRASHED, error, self.final, lost=True)

    # -- concluding ---------------------------------------------------------------------------

    def _final_status(self) -> RunStatus:
        if self.stop_error is not None:
            return RunStatus.FAILED
        if any(kept.status.failed for kept in self.done.values()):
            return RunStatus.PARTIAL
        return RunStatus.COMPLETED


def _set_error(record: StepAttempt, error: SpineError) -> None:
    record.error = error.to_dict()
    record.error_category = error.category.value


def _outcome(future: Future[AttemptOutcome], host: Host) -> AttemptOutcome:
    """The attempt's outcome; an executor that raised instead (a plugin's) becomes a failure."""
    exc = future.exception()
    if exc is None:
        return future.result()
    return AttemptOutcome(status=StepStatus.FAILED, error=host.classify(exc))


def _unknown_failure(record: StepAttempt) -> SpineError:
    return SpineError(
        f"step {record.step_name!r} failed without an error", category=ErrorCategory.INTERNAL
    )
