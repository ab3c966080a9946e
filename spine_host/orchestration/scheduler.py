"""``SchedulerService``: fires schedules on time, exactly once across replicas, never silently late.

One service runs per ``spine scheduler run`` process; any number may share one database. Each
keeps, per schedule, the last nominal time it handled and wakes at the next one. When fires are
due it plans them (:func:`~spine_host.orchestration.fire_plan.plan_fires`: run on time, run or
record MISSED by the catch-up policy), then claims them all in one insert into
``schedule_runs``: the replica whose insert wins a (schedule, nominal time) row carries that fire
(:class:`~spine_host.orchestration.fire_runner.FireRunner`) on a worker thread; the others do
nothing for it. APScheduler's triggers compute the times (:mod:`.fire_times`); the timer is this
module's own loop, because the database, not an in-process job store, decides who fires.

On start the service writes every schedule's definition to ``schedules`` and resumes each one
from its last recorded fire (or from when it was first seen, resumed or re-enabled): fires
missed while no scheduler ran are due at once and go through the catch-up policy.

A replica that dies leaves its open fires behind; the others end them on their housekeeping tick
once its process is known dead or its heartbeat is older than ``stale_after``: a fire whose run
finished takes the run's outcome, one that never started its run is FAILED with the reason.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from spine_host.errors import ConfigError, SpineError
from spine_host.orchestration.deadlines import DeadlineWatch
from spine_host.orchestration.fire_plan import plan_fires
from spine_host.orchestration.fire_runner import FireRunner
from spine_host.orchestration.fire_times import fire_times, iter_fire_times
from spine_host.orchestration.heartbeat import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_STALE_AFTER,
    Heartbeat,
)
from spine_host.orchestration.liveness import abandoned, new_owner
from spine_host.orchestration.schedule_fire import CATCH_UP, ON_TIME, Fire, FireStatus
from spine_host.orchestration.schedule_ledger import ScheduleLedger
from spine_host.orchestration.schedule_sources import (
    check_after_cycles,
    schedule_origin,
    validate_schedules,
)
from spine_host.printable import quoted
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.alerts.alert import Alert
    from spine_host.host import Host
    from spine_host.orchestration.freshness import Freshness
    from spine_host.orchestration.records import WorkflowRun
    from spine_host.orchestration.schedule import Schedule
    from spine_host.orchestration.workflow import Workflow

__all__ = ["SchedulerService"]

log = logging.getLogger(__name__)

_MAX_SLEEP = 1.0  # seconds: how long the loop sleeps at most (pauses and stops are seen)


class SchedulerService:
    """Fires the host's schedules (or ``schedules``) from a background thread.

    Args:
        host: workflows, pipelines, storage and hooks.
        schedules: the schedules to fire; by default every schedule the host knows
            (plugins and ``spine.toml``), validated as a whole.
        clock: the current time, aware UTC (tests pass a controlled clock).
        max_workers: fires carried at once; more wait (claimed) for a free worker.
        heartbeat_interval: seconds between this replica's heartbeats on its open fires.
        stale_after: seconds after which an open fire of a silent replica is ended.
        poll_interval: seconds between checks while a fire waits (overlap queue, ``after``).
        observer: called with each fire at each outcome, after ``spine_schedule_fired``
            (``spine scheduler run`` prints them).
        freshness: ``[freshness.NAME]`` rules to check; by default the host's (with the
            default schedules) or none (with explicit ``schedules``).
    """

    def __init__(
        self,
        host: Host,
        schedules: Iterable[Schedule] | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_workers: int = 16,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        stale_after: float = DEFAULT_STALE_AFTER,
        poll_interval: float = 1.0,
        observer: Callable[[Fire], None] | None = None,
        freshness: list[Freshness] | None = None,
    ) -> None:
        self.host = host
        self.observer = observer
        self.clock = clock
        self.max_workers = max_workers
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.owner = new_owner()
        self.ledger = ScheduleLedger(host.storage, host.config.redactor)
        listed = validate_schedules(host) if schedules is None else list(schedules)
        self._schedules: dict[str, Schedule] = {s.name: s for s in listed}
        self._stopping = threading.Event()
        self.runner = FireRunner(
            host,
            self.ledger,
            lambda: dict(self._schedules),
            clock=clock,
            stopping=self._stopping,
            poll_interval=poll_interval,
            notify=self.notify,
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
        )
        #: Runs this replica reaped and is resuming (``resume_on_crash``).
        self._resuming: set[str] = set()
        self._lock = threading.RLock()
        self._cursor: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._synced = False
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[Fire]] = set()
        self._thread: threading.Thread | None = None
        self._heartbeat: Heartbeat | None = None
        self._next_housekeeping: datetime | None = None
        if freshness is None:
            from spine_host.orchestration.freshness import freshness_rules

            freshness = freshness_rules(host) if schedules is None else []
        self.deadlines = DeadlineWatch(
            host, lambda: dict(self._schedules), freshness, self.ledger, self.owner
        )

    # -- the seed's interface ------------------------------------------------------------------

    def start(self) -> SchedulerService:
        """Sync definitions, then fire due and future schedules from a background thread."""
        if self._thread is not None:
            raise SpineError("the scheduler is already started")
        self.sync()
        self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="spine-fire")
        self._heartbeat = Heartbeat(
            lambda: self.ledger.heartbeat(self.owner, now=self.clock()),
            self.owner,
            self.heartbeat_interval,
            label="scheduler",
        ).start()
        self._thread = threading.Thread(target=self._loop, name="spine-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, grace: float | None = 30.0) -> bool:
        """Stop claiming; let running fires finish within ``grace`` seconds (None: wait).

        Fires still waiting (overlap queue, ``after``) give up and are recorded SKIPPED.
        Returns True when every fire this replica carried has ended.
        """
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            futures = set(self._futures)
        done = True
        if futures:
            from concurrent.futures import wait

            _, pending = wait(futures, timeout=grace)
            done = not pending
        if self._pool is not None:
            self._pool.shutdown(wait=done, cancel_futures=True)
        if self._heartbeat is not None and done:
            self._heartbeat.stop()
        return done

    def add_schedule(self, schedule: Schedule) -> None:
        """Fire ``schedule`` too (checked like the rest: target, ``after``); from now on."""
        targets = (
            self.host.registries.workflows
            if schedule.workflow is not None
            else self.host.registries.pipelines
        )
        if schedule.target not in targets:
            raise ConfigError(
                f"schedule {schedule.name!r}: {schedule.target_kind} {schedule.target!r}: "
                f"not a registered {schedule.target_kind}"
            )
        with self._lock:
            if schedule.name in self._schedules:
                raise ConfigError(f"schedule {schedule.name!r} exists already")
            check_after_cycles([*self._schedules.values(), schedule])
            self._schedules[schedule.name] = schedule
            if self._synced:
                self._sync_one(schedule)

    def remove_schedule(self, name: str) -> Schedule:
        """Stop firing ``name`` (its history is kept); return the schedule."""
        with self._lock:
            schedule = self._schedules.pop(name, None)
            if schedule is None:
                raise ConfigError(f"no schedule named {quoted(name)}")
            self._cursor.pop(name, None)
            dependents = [s.name for s in self._schedules.values() if name in s.after]
            if dependents:
                self._schedules[name] = schedule
                raise ConfigError(
                    f"schedule {name!r} cannot be removed: {', '.join(dependents)} wait for it "
                    "(after)"
                )
            return schedule

    def list_schedules(self) -> list[Schedule]:
        """The schedules this service fires, by name."""
        with self._lock:
            return sorted(self._schedules.values(), key=lambda schedule: schedule.name)

    def get_next_runs(self, count: int = 10) -> list[tuple[str, datetime]]:
        """The next ``count`` fires of enabled, unpaused schedules: (name, UTC time), in order."""
        now = self.clock()
        paused = self.ledger.paused_names() if self._synced else set()
        chosen = [s for s in self.list_schedules() if s.enabled and s.name not in paused]
        merged = heapq.merge(*(_named_times(schedule, now) for schedule in chosen))
        result = []
        for instant, name in merged:
            result.append((name, instant))
            if len(result) >= count:
                break
        return result

    # -- driving -------------------------------------------------------------------------------

    def sync(self) -> None:
        """Write definitions to ``schedules`` and place each schedule after its last fire."""
        now = self.clock()
        with self._lock:
            schedules = list(self._schedules.values())
            states = self.ledger.sync(schedules, self._origins(schedules), now=now)
            last = self.ledger.last_nominal()
            self._cursor.clear()
            self._heap.clear()
            for schedule in schedules:
                state = states[schedule.name]
                self._place(schedule, last.get(schedule.name), state.catchup_from or now)
            self._synced = True

    def run_pending(self, now: datetime | None = None) -> list[Fire]:
        """Claim and start every fire due at ``now`` (the clock by default); return those this
        replica recorded (run, or MISSED): as ended when carried here, as claimed when started
        on workers.

        Started with :meth:`start`, fires are carried on worker threads; without, they are
        carried here, one after the other, before this returns (tests drive the clock so).
        """
        now = now if now is not None else self.clock()
        if not self._synced:
            self.sync()
        with self._lock:
            due = self._due(now)
        if not due:
            return []
        paused = self.ledger.paused_names()
        planned: list[tuple[Schedule, Fire]] = []
        for schedule, since in due:
            if schedule.name in paused:
                continue  # deliberate: a paused schedule's fires are neither run nor missed
            for item in plan_fires(schedule, since, now):
                planned.append(
                    (schedule, self._fire(schedule, item.nominal, item.run, item.reason))
                )
        if not planned:
            return []
        # One order on every replica (time, after-depth, name): concurrent claims of the same
        # keys then never wait on each other in a cycle.
        planned.sort(key=lambda pair: (pair[1].nominal_time, self._rank(pair[0]), pair[0].name))
        claimed_at = self.clock()
        fires = [(schedule, _with_claim_time(fire, claimed_at)) for schedule, fire in planned]
        won = {
            (f.schedule_name, f.nominal_time): f for f in self.ledger.claim([f for _, f in fires])
        }
        recorded = []
        for schedule, fire in fires:
            stored = won.get((fire.schedule_name, fire.nominal_time))
            if stored is None:
                continue  # another replica claimed it first
            self.notify(stored)
            if stored.status is FireStatus.MISSED:
                self.ledger.note_missed([stored])
            else:
                stored = self._carry(schedule, stored)
            recorded.append(stored)
        self._record_next([schedule for schedule, _ in due])
        return recorded

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for the fires being carried on worker threads; True when none is left."""
        from concurrent.futures import wait

        with self._lock:
            futures = set(self._futures)
        _, pending = wait(futures, timeout=timeout)
        return not pending

    def check_deadlines(self, now: datetime | None = None) -> list[Alert]:
        """Raise missed deadlines, stale freshness rules and their recoveries (see
        :mod:`.deadlines`); the alerts raised here. Never raises."""
        now = now if now is not None else self.clock()
        if not self._synced:
            self.sync()
        try:
            return self.deadlines.check(now)
        except SpineError as error:
            log.warning("deadline check failed: %s", error.message)
            return []

    def housekeep(self, now: datetime | None = None) -> list[Fire]:
        """End the open fires of replicas that are gone, reap their runs, check deadlines.
        Returns the fires ended."""
        now = now if now is not None else self.clock()
        self.check_deadlines(now)
        ended = []
        heartbeats_can_block = getattr(self.host.storage, "dialect", None) == "sqlite"
        cutoff = now - timedelta(seconds=self.stale_after)
        try:
            crashed = self.runner.runner.reap()
            self.runner.runner.reap_executions()
        except SpineError as error:
            log.warning("scheduler housekeeping could not reap runs: %s", error.message)
        else:
            self._resume_crashed(crashed)
        for fire in self.ledger.open_fires():
            if fire.claimed_by == self.owner:
                continue
            if not abandoned(
                fire.claimed_by,
                fire.heartbeat_at,
                cutoff,
                heartbeats_can_block=heartbeats_can_block,
            ):
                continue
            outcome = self._abandoned_outcome(fire)
            if outcome is None:
                continue  # its run is still going; the run reaper decides first
            status, reason = outcome
            if self.ledger.end_abandoned(fire, status=status, reason=reason, finished_at=now):
                ended.append(fire)
                log.warning(
                    "schedule %s: fire for %s %s: %s",
                    fire.schedule_name,
                    fire.nominal_time.isoformat(),
                    status.value,
                    reason,
                )
        return ended

    def notify(self, fire: Fire) -> None:
        """Tell plugins (``spine_schedule_fired``) and the observer about a fire's new state."""
        self.host.notify("spine_schedule_fired", fire=fire)
        if self.observer is not None:
            try:
                self.observer(fire)
            except Exception:  # an observer never stops the scheduler
                log.exception("schedule observer failed")

    # -- helpers -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_pending()
                now = self.clock()
                if self._next_housekeeping is None or now >= self._next_housekeeping:
                    self.housekeep(now)
                    self._next_housekeeping = now + timedelta(seconds=self.heartbeat_interval)
            except Exception:
                # The loop must outlive a database hiccup: log, wait, try again.
                log.exception("scheduler loop failed; retrying")
            self._stopping.wait(self._sleep())

    def _sleep(self) -> float:
        with self._lock:
            if not self._heap:
                return _MAX_SLEEP
            until = (self._heap[0][0] - self.clock()).total_seconds()
        return min(max(until, 0.0), _MAX_SLEEP)

    def _due(self, now: datetime) -> list[tuple[Schedule, datetime]]:
        """Pop the schedules due at ``now``: (schedule, last handled time); advance them."""
        due = []
        while self._heap and self._heap[0][0] <= now:
            _, name = heapq.heappop(self._heap)
            schedule = self._schedules.get(name)
            since = self._cursor.get(name)
            if schedule is None or since is None:
                continue  # removed since it was placed
            due.append((schedule, since))
            self._cursor[name] = now
            following = fire_times(schedule, now, 1)
            if following:
                heapq.heappush(self._heap, (following[0], name))
        return due

    def _place(self, schedule: Schedule, last: datetime | None, catchup_from: datetime) -> None:
        if not schedule.enabled:
            return
        since = max(last, catchup_from) if last is not None else catchup_from
        self._cursor[schedule.name] = since
        following = fire_times(schedule, since, 1)
        if following:
            heapq.heappush(self._heap, (following[0], schedule.name))

    def _sync_one(self, schedule: Schedule) -> None:
        now = self.clock()
        states = self.ledger.sync([schedule], self._origins([schedule]), now=now)
        self._place(schedule, None, states[schedule.name].catchup_from or now)

    def _origins(self, schedules: list[Schedule]) -> dict[str, str]:
        return {schedule.name: schedule_origin(self.host, schedule) for schedule in schedules}

    def _fire(self, schedule: Schedule, nominal: datetime, run: bool, reason: str | None) -> Fire:
        return Fire(
            schedule_name=schedule.name,
            nominal_time=nominal,
            status=FireStatus.CLAIMED if run else FireStatus.MISSED,
            reason=None if reason == CATCH_UP else reason,
            fired_by=CATCH_UP if reason == CATCH_UP else ON_TIME,
            logical_date=nominal.astimezone(schedule.zone).isoformat(),
            claimed_by=self.owner,
        )

    def _rank(self, schedule: Schedule) -> int:
        """How many ``after`` links lie beneath ``schedule`` (upstream fires are carried first)."""
        depth, frontier = 0, set(schedule.after)
        while frontier and depth <= len(self._schedules):  # after has no cycles: a bound only
            depth += 1
            upstream: set[str] = set()
            for name in frontier:
                other = self._schedules.get(name)
                upstream.update(other.after if other is not None else ())
            frontier = upstream
        return depth

    def _carry(self, schedule: Schedule, fire: Fire) -> Fire:
        """Carry the fire here (not started: the outcome comes back) or on a worker."""
        if self._pool is None:
            return self.runner.carry(schedule, fire)
        future = self._pool.submit(self._carry_logged, schedule, fire)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return fire

    def _carry_logged(self, schedule: Schedule, fire: Fire) -> Fire:
        try:
            return self.runner.carry(schedule, fire)
        except Exception:
            log.exception(
                "schedule %s: the fire for %s could not be carried",
                schedule.name,
                fire.nominal_time.isoformat(),
            )
            raise

    def _forget(self, future: Future[Fire]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _record_next(self, schedules: list[Schedule]) -> None:
        with self._lock:
            upcoming = {name: instant for instant, name in self._heap}
        try:
            self.ledger.set_next({s.name: upcoming.get(s.name) for s in schedules})
        except SpineError as error:  # informational only: never stop firing for it
            log.warning("could not record the next fire times: %s", error.message)

    def _resume_crashed(self, crashed: list[WorkflowRun]) -> None:
        """Resume in place, on this replica, the runs it just reaped whose workflow says
        ``resume_on_crash``: their finished steps are kept, the rest run again here."""
        for run in crashed:
            workflow = self._workflow(run.workflow)
            if workflow is None or not workflow.resume_on_crash:
                continue
            log.warning(
                "run %s of %s: its runner stopped; resuming it here (resume_on_crash)",
                run.run_id,
                run.workflow,
            )
            with self._lock:
                self._resuming.add(run.run_id)
            if self._pool is None:
                self._resume(run.run_id)
                continue
            future = self._pool.submit(self._resume, run.run_id)
            with self._lock:
                self._futures.add(future)  # type: ignore[arg-type]
            future.add_done_callback(self._forget)  # type: ignore[arg-type]

    def _resume(self, run_id: str) -> None:
        try:
            run = self.runner.runner.resume(run_id)
            log.warning("run %s resumed after a crash: %s", run_id, run.status.value)
        except SpineError as error:
            log.warning("run %s could not be resumed: %s", run_id, error.message)
        except Exception:
            log.exception("run %s could not be resumed", run_id)
        finally:
            with self._lock:
                self._resuming.discard(run_id)

    def _workflow(self, name: str) -> Workflow | None:
        try:
            return self.runner.runner.workflow(name)
        except SpineError:
            return None

    def _abandoned_outcome(self, fire: Fire) -> tuple[FireStatus, str] | None:
        gone = f"scheduler {fire.claimed_by} stopped"
        if fire.run_id is not None:
            with self._lock:
                if fire.run_id in self._resuming:
                    return None
            run = self.runner.runner.history.get_run(fire.run_id, with_steps=False)
            if run is None:
                return FireStatus.FAILED, f"{gone} before the run started"
            if run.status.value == "RUNNING":
                return None
            if run.status.value == "CRASHED" and self._may_be_resumed(run):
                return None  # the replica that reaped it may be reopening it right now
            if run.status.value == "COMPLETED":
                return FireStatus.SUCCEEDED, f"{gone}; its run completed"
            return FireStatus.FAILED, f"{gone}; its run ended {run.status.value}"
        if fire.execution_id is not None:
            execution = self.runner.dispatcher.executions.get(fire.execution_id)
            if execution is None:
                return FireStatus.FAILED, f"{gone} before the run started"
            if not execution.status.terminal:
                return None
            if execution.status.value == "COMPLETED":
                return FireStatus.SUCCEEDED, f"{gone}; its execution completed"
            return FireStatus.FAILED, f"{gone}; its execution ended {execution.status.value}"
        return FireStatus.FAILED, f"{gone} before the run started"

    def _may_be_resumed(self, run: WorkflowRun) -> bool:
        """A CRASHED run of a ``resume_on_crash`` workflow, reaped less than ``stale_after``
        ago: the replica that reaped it resumes it (its fire ends with the resumed run)."""
        workflow = self._workflow(run.workflow)
        if workflow is None or not workflow.resume_on_crash or run.finished_at is None:
            return False
        return (self.clock() - run.finished_at).total_seconds() < self.stale_after


def _named_times(schedule: Schedule, after: datetime) -> Iterator[tuple[datetime, str]]:
    for instant in iter_fire_times(schedule, after):
        yield instant, schedule.name


def _with_claim_time(fire: Fire, claimed_at: datetime) -> Fire:
    import attrs

    # A MISSED fire is recorded as ended: it ends when it is found missed.
    finished_at = claimed_at if fire.status is FireStatus.MISSED else None
    return attrs.evolve(fire, claimed_at=claimed_at, finished_at=finished_at)
