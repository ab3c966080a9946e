"""Carrying one claimed fire to its outcome: overlap, ``after``, then the workflow or pipeline run.

The fire's row is CLAIMED when this starts. In order:

1. **overlap**: an earlier fire of the same schedule still open. ``skip`` records this one
   SKIPPED naming it; ``queue`` waits for it to end; ``allow`` goes on.
2. **after**: for each schedule in ``after``, the fire of that schedule for the same logical time
   (its latest nominal time at or before this one) must have SUCCEEDED. Ended otherwise (FAILED,
   SKIPPED, MISSED): SKIPPED with the reason. Not ended yet: wait, up to ``after_timeout``
   (default: until this schedule's next nominal time), then ``on_after_timeout`` decides.
3. **run**: the run id (or execution id) is written to the row together with RUNNING before the
   run starts, then the run's result becomes SUCCEEDED or FAILED.

``spine_schedule_fired`` is called for every outcome the row takes here.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from spine_host.errors import SpineError
from spine_host.orchestration.fire_times import fire_times, last_fire_times
from spine_host.orchestration.schedule_fire import Fire, FireStatus

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.runner import WorkflowRunner
    from spine_host.orchestration.schedule import Schedule
    from spine_host.orchestration.schedule_ledger import ScheduleLedger
    from spine_host.pipelines.dispatcher import Dispatcher

__all__ = ["FireRunner", "StopRequested"]

log = logging.getLogger(__name__)


class StopRequested(Exception):
    """The scheduler is stopping: a fire still waiting gives up (recorded SKIPPED)."""


class FireRunner:
    """Runs claimed fires for one scheduler process.

    Args:
        host: the host whose workflows and pipelines the schedules name.
        ledger: where fires are recorded.
        schedules: the schedules by name (``after`` looks up the others).
        clock: the current time, aware UTC.
        stopping: set when the scheduler stops; waits give up.
        poll_interval: seconds between checks while waiting for an overlap or ``after``.
        notify: called with the fire at each outcome (default: ``spine_schedule_fired``).
        heartbeat_interval: the workflow runner's heartbeat interval (its default if None).
        stale_after: the workflow runner's silence limit for runs and remote attempts.
    """

    def __init__(
        self,
        host: Host,
        ledger: ScheduleLedger,
        schedules: Callable[[], dict[str, Schedule]],
        *,
        clock: Callable[[], datetime],
        stopping: threading.Event,
        poll_interval: float = 1.0,
        notify: Callable[[Fire], None] | None = None,
        heartbeat_interval: float | None = None,
        stale_after: float | None = None,
    ) -> None:
        self.host = host
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.ledger = ledger
        self.schedules = schedules
        self.clock = clock
        self.stopping = stopping
        self.poll_interval = poll_interval
        self.notify = notify or (lambda fire: host.notify("spine_schedule_fired", fire=fire))
        self._runner: WorkflowRunner | None = None
        self._dispatcher: Dispatcher | None = None

    @property
    def runner(self) -> WorkflowRunner:
        """The workflow runner fires use (built on first use)."""
        if self._runner is None:
            from spine_host.orchestration.heartbeat import (
                DEFAULT_HEARTBEAT_INTERVAL,
                DEFAULT_STALE_AFTER,
            )
            from spine_host.orchestration.runner import WorkflowRunner

            self._runner = WorkflowRunner(
                self.host,
                heartbeat_interval=self.heartbeat_interval or DEFAULT_HEARTBEAT_INTERVAL,
                stale_after=self.stale_after or DEFAULT_STALE_AFTER,
            )
        return self._runner

    @property
    def dispatcher(self) -> Dispatcher:
        """The pipeline dispatcher fires use (built on first use)."""
        if self._dispatcher is None:
            from spine_host.pipelines.dispatcher import Dispatcher

            self._dispatcher = Dispatcher(self.host)
        return self._dispatcher

    def carry(self, schedule: Schedule, fire: Fire, *, wait: bool = True) -> Fire:
        """Take the CLAIMED ``fire`` to its outcome and return it as recorded.

        ``wait=False`` (run-now, backfill) neither waits for an overlap nor for ``after``.
        Never raises for the run's own failure: that is the FAILED outcome.
        """
        try:
            if wait:
                blocked = self._overlap(schedule, fire) or self._after(schedule, fire)
                if blocked is not None:
                    return self._end(fire, FireStatus.SKIPPED, reason=blocked)
            return self._run(schedule, fire)
        except StopRequested as stop:
            return self._end(fire, FireStatus.SKIPPED, reason=str(stop))

    # -- overlap -------------------------------------------------------------------------------

    def _overlap(self, schedule: Schedule, fire: Fire) -> str | None:
        if schedule.overlap == "allow":
            return None
        while True:
            earlier = [
                other
                for other in self.ledger.open_fires(schedule.name)
                if other.nominal_time < fire.nominal_time
            ]
            if not earlier:
                return None
            previous = earlier[-1]
            described = _described(previous)
            if schedule.overlap == "skip":
                return f"overlap = skip: {described} was still running"
            self._pause(f"scheduler stopped while queued behind {described} (overlap = queue)")

    # -- after ---------------------------------------------------------------------------------

    def _after(self, schedule: Schedule, fire: Fire) -> str | None:
        if not schedule.after:
            return None
        deadline = self._after_deadline(schedule, fire)
        pending = list(schedule.after)
        while pending:
            waiting = []
            for name in pending:
                verdict = self._upstream(name, fire.nominal_time)
                if verdict is None:
                    waiting.append(name)
                elif verdict:
                    return verdict
            pending = waiting
            if not pending:
                return None
            if self.clock() >= deadline:
                names = ", ".join(pending)
                if schedule.on_after_timeout == "run":
                    log.warning(
                        "schedule %s: %s not succeeded by %s; running anyway "
                        "(on_after_timeout = run)",
                        schedule.name,
                        names,
                        deadline.isoformat(),
                    )
                    return None
                return (
                    f"after: {names} had not succeeded for this logical time by "
                    f"{deadline.isoformat()} (on_after_timeout = skip)"
                )
            self._pause(f"scheduler stopped while waiting for {', '.join(pending)} (after)")
        return None

    def _upstream(self, name: str, nominal: datetime) -> str | None:
        """'' when ``name``'s fire for ``nominal`` succeeded, a reason when it ended otherwise,
        None while it has not ended (or not been recorded)."""
        upstream = self.schedules().get(name)
        if upstream is None:
            return f"after: schedule {name!r} is not defined any more"
        due = last_fire_times(upstream, nominal, 1)
        if not due:
            return f"after: {name} has no fire at or before {nominal.isoformat()}"
        recorded = self.ledger.fire(name, due[0])
        if recorded is None or recorded.status.open:
            return None
        if recorded.status is FireStatus.SUCCEEDED:
            return ""
        detail = f": {recorded.reason}" if recorded.reason else ""
        return f"after: {name}'s fire for {due[0].isoformat()} {recorded.status.value}{detail}"

    def _after_deadline(self, schedule: Schedule, fire: Fire) -> datetime:
        if schedule.after_timeout is not None:
            return fire.nominal_time + timedelta(seconds=schedule.after_timeout)
        following = fire_times(schedule, fire.nominal_time, 1)
        return following[0] if following else fire.nominal_time + timedelta(days=1)

    # -- the run -------------------------------------------------------------------------------

    def _run(self, schedule: Schedule, fire: Fire) -> Fire:
        try:
            params = schedule.params_for(fire.nominal_time)
        except SpineError as error:
            return self._end(fire, FireStatus.FAILED, reason="params failed", error=error)
        except Exception as exc:  # a params function is user code
            return self._end(
                fire, FireStatus.FAILED, reason="params failed", error=self.host.classify(exc)
            )
        if schedule.workflow is not None:
            return self._run_workflow(schedule, fire, params)
        return self._run_pipeline(schedule, fire, params)

    def _run_workflow(self, schedule: Schedule, fire: Fire, params: dict[str, Any]) -> Fire:
        from spine_host.orchestration.records import RunStatus

        run_id = uuid.uuid4().hex
        fire = self._start(fire, run_id=run_id)
        try:
            run = self.runner.run(
                schedule.target,
                params,
                triggered_by=f"schedule:{schedule.name}",
                schedule_name=schedule.name,
                logical_date=fire.nominal_time,
                run_id=run_id,
            )
        except SpineError as error:
            return self._end(fire, FireStatus.FAILED, reason="run refused", error=error)
        if run.status is RunStatus.COMPLETED:
            return self._end(fire, FireStatus.SUCCEEDED)
        return self._end(fire, FireStatus.FAILED, reason=f"run {run.status.value}", error=run.error)

    def _run_pipeline(self, schedule: Schedule, fire: Fire, params: dict[str, Any]) -> Fire:
        from spine_host.pipelines.context import ExecutionContext
        from spine_host.pipelines.execution import ExecutionStatus

        context = ExecutionContext(
            host=self.host,
            triggered_by=f"schedule:{schedule.name}",
            logical_date=fire.nominal_time,
        )
        fire = self._start(fire, execution_id=context.execution_id)
        try:
            execution = self.dispatcher.run(schedule.target, params, context=context)
        except SpineError as error:
            return self._end(fire, FireStatus.FAILED, reason="run refused", error=error)
        if execution.execution_id != context.execution_id:
            fire = self.ledger.update(fire, execution_id=execution.execution_id)
        if execution.status is ExecutionStatus.COMPLETED:
            return self._end(fire, FireStatus.SUCCEEDED)
        if execution.status is ExecutionStatus.SKIPPED:
            return self._end(fire, FireStatus.SKIPPED, reason="stage reached: nothing to do")
        return self._end(
            fire,
            FireStatus.FAILED,
            reason=f"execution {execution.status.value}",
            error=execution.error,
        )

    # -- recording -----------------------------------------------------------------------------

    def _start(self, fire: Fire, **link: str) -> Fire:
        fire = self.ledger.update(fire, status=FireStatus.RUNNING, started_at=self.clock(), **link)
        self.notify(fire)
        return fire

    def _end(
        self,
        fire: Fire,
        status: FireStatus,
        *,
        reason: str | None = None,
        error: SpineError | dict[str, Any] | None = None,
    ) -> Fire:
        values: dict[str, Any] = {"status": status, "finished_at": self.clock()}
        if error is not None:
            values["error"] = error.to_dict() if isinstance(error, SpineError) else error
            reason = _failed(reason or status.value, values["error"])
        if reason is not None:
            values["reason"] = reason
        fire = self.ledger.update(fire, **values)
        self.notify(fire)
        return fire

    def _pause(self, why: str) -> None:
        if self.stopping.wait(self.poll_interval):
            raise StopRequested(why)


def _described(fire: Fire) -> str:
    target = f" (run {fire.target_id})" if fire.target_id else ""
    return f"the fire for {fire.nominal_time.isoformat()}{target}"


def _failed(what: str, error: dict[str, Any]) -> str:
    """``run FAILED: [NOT_FOUND] file not found: ...``: the outcome with the error's words."""
    message = error.get("message")
    if not message:
        return what
    category = f"[{error['category']}] " if error.get("category") else ""
    return f"{what}: {category}{message}"
