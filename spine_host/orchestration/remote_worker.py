"""Running a step reference on a remote executor's worker: claim, run, heartbeat, record.

A worker process (``spine worker`` of spine-celery) builds its host once from the same
``spine.toml`` and plugins as the runner, then calls :func:`run_step_ref` for each message.
It runs the attempt through the same code as the local executor
(:func:`~spine_host.orchestration.steps.run_attempt`, under a fence, with its log captured);
what differs is where the attempt's liveness lives:

1. the worker claims the attempt (:meth:`AttemptClaims.claim`): a duplicate or late message,
   or one for a run that ended, is not run at all;
2. a heartbeat thread writes the attempt's ``heartbeat_at``; when that finds the attempt no
   longer this worker's (the runner crashed or timed it out, the run was reaped or cancelled),
   the attempt's fence is revoked and ``context.cancelled`` set;
3. every commit of the step through spine's storage checks that claim, so work of an attempt
   that lost it changes nothing;
4. the worker writes the attempt's end itself, under the same check, and then answers: the
   history holds the end even if the runner is gone by then.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration._log_capture import capturing, run_logged
from spine_host.orchestration._log_writer import RunLogWriter
from spine_host.orchestration.attempt_claims import AttemptClaims
from spine_host.orchestration.heartbeat import Heartbeat
from spine_host.orchestration.liveness import new_owner
from spine_host.orchestration.records import StepStatus
from spine_host.orchestration.step_context import StepContext
from spine_host.orchestration.steps import AttemptOutcome, run_attempt
from spine_host.orchestration.workflow import Workflow
from spine_host.pipelines.context import ExecutionContext
from spine_host.storage.fencing import Fence, FencedError
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.step_ref import StepRef
    from spine_host.orchestration.workflow import Step

__all__ = ["NOT_CLAIMED", "run_step_ref", "worker_id"]

log = logging.getLogger(__name__)

#: ``error.context`` key of the outcome of a message that was not run (not claimed).
NOT_CLAIMED = "not_claimed"

_WORKER_ID: str | None = None


def worker_id() -> str:
    """This process's worker identity (``host:pid:nonce``), the same for all its attempts."""
    global _WORKER_ID
    if _WORKER_ID is None:
        _WORKER_ID = new_owner()
    return _WORKER_ID


def run_step_ref(host: Host, ref: StepRef, *, worker: str | None = None) -> AttemptOutcome:
    """Claim and run the attempt ``ref`` on ``host``; its outcome (recorded), never raised.

    An attempt that could not be claimed is not run: its outcome is CRASHED with
    ``error.context["not_claimed"]`` set and nothing is written.
    """
    worker = worker or worker_id()
    storage = host.storage
    if not isinstance(storage, SqlAlchemyAdapter):
        raise SpineError(
            f"remote attempts need a SQLAlchemy-based storage adapter, got "
            f"{type(storage).__name__}",
            category=ErrorCategory.CONFIG,
        )
    claims = AttemptClaims(storage)
    problem = claims.claim(ref, worker)
    if problem is not None:
        log.warning("%s not run: %s", ref.label, problem)
        return AttemptOutcome(
            status=StepStatus.CRASHED,
            error=SpineError(
                f"{ref.label} was not run by worker {worker}: {problem}",
                category=ErrorCategory.INTERNAL,
                context={NOT_CLAIMED: True},
            ),
            execution_id=ref.execution_id,
        )
    fence = Fence(ref.label, [claims.fence_check(ref, worker)])
    context = _context(host, ref, worker, fence)

    def beat() -> bool:
        alive = claims.beat(ref, worker)
        if not alive:
            reason = "its attempt was ended elsewhere (the runner decided it, or the run ended)"
            fence.revoke(reason)
            context.cancelled.set()
        return alive

    heartbeat = Heartbeat(beat, worker, ref.heartbeat_interval, label=ref.label).start()
    logs = RunLogWriter(host.storage, host.redactor, ref.run_id)
    try:
        try:
            step = _step(host, ref)
        except SpineError as exc:
            outcome = AttemptOutcome(
                status=StepStatus.FAILED, error=exc, execution_id=ref.execution_id
            )
        else:
            with capturing():
                outcome = run_logged(
                    logs.attempt(ref.step, ref.attempt),
                    run_attempt,
                    step,
                    context,
                    dict(ref.inputs),
                    dict(ref.params),
                )
    finally:
        heartbeat.stop()
        logs.close()
    return _recorded(storage, claims, ref, worker, fence, outcome)


def _step(host: Host, ref: StepRef) -> Step:
    """The step as this worker's plugins define it."""
    found = host.registries.workflows.get(ref.workflow)
    if not isinstance(found, Workflow):
        raise SpineError(
            f"workflow {ref.workflow!r} is a {type(found).__name__} on this worker, not a "
            "spine Workflow",
            category=ErrorCategory.PLUGIN,
        )
    return found.step(ref.step)


def _context(host: Host, ref: StepRef, worker: str, fence: Fence) -> StepContext:
    """What the step receives: the runner's context, rebuilt from the reference."""
    run_context = ExecutionContext(
        execution_id=ref.run_id,
        batch_id=ref.run_id,
        triggered_by=f"workflow:{ref.run_id}",
        host=host,
        logical_date=ref.logical_date,
    )
    return StepContext(
        run_id=ref.run_id,
        workflow=ref.workflow,
        step_name=ref.step,
        attempt=ref.attempt,
        host=host,
        execution=run_context.child(execution_id=ref.execution_id),
        logical_date=ref.logical_date,
        owner=worker,
        fence=fence,
    )


def _recorded(
    storage: SqlAlchemyAdapter,
    claims: AttemptClaims,
    ref: StepRef,
    worker: str,
    fence: Fence,
    outcome: AttemptOutcome,
) -> AttemptOutcome:
    """Write the end of the attempt under its fence; the outcome the runner should believe."""
    try:
        # The UPDATE carries the fence's conditions itself (its claim, a live run); a fence
        # revoked in this process (the heartbeat saw the attempt end elsewhere) refuses too.
        if fence.revoked is not None:
            raise FencedError(fence.name, fence.revoked)
        with storage.errors_classified(), storage.connection() as connection:
            written = claims.record_end(connection, ref, worker, outcome)
    except FencedError as exc:
        written, reason = False, exc.message
    except SpineError as exc:
        log.error("%s: could not record its end: %s", ref.label, exc.message)
        return AttemptOutcome(
            status=StepStatus.CRASHED,
            error=SpineError(
                f"{ref.label} ran, but its end could not be recorded: {exc.message}",
                category=exc.category,
                retryable=True,
            ),
            execution_id=outcome.execution_id,
        )
    else:
        reason = "its attempt was no longer this worker's"
    if written:
        return outcome
    log.warning("%s ended %s, but %s: not recorded", ref.label, outcome.status.value, reason)
    return AttemptOutcome(
        status=StepStatus.CRASHED,
        error=SpineError(
            f"{ref.label} ended {outcome.status.value} on worker {worker}, too late: {reason}",
            category=ErrorCategory.INTERNAL,
            context={NOT_CLAIMED: True},
        ),
        execution_id=outcome.execution_id,
    )
