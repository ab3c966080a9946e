"""The scheduler service with the clock in the test's hands: DST days, catch-up policies,
``after``, overlap, pause, exactly-once claims, abandoned fires, pipeline targets.

Every test runs on SQLite and on PostgreSQL. ``run_pending(now)`` without ``start()`` carries
the fires it claims before it returns, so each step of a test sees the recorded outcome.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from spine_host import Schedule, hookimpl
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.liveness import new_owner
from spine_host.orchestration.schedule_fire import Fire, FireStatus
from spine_host.orchestration.scheduler import SchedulerService
from spine_host.storage import schema
from tests.plugins import schedule_targets
from tests.plugins.workflow_fixtures import make_host, storage_url

__all__ = ["storage_url"]

NEW_YORK = ZoneInfo("America/New_York")


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """Collects every ``spine_schedule_fired`` call."""

    def __init__(self) -> None:
        self.fires: list[Fire] = []

    @hookimpl
    def spine_schedule_fired(self, fire):
        self.fires.append(fire)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def host(storage_url: str, recorder: Recorder) -> Iterator:
    made = make_host(storage_url, schedule_targets, recorder)
    engine = made.storage.engine
    with engine.begin() as connection:
        for table in (schema.schedule_runs, schema.schedules, schema.execution_events):
            connection.execute(sa.delete(table))
        connection.execute(sa.delete(schema.executions))
    try:
        yield made
    finally:
        made.close()


def service(host, clock: Clock, *schedules: Schedule) -> SchedulerService:
    scheduler = SchedulerService(host, schedules, clock=clock)
    scheduler.sync()
    return scheduler


def history(scheduler: SchedulerService, name: str) -> list[Fire]:
    """Fires of ``name``, oldest first."""
    return list(reversed(scheduler.ledger.history(name, limit=1000)))


def drive(scheduler: SchedulerService, clock: Clock, until: datetime, step: timedelta) -> None:
    """Move the clock to ``until`` in steps, letting the scheduler act at each one."""
    while clock.now < until:
        clock.now = min(clock.now + step, until)
        scheduler.run_pending(clock.now)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- DST (acceptance 2) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "cron", "expected_utc", "expected_local"),
    [
        # 2026-03-08: New York skips 02:00-03:00; 02:30 fires once, at 03:00 EDT.
        (datetime(2026, 3, 8), "30 2 * * *", utc(2026, 3, 8, 7, 0), "03:00-04:00"),
        # 2026-11-01: New York repeats 01:00-02:00; 02:30 happens once and fires once.
        (datetime(2026, 11, 1), "30 2 * * *", utc(2026, 11, 1, 7, 30), "02:30-05:00"),
        # ... and 01:30, which happens twice, fires once, at its first occurrence (EDT).
        (datetime(2026, 11, 1), "30 1 * * *", utc(2026, 11, 1, 5, 30), "01:30-04:00"),
    ],
)
def test_a_daily_new_york_schedule_fires_once_on_each_dst_day(
    host, day: datetime, cron: str, expected_utc: datetime, expected_local: str
) -> None:
    start = day.replace(tzinfo=NEW_YORK) - timedelta(hours=1)
    clock = Clock(start.astimezone(UTC))
    daily = Schedule(
        "daily", workflow="sched.tick", cron=cron, timezone="America/New_York", misfire_grace=60
    )
    scheduler = service(host, clock, daily)
    drive(scheduler, clock, clock.now + timedelta(hours=26), timedelta(minutes=5))
    fires = history(scheduler, "daily")
    assert [(fire.nominal_time, fire.status) for fire in fires] == [
        (expected_utc, FireStatus.SUCCEEDED)
    ]
    local = expected_utc.astimezone(NEW_YORK)
    assert f"{local:%H:%M}{local:%z}"[:-2] + ":00" == expected_local
    assert fires[0].logical_date == local.isoformat()


# -- catch-up (acceptance 4) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [
        ("latest", ["MISSED", "MISSED", "SUCCEEDED"]),
        ("all", ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]),
        ("none", ["MISSED", "MISSED", "MISSED"]),
    ],
)
def test_fires_missed_while_stopped_follow_the_catchup_policy(
    host, catchup: str, expected: list[str]
) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    minutely = Schedule(
        "minutely", workflow="sched.tick", cron="* * * * *", catchup=catchup, misfire_grace=10
    )
    first = service(host, clock, minutely)
    drive(first, clock, utc(2026, 5, 4, 9, 1, 10), timedelta(seconds=10))
    assert [f.status for f in history(first, "minutely")] == [FireStatus.SUCCEEDED]
    # The scheduler stops; 09:02, 09:03 and 09:04 pass; a new one starts at 09:04:45, after
    # the misfire grace (10 s) of the last of them.
    clock.now = utc(2026, 5, 4, 9, 4, 45)
    restarted = service(host, clock, minutely)
    restarted.run_pending(clock.now)
    fires = history(restarted, "minutely")[1:]
    assert [f.nominal_time for f in fires] == [utc(2026, 5, 4, 9, m) for m in (2, 3, 4)]
    assert [f.status.value for f in fires] == expected
    for fire in fires:
        if fire.status is FireStatus.MISSED:
            assert fire.reason  # says why: never a silent miss
        else:
            assert fire.fired_by == "catch-up"
            assert fire.run_id is not None
    # Back on time from there.
    drive(restarted, clock, utc(2026, 5, 4, 9, 5, 0), timedelta(seconds=15))
    assert history(restarted, "minutely")[-1].fired_by == "schedule"
    assert len(history(restarted, "minutely")) == 5


def test_a_new_schedule_does_not_catch_up_the_time_before_it_existed(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    scheduler = service(host, clock, Schedule("m", workflow="sched.tick", cron="* * * * *"))
    scheduler.run_pending(clock.now)
    assert history(scheduler, "m") == []
    drive(scheduler, clock, utc(2026, 5, 4, 9, 1, 0), timedelta(seconds=30))
    assert [f.nominal_time for f in history(scheduler, "m")] == [utc(2026, 5, 4, 9, 1)]


# -- after (acceptance 5) -------------------------------------------------------------------------


def test_after_runs_b_only_once_a_succeeded_for_the_same_time(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    a = Schedule("a", workflow="sched.fail", cron="* * * * *", params={"fail": False})
    b = Schedule("b", workflow="sched.tick", cron="* * * * *", after=["a"])
    scheduler = service(host, clock, b, a)
    drive(scheduler, clock, utc(2026, 5, 4, 9, 1, 0), timedelta(seconds=30))
    (fire_a,) = history(scheduler, "a")
    (fire_b,) = history(scheduler, "b")
    assert (fire_a.status, fire_b.status) == (FireStatus.SUCCEEDED, FireStatus.SUCCEEDED)
    runs = WorkflowHistoryRepository(host.storage)
    run_a = runs.require_run(fire_a.run_id)
    run_b = runs.require_run(fire_b.run_id)
    assert run_b.started_at >= run_a.finished_at


def test_after_skips_b_with_the_reason_when_a_failed(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    a = Schedule("a", workflow="sched.fail", cron="* * * * *", params={"fail": True})
    b = Schedule("b", workflow="sched.tick", cron="* * * * *", after=["a"])
    scheduler = service(host, clock, a, b)
    drive(scheduler, clock, utc(2026, 5, 4, 9, 1, 0), timedelta(seconds=30))
    (fire_a,) = history(scheduler, "a")
    (fire_b,) = history(scheduler, "b")
    assert fire_a.status is FireStatus.FAILED
    assert "told to fail" in fire_a.reason
    assert fire_b.status is FireStatus.SKIPPED
    assert fire_b.run_id is None
    assert "a's fire for 2026-05-04T09:01:00+00:00 FAILED" in fire_b.reason


def test_after_waits_then_gives_up_at_the_timeout_with_the_reason(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    a = Schedule("a", workflow="sched.tick", cron="* * * * *")
    b = Schedule("b", workflow="sched.tick", cron="* * * * *", after=["a"], after_timeout=30)
    scheduler = service(host, clock, a, b)
    scheduler.ledger.set_paused("a", True, now=clock.now)  # a never fires
    # b waits (polling) until 09:01:30; the test moves the clock past it from another thread.
    timer = threading.Timer(0.3, lambda: setattr(clock, "now", utc(2026, 5, 4, 9, 1, 31)))
    timer.start()
    scheduler.runner.poll_interval = 0.05
    scheduler.run_pending(utc(2026, 5, 4, 9, 1, 0))
    timer.join()
    (fire_b,) = history(scheduler, "b")
    assert fire_b.status is FireStatus.SKIPPED
    assert "after: a had not succeeded for this logical time by 2026-05-04T09:01:30" in (
        fire_b.reason
    )


# -- overlap (acceptance 6) -----------------------------------------------------------------------


def test_overlap_skip_records_a_fire_during_a_running_run_as_skipped(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    slow = Schedule(
        "slow", workflow="sched.slow", cron="* * * * *", params={"seconds": 2}, overlap="skip"
    )
    scheduler = service(host, clock, slow)
    first = threading.Thread(target=scheduler.run_pending, args=(utc(2026, 5, 4, 9, 1, 0),))
    first.start()
    try:
        wait_for(lambda: _statuses(scheduler, "slow") == ["RUNNING"])
        scheduler.run_pending(utc(2026, 5, 4, 9, 2, 0))
    finally:
        first.join()
    fires = history(scheduler, "slow")
    assert [f.status for f in fires] == [FireStatus.SUCCEEDED, FireStatus.SKIPPED]
    assert fires[1].reason.startswith("overlap = skip: the fire for 2026-05-04T09:01:00+00:00")
    assert fires[0].run_id in fires[1].reason


def _statuses(scheduler: SchedulerService, name: str) -> list[str]:
    return [fire.status.value for fire in history(scheduler, name)]


def wait_for(condition, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# -- pause, exactly once, abandoned fires ---------------------------------------------------------


def test_a_paused_schedule_neither_runs_nor_misses_and_resumes_from_then(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    scheduler = service(host, clock, Schedule("m", workflow="sched.tick", cron="* * * * *"))
    scheduler.ledger.set_paused("m", True, now=clock.now)
    drive(scheduler, clock, utc(2026, 5, 4, 9, 3, 0), timedelta(seconds=30))
    assert history(scheduler, "m") == []
    scheduler.ledger.set_paused("m", False, now=clock.now)
    restarted = service(host, clock, Schedule("m", workflow="sched.tick", cron="* * * * *"))
    drive(restarted, clock, utc(2026, 5, 4, 9, 4, 0), timedelta(seconds=30))
    assert [(f.nominal_time.minute, f.status.value) for f in history(restarted, "m")] == [
        (4, "SUCCEEDED")
    ]
    state = restarted.ledger.states()["m"]
    assert (state.paused, state.last_outcome) == (False, "SUCCEEDED")
    assert state.next_fire_at == utc(2026, 5, 4, 9, 5)


def test_two_replicas_due_at_once_fire_once(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    minutely = Schedule("m", workflow="sched.tick", cron="* * * * *")
    one, two = service(host, clock, minutely), service(host, clock, minutely)
    results: list[list[Fire]] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(s.run_pending(utc(2026, 5, 4, 9, 1))))
        for s in (one, two)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(recorded) for recorded in results) == [0, 1]
    assert [f.status for f in history(one, "m")] == [FireStatus.SUCCEEDED]
    runs = WorkflowHistoryRepository(host.storage).list_runs(workflow="sched.tick")
    assert len(runs) == 1
    assert (runs[0].schedule_name, runs[0].logical_date) == ("m", utc(2026, 5, 4, 9, 1))


def test_an_open_fire_of_a_dead_replica_is_ended_with_the_reason(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    scheduler = service(host, clock, Schedule("m", workflow="sched.tick", cron="* * * * *"))
    dead = dead_owner()
    scheduler.ledger.claim(
        [
            Fire(
                "m",
                utc(2026, 5, 4, 9, 0),
                FireStatus.CLAIMED,
                claimed_by=dead,
                claimed_at=clock.now,
            )
        ]
    )
    assert scheduler.housekeep(clock.now) != []
    (fire,) = history(scheduler, "m")
    assert fire.status is FireStatus.FAILED
    assert fire.reason == f"scheduler {dead} stopped before the run started"


def dead_owner() -> str:
    """The owner string of a process that has exited."""
    code = "from spine_host.orchestration.liveness import new_owner; print(new_owner())"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


# -- targets, params, hooks -----------------------------------------------------------------------


def test_a_pipeline_schedule_runs_an_execution_with_params_in_the_schedule_zone(
    host, recorder: Recorder
) -> None:
    clock = Clock(utc(2026, 5, 4, 3, 59, 30))
    daily = Schedule(
        "load",
        pipeline="sched.load",
        cron="0 0 * * *",
        timezone="America/New_York",
        params={"day": "{logical_date:%Y-%m-%d %H:%M}"},
    )
    scheduler = service(host, clock, daily)
    drive(scheduler, clock, utc(2026, 5, 4, 4, 0, 30), timedelta(seconds=30))
    (fire,) = history(scheduler, "load")
    assert fire.status is FireStatus.SUCCEEDED
    assert fire.execution_id is not None
    execution = scheduler.runner.dispatcher.executions.get(fire.execution_id)
    assert execution.status.value == "COMPLETED"
    assert execution.params == {"day": "2026-05-04 00:00"}  # midnight in New York, 04:00 UTC
    assert execution.triggered_by == "schedule:load"
    assert [f.status.value for f in recorder.fires] == ["CLAIMED", "RUNNING", "SUCCEEDED"]
    assert {f.nominal_time for f in recorder.fires} == {utc(2026, 5, 4, 4, 0)}


def test_get_next_runs_merges_schedules_and_leaves_out_paused_ones(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    scheduler = service(
        host,
        clock,
        Schedule("hourly", workflow="sched.tick", cron="0 * * * *"),
        Schedule("half", workflow="sched.tick", interval="30m"),
        Schedule("paused", workflow="sched.tick", interval="1m"),
    )
    scheduler.ledger.set_paused("paused", True, now=clock.now)
    assert scheduler.get_next_runs(3) == [
        ("half", utc(2026, 5, 4, 9, 30)),
        ("half", utc(2026, 5, 4, 10, 0)),
        ("hourly", utc(2026, 5, 4, 10, 0)),
    ]


def test_owner_strings_differ_per_service(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    assert service(host, clock).owner != service(host, clock).owner != new_owner()


def test_a_run_now_does_not_hide_fires_a_restarted_scheduler_must_catch_up(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    minutely = Schedule("m", workflow="sched.tick", cron="* * * * *", catchup="none")
    scheduler = service(host, clock, minutely)
    drive(scheduler, clock, utc(2026, 5, 4, 9, 1, 5), timedelta(seconds=5))
    # While no scheduler runs, someone runs it by hand at 09:02:30.
    scheduler.ledger.claim(
        [
            Fire(
                "m",
                utc(2026, 5, 4, 9, 2, 30, 1),
                FireStatus.SKIPPED,
                fired_by="run-now",
                claimed_at=clock.now,
            )
        ]
    )
    clock.now = utc(2026, 5, 4, 9, 3, 30)
    restarted = service(host, clock, minutely)
    restarted.run_pending(clock.now)
    by_time = {f.nominal_time: f for f in history(restarted, "m")}
    assert by_time[utc(2026, 5, 4, 9, 2)].status is FireStatus.MISSED
    assert by_time[utc(2026, 5, 4, 9, 3)].status is FireStatus.SUCCEEDED


def test_replicas_starting_together_on_a_new_database_both_start(host) -> None:
    clock = Clock(utc(2026, 5, 4, 9, 0, 30))
    many = [Schedule(f"s{n:03}", workflow="sched.tick", cron="* * * * *") for n in range(200)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        scheduler = SchedulerService(host, many, clock=clock)
        barrier.wait()
        try:
            scheduler.sync()
        except BaseException as exc:  # the bug this pins: a duplicate key on schedules
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(SchedulerService(host, many, clock=clock).ledger.states()) == 200
