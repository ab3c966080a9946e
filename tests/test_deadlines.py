"""Deadlines with the clock in the test's hands, on SQLite and PostgreSQL: a paused schedule, a run
still running at its deadline then succeeding, three replicas checking at once, a scheduler
started after the deadline passed, a pipeline that is no longer fresh."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from spine_host import Schedule
from spine_host.alerts.ledger import AlertLedger, StoredAlert
from spine_host.config import parse_config
from spine_host.host import Host
from spine_host.orchestration.deadline_ledger import DeadlineLedger
from spine_host.orchestration.freshness import freshness_rules
from spine_host.orchestration.schedule_fire import Fire, FireStatus
from spine_host.orchestration.scheduler import SchedulerService
from spine_host.pipelines.dispatcher import Dispatcher
from spine_host.storage import schema
from tests.plugins import schedule_targets
from tests.plugins.workflow_fixtures import storage_plugins, storage_url

__all__ = ["storage_url"]

EMPTIED = (
    schema.alert_deliveries,
    schema.alerts,
    schema.deadlines,
    schema.schedule_runs,
    schema.schedules,
    schema.execution_events,
    schema.executions,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def deadline_host(url: str, config: dict | None = None) -> Host:
    host = Host(
        config=parse_config(config or {}),
        plugins=[*storage_plugins(url), schedule_targets],
        load_entrypoints=False,
        storage_url=url,
        environ={},
    )
    engine = host.storage.engine  # type: ignore[attr-defined]
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        for table in EMPTIED:
            connection.execute(sa.delete(table))
    return host


@pytest.fixture
def host(storage_url: str) -> Iterator[Host]:
    made = deadline_host(storage_url)
    yield made
    made.close()


def deadline_alerts(host: Host) -> list[StoredAlert]:
    assert host.alerts.flush(10)
    return [
        alert
        for alert in reversed(AlertLedger(host.storage).alerts(limit=1000))
        if alert.dedup_key and alert.dedup_key.startswith("deadline:")
    ]


DAILY = Schedule("daily", workflow="sched.tick", cron="0 2 * * *", deadline="1h")


def test_a_paused_schedule_misses_its_deadline_once_with_the_reason(host: Host) -> None:
    clock = Clock(utc(2026, 5, 4, 1, 0))
    scheduler = SchedulerService(host, [DAILY], clock=clock)
    scheduler.sync()
    scheduler.ledger.set_paused("daily", True, now=clock.now)
    for minute in range(0, 120, 10):  # 01:00 .. 02:50: the 02:00 fire is paused, not yet late
        clock.now = utc(2026, 5, 4, 1, 0) + timedelta(minutes=minute)
        scheduler.run_pending(clock.now)
        scheduler.check_deadlines(clock.now)
    assert deadline_alerts(host) == []
    for minute in (0, 1, 30):
        clock.now = utc(2026, 5, 4, 3, minute)
        scheduler.check_deadlines(clock.now)
    (alert,) = deadline_alerts(host)
    assert alert.title == "deadline missed: schedule daily for 2026-05-04 02:00 UTC"
    assert alert.severity == "ERROR"
    assert alert.message.endswith("by 2026-05-04 03:00:00 UTC; schedule paused")
    row = DeadlineLedger(host.storage).rows("schedule:daily")[utc(2026, 5, 4, 2)]
    assert (row.status, row.reason, row.alert_id) == ("MISSED", "schedule paused", alert.alert_id)


def test_a_run_still_running_at_the_deadline_alerts_then_recovers_once(host: Host) -> None:
    clock = Clock(utc(2026, 5, 4, 1, 0))
    scheduler = SchedulerService(host, [DAILY], clock=clock)
    scheduler.sync()
    nominal = utc(2026, 5, 4, 2)
    (fire,) = scheduler.ledger.claim(
        [Fire("daily", nominal, FireStatus.CLAIMED, claimed_by="replica-a", claimed_at=nominal)]
    )
    fire = scheduler.ledger.update(
        fire, status=FireStatus.RUNNING, started_at=nominal, run_id="run-still-going"
    )
    clock.now = utc(2026, 5, 4, 3, 0, 5)
    scheduler.check_deadlines(clock.now)
    (missed,) = deadline_alerts(host)
    assert "running since 2026-05-04 02:00:00 UTC (run run-still-going)" in missed.message
    assert missed.run_id == "run-still-going"

    scheduler.ledger.update(fire, status=FireStatus.SUCCEEDED, finished_at=utc(2026, 5, 4, 3, 20))
    for minute in (21, 22, 40):
        scheduler.check_deadlines(utc(2026, 5, 4, 3, minute))
    missed_again, recovered = deadline_alerts(host)
    assert missed_again.alert_id == missed.alert_id
    assert recovered.title == "deadline met late: schedule daily for 2026-05-04 02:00 UTC"
    assert recovered.severity == "INFO"
    assert "succeeded at 2026-05-04 03:20:00 UTC, 20m00s after its deadline" in (recovered.message)
    row = DeadlineLedger(host.storage).rows("schedule:daily")[nominal]
    assert (row.status, row.met_by_run_id) == ("RECOVERED", "run-still-going")


def test_three_replicas_checking_at_once_raise_one_alert_per_missed_deadline(
    host: Host,
) -> None:
    clock = Clock(utc(2026, 5, 4, 1, 0))
    replicas = [SchedulerService(host, [DAILY], clock=clock) for _ in range(3)]
    replicas[0].sync()
    barrier = threading.Barrier(3)
    late = utc(2026, 5, 6, 3, 30)  # two deadlines passed: 05-04 and 05-05, 05-06 too

    def check(replica: SchedulerService) -> None:
        barrier.wait()
        replica.check_deadlines(late)

    threads = [threading.Thread(target=check, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    titles = [alert.title for alert in deadline_alerts(host)]
    assert sorted(titles) == [
        f"deadline missed: schedule daily for 2026-05-0{day} 02:00 UTC" for day in (4, 5, 6)
    ]


def test_a_scheduler_started_after_the_deadline_raises_it_once_at_start(host: Host) -> None:
    clock = Clock(utc(2026, 5, 4, 1, 0))
    SchedulerService(host, [DAILY], clock=clock).sync()  # seen, then nothing ran
    clock.now = utc(2026, 5, 4, 9, 0)
    started = SchedulerService(host, [DAILY], clock=clock)
    started.sync()
    started.check_deadlines()
    started.check_deadlines()
    (alert,) = deadline_alerts(host)
    assert alert.message.endswith("it never fired (no scheduler ran it)")


def test_a_stale_pipeline_alerts_once_and_a_success_clears_it(storage_url: str) -> None:
    host = deadline_host(
        storage_url,
        {"freshness": {"loads": {"pipeline": "sched.load", "fresh_within": "36h"}}},
    )
    try:
        execution = Dispatcher(host).run("sched.load", {"day": "2026-05-01"})
        forty_hours_ago = execution.finished_at - timedelta(hours=40)
        host.storage.execute(
            sa.update(schema.executions)
            .where(schema.executions.c.execution_id == execution.execution_id)
            .values(finished_at=forty_hours_ago)
        )
        scheduler = SchedulerService(host, [], freshness=freshness_rules(host))
        scheduler.check_deadlines()
        scheduler.check_deadlines()
        (stale,) = deadline_alerts(host)
        assert stale.title == "deadline missed: pipeline sched.load not fresh"
        assert "within the last 36h00m" in stale.message
        assert "40h00m ago" in stale.message

        fresh = Dispatcher(host).run("sched.load", {"day": "2026-05-02"})
        scheduler.check_deadlines()
        scheduler.check_deadlines()
        stale_again, cleared = deadline_alerts(host)
        assert stale_again.alert_id == stale.alert_id
        assert cleared.title == "pipeline sched.load fresh again"
        assert cleared.run_id == fresh.execution_id
    finally:
        host.close()


def test_a_bad_freshness_table_names_the_key(storage_url: str) -> None:
    from spine_host.errors import ConfigError

    host = deadline_host(
        storage_url, {"freshness": {"x": {"pipeline": "sched.load", "fresh_within": "soon"}}}
    )
    try:
        with pytest.raises(ConfigError, match=r"freshness\.x\.fresh_within = 'soon'"):
            freshness_rules(host)
    finally:
        host.close()


def test_spine_schedules_deadlines_lists_the_missed_one_and_what_met_it(storage_url: str) -> None:
    from click.testing import CliRunner

    from spine_host.cli.context import CliState
    from spine_host.cli.schedules import schedules_group

    host = deadline_host(storage_url)
    try:
        clock = Clock(utc(2026, 5, 4, 1, 0))
        scheduler = SchedulerService(host, [DAILY], clock=clock)
        scheduler.sync()
        scheduler.check_deadlines(utc(2026, 5, 4, 3, 30))
        state = CliState(config_path=None, host=host)
        result = CliRunner().invoke(schedules_group, ["deadlines"], obj=state)
        assert result.exit_code == 0, result.output
        line = result.stdout.splitlines()[2]
        assert line.split()[:6] == [
            "schedule:daily", "2026-05-04", "02:00:00", "2026-05-04", "03:00:00", "MISSED",
        ]  # fmt: skip
        assert "it never fired" in line
    finally:
        host.close()
