"""What the dashboard's action buttons do, through the same code as the CLI.

=========== ===================================================== ==========================
action      code                                                  recorded as
=========== ===================================================== ==========================
resume      ``WorkflowRunner.resume`` (``spine runs resume``)     audit row (run unchanged)
retry       ``WorkflowRunner.retry`` (``spine runs retry``)       new run ``triggered_by``
cancel      ``cancel_run`` (``spine runs cancel``)                ``cancel_requested_by``
run now     ``FireRunner.carry`` (``spine schedules run-now``)    new run ``triggered_by``
pause       ``ScheduleLedger.set_paused`` (``spine schedules``)   audit row
=========== ===================================================== ==========================

Every action also writes its row to ``web_actions`` (who, what, when, from where, outcome).
Each checks first, within the request, that it applies (a COMPLETED run cannot be resumed),
and refuses with the reason; resume, retry and run now then go on in the background
(:mod:`spine_web.jobs`) and the page the browser is sent to follows them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import attrs

from spine_host.api import ErrorCategory, Host, Schedule, SpineError
from spine_host.orchestration.cancellation import cancel_run
from spine_host.orchestration.heartbeat import Heartbeat
from spine_host.orchestration.history import REOPENABLE_RUN_STATUSES, WorkflowHistoryRepository
from spine_host.orchestration.liveness import new_owner
from spine_host.orchestration.records import RunStatus, WorkflowRun
from spine_host.orchestration.schedule_fire import Fire
from spine_host.orchestration.schedule_ledger import ScheduleLedger
from spine_host.orchestration.schedule_sources import schedule_origin, validate_schedules
from spine_host.storage.types import utc_now
from spine_web.audit import STARTED, AuditLog
from spine_web.jobs import BackgroundJobs
from spine_web.web_runner import ActorFireRunner, ActorRunner

__all__ = ["ActionDone", "ActionRefused", "Requester", "WebActions"]

log = logging.getLogger(__name__)

#: Outcome of an action finished within its request.
DONE = "DONE"
#: Outcome of an action its target did not allow.
REFUSED = "REFUSED"
#: Outcome of an action that failed for another reason.
ERROR = "ERROR"


class ActionRefused(Exception):
    """The action does not apply (an unknown run: 404; a run in the wrong state: 409)."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@attrs.frozen
class ActionDone:
    """What to tell the person who asked, and the page to send them to."""

    message: str
    location: str


@attrs.frozen
class Requester:
    """Who asked: ``web:<user or token id>`` and the client's address."""

    actor: str
    address: str | None = None


class WebActions:
    """The actions, for one host.

    Args:
        host: the host the server reads and acts on.
        audit: where every action is recorded.
        jobs: where long work runs.
    """

    def __init__(self, host: Host, audit: AuditLog, jobs: BackgroundJobs) -> None:
        self.host = host
        self.audit = audit
        self.jobs = jobs
        self.history = WorkflowHistoryRepository(host.storage)

    # -- runs ----------------------------------------------------------------------------------

    def resume(self, run_id: str, who: Requester) -> ActionDone:
        """Finish a failed, partial, crashed or cancelled run in place, in the background."""
        run = self._run(run_id)
        if run.status.value not in REOPENABLE_RUN_STATUSES:
            raise ActionRefused(
                f"run {run_id} is {run.status.value}; only "
                f"{', '.join(sorted(REOPENABLE_RUN_STATUSES))} runs can be resumed"
            )
        self._registered(run)
        action_id = self._record("resume", "run", run_id, who, STARTED, run_id=run_id)

        def work() -> None:
            self._finish_run(action_id, lambda: ActorRunner(self.host, who.actor).resume(run_id))

        self.jobs.start(f"run:{run_id}", work)
        return ActionDone(f"resuming run {run_id}", f"/runs/{run_id}")

    def retry(self, run_id: str, who: Requester) -> ActionDone:
        """Start a new run with the same params, linked to ``run_id``, in the background."""
        run = self._run(run_id)
        if not run.finished:
            raise ActionRefused(f"run {run_id} is still {run.status.value}; retry a finished run")
        self._registered(run)
        new_id = uuid.uuid4().hex
        action_id = self._record("retry", "run", run_id, who, STARTED, run_id=new_id)

        def work() -> None:
            runner = ActorRunner(self.host, who.actor, run_id=new_id)
            self._finish_run(action_id, lambda: runner.retry(run_id))

        self.jobs.start(f"run:{new_id}", work)
        return ActionDone(f"retrying run {run_id} as {new_id}", f"/runs/{new_id}")

    def cancel(self, run_id: str, who: Requester, reason: str | None) -> ActionDone:
        """Ask a RUNNING run to stop (its runner stops it at its next heartbeat)."""
        run = self._run(run_id)
        if run.status is not RunStatus.RUNNING:
            raise ActionRefused(f"run {run_id} is {run.status.value}; only RUNNING runs stop")
        try:
            done = cancel_run(
                self.host, run_id, reason=reason or None, requested_by=who.actor, wait=0
            )
        except SpineError as exc:
            self._record("cancel", "run", run_id, who, REFUSED, detail=exc.message, run_id=run_id)
            raise ActionRefused(exc.message) from exc
        status = done.run.status
        outcome = status.value if status is not RunStatus.RUNNING else "REQUESTED"
        detail = done.request.describe() if done.request is not None else None
        self._record("cancel", "run", run_id, who, outcome, detail=detail, run_id=run_id)
        return ActionDone(f"cancellation of run {run_id} requested", f"/runs/{run_id}")

    # -- schedules -----------------------------------------------------------------------------

    def run_now(self, name: str, who: Requester) -> ActionDone:
        """Fire schedule ``name`` once now, recorded in its history; carried in the background."""
        schedule, ledger = self._schedule(name)
        claimed = ledger.claim_run_now(schedule, new_owner())
        if claimed is None:
            raise ActionRefused(f"schedule {name} was fired at this instant already; try again")
        action_id = self._record("run-now", "schedule", name, who, STARTED)

        def work() -> None:
            fire = self._carry(schedule, ledger, claimed, who.actor)
            self.audit.finish(
                action_id,
                fire.status.value,
                detail=self._masked(fire.reason),
                run_id=fire.target_id,
            )

        self.jobs.start(f"schedule:{name}", work)
        return ActionDone(f"{name} fired now", f"/schedules#schedule-{name}")

    def set_paused(self, name: str, who: Requester, *, paused: bool) -> ActionDone:
        """Pause ``name`` (its fires are neither run nor missed) or let it fire again."""
        _, ledger = self._schedule(name)
        changed = ledger.set_paused(name, paused, now=utc_now())
        action = "pause" if paused else "unpause"
        self._record(action, "schedule", name, who, DONE if changed else REFUSED)
        what = "paused" if paused else "resumed"
        return ActionDone(f"{name} {what}", f"/schedules#schedule-{name}")

    # -- helpers -------------------------------------------------------------------------------

    def _run(self, run_id: str) -> WorkflowRun:
        run = self.history.get_run(run_id, with_steps=False)
        if run is None:
            raise ActionRefused(f"no workflow run {run_id}", status_code=404)
        return run

    def _registered(self, run: WorkflowRun) -> None:
        if run.workflow not in self.host.registries.workflows:
            raise ActionRefused(
                f"workflow {run.workflow} is not registered by any installed plugin: "
                "its runs can be read, not run"
            )

    def _schedule(self, name: str) -> tuple[Schedule, ScheduleLedger]:
        """The schedule (validated with all the others) and the ledger, definitions synced."""
        try:
            schedules = validate_schedules(self.host)
        except SpineError as exc:
            raise ActionRefused(exc.message) from exc
        found = [schedule for schedule in schedules if schedule.name == name]
        if not found:
            raise ActionRefused(f"no schedule named {name}", status_code=404)
        ledger = ScheduleLedger(self.host.storage, self.host.redactor)
        origins = {schedule.name: schedule_origin(self.host, schedule) for schedule in schedules}
        ledger.sync(schedules, origins, now=utc_now())
        return found[0], ledger

    def _carry(self, schedule: Schedule, ledger: ScheduleLedger, fire: Fire, actor: str) -> Fire:
        """Take the claimed fire to its outcome, as ``spine schedules run-now`` does."""
        runner = ActorFireRunner(
            self.host,
            ledger,
            lambda: {schedule.name: schedule},
            clock=utc_now,
            stopping=threading.Event(),
            actor=actor,
        )
        owner = fire.claimed_by or ""
        heartbeat = Heartbeat(
            lambda: ledger.heartbeat(owner, now=utc_now()), owner, label="schedule fire"
        ).start()
        try:
            return runner.carry(schedule, fire, wait=False)
        finally:
            heartbeat.stop()

    def _finish_run(self, action_id: int, work: Callable[[], WorkflowRun]) -> None:
        """Run ``work`` and record how it ended on the action's row."""
        try:
            run = work()
        except SpineError as exc:
            usage = exc.category in (ErrorCategory.VALIDATION, ErrorCategory.NOT_FOUND)
            self.audit.finish(
                action_id, REFUSED if usage else ERROR, detail=self._masked(exc.message)
            )
            return
        except Exception as exc:
            self.audit.finish(
                action_id, ERROR, detail=self._masked(self.host.classify(exc).message)
            )
            raise
        self.audit.finish(action_id, run.status.value, run_id=run.run_id)

    def _record(
        self,
        action: str,
        kind: str,
        target: str,
        who: Requester,
        outcome: str,
        *,
        detail: str | None = None,
        run_id: str | None = None,
    ) -> int:
        return self.audit.record(
            action,
            kind,
            target,
            requested_by=who.actor,
            client_address=who.address,
            outcome=outcome,
            detail=self._masked(detail),
            run_id=run_id,
        )

    def _masked(self, text: str | None) -> str | None:
        """``text`` with the host's secrets masked: the audit log keeps none."""
        return self.host.redactor.redact(text) if text is not None else None
