"""The coordinating loop of one run: decide what may start, submit it, watch it, record it.

One thread (the caller of ``run``/``resume``) owns all decisions and all history writes; steps
run on the executor's workers and only return an :class:`AttemptOutcome`. The loop asks its
:class:`~spine_host.orchestration._run_plan.RunPlan` what starts next, keeps the attempts it
waits for in :class:`~spine_host.orchestration._live_attempts.LiveAttempts` and records them
through an :class:`~spine_host.orchestration._attempt_ledger.AttemptLedger`.

Write-ahead: before the loop submits attempts it commits, in one transaction (through an
:class:`~spine_host.orchestration._attempt_writer.AttemptWriter`), their RUNNING rows together
with every attempt that ended since the last write. So a step's end is in the database before
any step that depends on it starts, and every attempt that ran is in the history: a process
killed at any moment leaves finished steps COMPLETED (resume does not run them again) and
running ones RUNNING (the reaper crashes them, resume runs them again). Other changes are
written at most every 50 ms, and everything before ``run()`` returns.

On SQLite a step may hold the database's one write lock for minutes; the runner's writes then
wait (each try up to the busy timeout) and are tried again, never failing the run: nothing new
starts until they went through (see ``_write``).

Each attempt runs under a :class:`~spine_host.storage.fencing.Fence` that checks, at every
commit the step makes through spine's storage, that this runner still owns the run. When the
loop lets an attempt go (its timeout passed, the run timed out, was interrupted or was taken)
it revokes the fence first: whatever the abandoned thread commits afterwards is refused.

Ownership: the run belongs to this runner only while its row names this runner as owner and is
RUNNING. A reaper that found the heartbeat stale (and maybe a resume by another runner) takes
it away. The loop then stops at once: it starts nothing more, sets ``cancelled`` on the live
attempts, drops its unwritten attempts and returns a ``lost`` outcome, so the runner writes
nothing over the state the reaper or the new owner wrote. It learns of the loss from the
heartbeat (``should_stop``, checked before every step it starts and at least every
``poll_interval``) or from a refused write (``record_attempts`` checks ownership in the same
transaction as the write). No step starts without a write, in the same turn, that found the
run still this runner's (see ``_schedule``): a frozen runner that wakes up after being reaped
writes, is refused, and stops before it starts anything; and the attempts it had running are
fenced by the same check at each of their commits.

Cancellation: someone asked for the run to stop (``spine runs cancel`` writes the request in
the run's row). The loop learns it from the heartbeat (``cancel_requested``, which also wakes
it) or from a write (the same ownership check reads the request, and refuses a write that
starts attempts). It then starts nothing more, lets its live attempts go (fence revoked, so
nothing they commit through spine's storage counts, ``cancelled`` set), records them
CANCELLED and returns a CANCELLED outcome; steps that never started stay without an attempt.
A run that already did all its work when it learns of the request ends as it would have.

Logs: each attempt gets an :class:`~spine_host.orchestration._log_capture.AttemptLog` from the
run's :class:`~spine_host.orchestration._log_writer.RunLogWriter` (``logs``), which writes the
records in batches on a thread of its own; the runner closes it before recording the run's end.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import wait as wait_for
from contextlib import suppress
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
from spine_host.orchestration._log_capture import run_logged
from spine_host.orchestration._log_writer import RunLogWriter
from spine_host.orchestration._run_plan import KeptStep, RunPlan
from spine_host.orchestration.attempt_claims import AttemptClaims
from spine_host.orchestration.heartbeat import DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_STALE_AFTER
from spine_host.orchestration.records import (
    SKIP_CONDITION,
    SKIP_UPSTREAM_FAILED,
    CancelRequest,
    RunStatus,
    StepAttempt,
    StepStatus,
)
from spine_host.orchestration.step_ref import StepRef, StepWork, recorded_outcome
from spine_host.orchestration.steps import AttemptOutcome, StepContext, run_attempt
from spine_host.pipelines.context import ExecutionContext
from spine_host.storage.fencing import Fence
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.contracts import Executor
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.orchestration.workflow import Step, Workflow

__all__ = ["RunLoop", "RunOutcome"]

#: Seconds before trying again to record starts that met SQLite's write lock.
_LOCK_RETRY = 0.1

log = logging.getLogger(__name__)


@attrs.frozen
class RunOutcome:
    """How the loop ended: the run's status and, when it did not complete, why.

    ``lost``: the run was taken from this runner (reaped); its record is not this loop's to
    write, and ``status`` means nothing. ``cancel``: the request a CANCELLED run ended for.
    """

    status: RunStatus
    error: SpineError | None
    final: dict[str, StepAttempt]
    lost: bool = False
    cancel: CancelRequest | None = None


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
        cancel_requested: the cancellation asked for the run, once the heartbeat saw one
            (call :meth:`wake` then, so the loop sees it at once).
        poll_interval: longest wait between two ``should_stop`` checks while steps run.
        heartbeat_interval: seconds between a remote worker's heartbeats of an attempt.
        stale_after: seconds without such a heartbeat after which the attempt is CRASHED (and
            retried by its step's policy); checked every ``heartbeat_interval``.
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
        cancel_requested: Callable[[], CancelRequest | None] = lambda: None,
        poll_interval: float | None = None,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        stale_after: float = DEFAULT_STALE_AFTER,
    ) -> None:
        self.host = host
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        #: Steps run in other processes: attempts are watched through their heartbeats.
        self.remote = bool(getattr(executor, "remote", False))
        self.claims = AttemptClaims(history.storage) if self.remote else None
        self._next_claim_check = 0.0
        self.history = history
        self.owner = owner
        self.should_stop = should_stop
        self.cancel_requested = cancel_requested
        self.poll_interval = poll_interval
        self.workflow = workflow
        self.run = run
        self.executor = executor
        self.plan = RunPlan(host, workflow, run.params, kept)
        self.live = LiveAttempts(host)
        self.writer = AttemptWriter(host, history, run, owner)
        self.ledger = AttemptLedger(run, self.writer, next_attempt)
        self.logs = RunLogWriter(host.storage, host.redactor, run.run_id)
        self._wake: Future[None] = Future()
        self._cancel: CancelRequest | None = None
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
            cancel = self._cancellation()
            if cancel is not None:
                return self._cancel_run(cancel)
            waiting_retry = self.plan.waiting_for_retry
            # Ready steps left over mean their start could not be written yet (SQLite's write
            # lock is held elsewhere): keep going until it can, never end with them undecided.
            held_back = self.plan.has_ready
            if not self.live and not waiting_retry and not held_back:
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
            if held_back:
                wake.append(now + _LOCK_RETRY)
            timeout = max(0.0, min(wake) - now) if wake else None
            if self.writer.pending:
                due = self.writer.next_due(now)
                timeout = due if timeout is None else min(timeout, due)
            if self.poll_interval is not None:  # wake up to notice a lost run promptly
                poll = self.poll_interval
                timeout = poll if timeout is None else min(timeout, poll)
            if self.live:
                for live, outcome in self.live.wait(timeout, self._wake):
                    self._attempt_ended(live, outcome)
            else:  # a retry is due later, or a start waits for the lock: record, then wait
                self._write()
                wait_for([self._wake], timeout=timeout or 0.0)
            if self._wake.done():
                self._wake = Future()
            self._expire_attempts()
            self._crash_silent_attempts()
            if self.writer.next_due(time.monotonic()) == 0:
                self._write()
        self._write(wait=True)
        if self._taken():
            return self._give_up()
        return RunOutcome(self.plan.final_status(), self.plan.error, self.ledger.final)

    def wake(self) -> None:
        """Make the loop look at its run at once (from another thread: the heartbeat's)."""
        with suppress(InvalidStateError):  # woken already
            self._wake.set_result(None)

    def interrupt(self, error: SpineError) -> None:
        """End the run's live attempts CRASHED (cancelled) and write what is still buffered.

        For a runner stopped by Ctrl-C or a failure of its own; the caller ends the run.
        """
        self.ledger.crashed(
            [live.record for live in self.live.cancel_all("the runner was interrupted")], error
        )
        self.plan.abandon()
        if not self.writer.lost:
            self.writer.flush()

    # -- starting ------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start or skip every step whose dependencies are decided, within the concurrency.

        The starts are written, in one transaction with every attempt that ended since the
        last write, before any of them is submitted: so nothing starts before the end of a step
        it may depend on is recorded. If that write has to wait for SQLite's write lock, nothing
        starts this turn.
        """
        if self.plan.stopped or self._cancellation() is not None:
            return
        now = time.monotonic()
        room = self.workflow.max_concurrency - len(self.live)
        starting: list[tuple[Step, int]] = []
        while room > 0 and self.plan.retry_due(now):
            step, tries = self.plan.pop_retry()
            starting.append((step, tries + 1))
            room -= 1
        while room > 0 and self.plan.has_ready:
            step = self.plan.pop_ready()
            skip = self.plan.skip_reason(step)
            if skip is not None:
                self._skip(step, skip)
            else:
                starting.append((step, 1))
                room -= 1
        if not starting:
            return
        if self._taken():
            return
        records = [self.ledger.new_attempt(step, self.plan.params(step)) for step, _ in starting]
        for record in records:
            self.ledger.started(record)
        try:
            recorded = self._write(confirm=True) and not self.writer.lost
        except BaseException:
            recorded = False
            raise
        finally:
            if not recorded:
                # Not recorded: they must not run (nor be reported as crashed: they never
                # started). Put them back to start on a later turn.
                self.writer.discard(records)
                self.ledger.withdraw(records)
                for step, tries in starting:
                    self.plan.put_back(step, tries)
        if not recorded:
            return
        for (step, tries), record in zip(starting, records, strict=True):
            self._start(step, tries, record)

    def _start(self, step: Step, tries: int, record: StepAttempt) -> None:
        params = self.plan.params(step)
        fence = Fence(
            f"step {step.name!r} attempt {record.attempt} of run {self.run.run_id}",
            [self.history.fence_check(self.run.run_id, self.owner)],
        )
        context = StepContext(
            run_id=self.run.run_id,
            workflow=self.workflow.name,
            step_name=step.name,
            attempt=record.attempt,
            host=self.host,
            execution=self.run_context.child(execution_id=record.execution_id),
            logical_date=self.run.logical_date,
            owner=self.owner,
            fence=fence,
        )
        inputs = self.plan.inputs(step)
        # A remote worker captures the attempt's log itself (and writes it).
        logs = None if self.remote else self.logs.attempt(step.name, record.attempt)
        ref = StepRef(
            workflow=self.workflow.name,
            step=step.name,
            run_id=self.run.run_id,
            attempt=record.attempt,
            execution_id=record.execution_id or "",
            owner=self.owner,
            token=record.execution_id or "",
            params=dict(params),
            inputs=dict(inputs),
            logical_date=self.run.logical_date,
            queue=step.queue or self.workflow.queue,
            heartbeat_interval=self.heartbeat_interval,
        )
        work = StepWork(
            ref, functools.partial(run_logged, logs, run_attempt, step, context, inputs, params)
        )
        try:
            future = self.executor.submit(work)
        except Exception as exc:  # the executor refused it: the attempt failed to start
            classified = self.host.classify(exc)
            error = SpineError(
                f"executor {self.workflow.executor!r} did not start the step: {classified.message}",
                category=classified.category,
                retryable=classified.retryable,
                cause=exc,
            )
            self.ledger.ended(record, AttemptOutcome(status=StepStatus.FAILED, error=error))
            self._failed_attempt(LiveAttempt(step, record, context, tries, None), error)
            return
        deadline = time.monotonic() + step.timeout if step.timeout else None
        self.live.add(future, LiveAttempt(step, record, context, tries, deadline, logs))

    def _skip(self, step: Step, reason: SpineError | str) -> None:
        if not isinstance(reason, SpineError):  # its condition (or branch) said no
            self.ledger.not_run(step, StepStatus.SKIPPED, skip_reason=SKIP_CONDITION)
            self.plan.skipped(step.name, blocked=False, reason=SKIP_CONDITION)
        elif reason.category is ErrorCategory.DEPENDENCY:
            self.ledger.not_run(step, StepStatus.SKIPPED, reason, skip_reason=SKIP_UPSTREAM_FAILED)
            self.plan.skipped(step.name, blocked=True, reason=SKIP_UPSTREAM_FAILED)
        else:  # the condition itself failed: that is the step's failure
            self.ledger.not_run(step, StepStatus.FAILED, reason)
            self.plan.failed(step, StepStatus.FAILED, reason)

    # -- ending --------------------------------------------------------------------------------

    def _attempt_ended(self, live: LiveAttempt, outcome: AttemptOutcome) -> None:
        record = live.record
        self.ledger.ended(record, outcome)
        if outcome.status is StepStatus.COMPLETED:
            self.ledger.conclude(record)
            self.plan.completed(record.step_name, outcome.outputs)
        elif outcome.status is StepStatus.SKIPPED:  # an earlier run did this work
            self.ledger.conclude(record)
            self.plan.done_before(record.step_name, outcome.outputs)
        else:
            self._failed_attempt(live, outcome.error or unknown_failure(record))

    def _expire_attempts(self) -> None:
        for live in self.live.expire(time.monotonic()):
            error = step_timeout_error(live)
            self.ledger.timed_out(live.record, error)
            self._failed_attempt(live, error)

    def _crash_silent_attempts(self) -> None:
        """Remote executors: end CRASHED the attempts whose worker stopped heartbeating.

        The UPDATE that decides it repeats the staleness condition, so a worker that beat or
        ended the attempt meanwhile keeps it; from then on the worker's commits are refused.
        """
        if self.claims is None or not self.live:
            return
        now = time.monotonic()
        if now < self._next_claim_check:
            return
        self._next_claim_check = now + self.heartbeat_interval
        cutoff = utc_now() - dt.timedelta(seconds=self.stale_after)
        error = SpineError(
            f"the worker running this attempt sent no heartbeat since {cutoff.isoformat()} "
            f"(limit {self.stale_after:g}s): it was killed or lost its host",
            category=ErrorCategory.INTERNAL,
            retryable=True,
            context={"stale_after": self.stale_after},
        )
        for stale in self.claims.crash_stale(self.run.run_id, self.owner, cutoff, error.to_dict()):
            live = self.live.take(stale.step_name, stale.attempt)
            if live is None:
                continue
            log.warning(
                "run %s: %s attempt %d CRASHED: worker %s went silent",
                self.run.run_id,
                stale.step_name,
                stale.attempt,
                stale.worker,
            )
            live.context.fence.revoke("its worker went silent")
            self.ledger.crashed([live.record], error)
            self._failed_attempt(live, error)
        self._settle_unanswered(cutoff=utc_now() - dt.timedelta(seconds=self.heartbeat_interval))

    def _settle_unanswered(self, cutoff: dt.datetime) -> None:
        """Remote executors: attempts a worker ended (and recorded) before ``cutoff`` whose
        answer never came (the worker died after recording, the answer was lost) end as
        recorded; the history is the truth."""
        if self.claims is None or not self.live:
            return
        for key, row in self.claims.ended(self.run.run_id, cutoff).items():
            live = self.live.take(*key)
            if live is None:
                continue
            log.warning(
                "run %s: %s attempt %d ended %s on its worker, but no answer came; the recorded "
                "end is used",
                self.run.run_id,
                key[0],
                key[1],
                row["status"],
            )
            self._attempt_ended(live, recorded_outcome(row))

    def _failed_attempt(self, live: LiveAttempt, error: SpineError) -> None:
        if self.plan.retry_later(live.step, live.tries, error):
            return
        self.ledger.conclude(live.record)
        self.plan.failed(live.step, live.record.status, error)

    def _time_out_run(self) -> None:
        for live in self.live.cancel_all("the run's timeout passed"):
            self.ledger.timed_out(live.record, run_timeout_error(self.workflow))
            self.ledger.conclude(live.record)
        self._write(wait=True)

    # -- ownership -----------------------------------------------------------------------------

    def _taken(self) -> bool:
        """True once the run is no longer this runner's (a write was refused, or the heartbeat)."""
        return self.writer.lost or self.should_stop()

    def _write(self, *, confirm: bool = False, wait: bool = False) -> bool:
        """Flush the writer; False when SQLite's write lock is held by someone else, the run
        was taken, or a cancellation refused the write (it started attempts).

        Every write checks (and refreshes) this runner's ownership of the run, so a write just
        before a start is what makes the start safe. A write that waited out the busy timeout
        because another connection (often one of this run's own steps) holds the lock is kept
        queued and tried again: on the next turn, or at once with ``wait`` (the run's last
        writes, which must get through). Any other storage failure propagates.
        """
        while True:
            try:
                return self.writer.flush(confirm=confirm)
            except SpineError as exc:
                if not exc.context.get("database_locked"):
                    raise
                log.warning(
                    "run %s: waiting for the database write lock to record attempts (%s)",
                    self.run.run_id,
                    exc.message,
                )
                if not wait:
                    return False

    def _cancellation(self) -> CancelRequest | None:
        """The cancellation asked for the run, once the heartbeat or a write has seen it."""
        if self._cancel is None:
            request = self.cancel_requested()
            if request is None and self.writer.cancel_requested:
                request = self.history.cancel_request(self.run.run_id) or CancelRequest(
                    requested_at=utc_now()
                )
            self._cancel = request
        return self._cancel

    def _cancel_run(self, request: CancelRequest) -> RunOutcome:
        """Stop for ``request``: let the live attempts go (CANCELLED), start nothing more."""
        reason = f"its run was {request.describe()}"
        self.ledger.cancelled([live.record for live in self.live.cancel_all(reason)])
        self.plan.abandon()
        self._write(wait=True)
        if self._taken():
            return self._give_up()
        log.info("run %s %s", self.run.run_id, request.describe())
        return RunOutcome(RunStatus.CANCELLED, None, self.ledger.final, cancel=request)

    def _give_up(self) -> RunOutcome:
        """Stop working on a run that was taken away: cancel live attempts, write nothing."""
        self.live.cancel_all("the run was taken from this runner")
        self.plan.abandon()
        self.writer.drop()
        error = SpineError(
            f"run {self.run.run_id} was taken from this runner (its heartbeat was found stale "
            "and the run reaped); it stopped without recording more",
            category=ErrorCategory.INTERNAL,
        )
        return RunOutcome(RunStatus.CRASHED, error, self.ledger.final, lost=True)
