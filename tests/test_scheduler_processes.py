"""``spine scheduler run`` as real processes: three replicas on one PostgreSQL database fire each
second exactly once, even when one is killed with SIGKILL; SIGTERM lets a running fire finish.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from spine_host.orchestration.records import RunStatus
from spine_host.orchestration.schedule_fire import FireStatus
from spine_host.orchestration.schedule_ledger import ScheduleLedger
from spine_host.orchestration.scheduler import SchedulerService
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from tests.plugin_distributions import SPINE
from tests.plugins import schedule_targets
from tests.plugins.schedule_processes import REPO, prepare
from tests.plugins.workflow_fixtures import make_host


def start_scheduler(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SPINE, "--config", str(config), "scheduler", "run", "--grace", "30s"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_started(process: subprocess.Popen[str]) -> None:
    """Until the process says it fires (its first stderr line)."""
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "firing" in line, line + process.stderr.read()


@pytest.mark.slow
def test_three_replicas_fire_each_second_once_even_when_one_is_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    config, env = prepare(
        tmp_path,
        postgres_url,
        '[schedules.every_second]\nworkflow = "sched.tick"\ninterval = "1s"\n',
    )
    replicas = [start_scheduler(config, env) for _ in range(3)]
    observer = make_host(postgres_url, schedule_targets)
    try:
        for replica in replicas:
            wait_started(replica)
        started = utc_now()
        time.sleep(10)
        replicas[0].send_signal(signal.SIGKILL)
        replicas[0].wait(timeout=10)
        killed = utc_now()
        time.sleep(10)
        stopping = utc_now()
        for replica in replicas[1:]:
            replica.send_signal(signal.SIGTERM)
        for replica in replicas[1:]:
            _, err = replica.communicate(timeout=60)
            assert replica.returncode == 0, err
        # Whatever the killed replica held is ended by any other scheduler's housekeeping.
        SchedulerService(observer, []).housekeep()

        ledger = ScheduleLedger(observer.storage)
        fires = {fire.nominal_time: fire for fire in ledger.history("every_second", limit=10_000)}
        window = seconds_between(started + timedelta(seconds=1), stopping - timedelta(seconds=1))
        assert len(window) >= 15
        missing = [second for second in window if second not in fires]
        assert missing == []
        assert all(not fire.status.open for fire in fires.values())
        owners = Counter(fires[second].claimed_by for second in window)
        assert len(owners) >= 2  # the replicas shared the work
        after_kill = [second for second in window if second > killed + timedelta(seconds=1)]
        assert after_kill
        assert all(second in fires for second in after_kill)

        runs = observer.storage.query(
            sa.select(schema.workflow_runs.c.logical_date, schema.workflow_runs.c.status).where(
                schema.workflow_runs.c.schedule_name == "every_second"
            )
        )
        per_second = Counter(row["logical_date"] for row in runs)
        assert [second for second, count in per_second.items() if count > 1] == []
        succeeded = [second for second in window if fires[second].status is FireStatus.SUCCEEDED]
        assert len(succeeded) >= len(window) - 2  # at most the killed replica's fire failed
        assert {row["status"] for row in runs} <= {RunStatus.COMPLETED, RunStatus.CRASHED}
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
                replica.wait()
        observer.close()


def seconds_between(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(microsecond=0) + timedelta(seconds=1)
    return [first + timedelta(seconds=n) for n in range(int((end - first).total_seconds()) + 1)]


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sigterm_stops_claiming_and_lets_the_running_fire_finish(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/spine.db"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    config, env = prepare(
        tmp_path,
        url,
        '[schedules.slow]\nworkflow = "sched.slow"\ninterval = "2s"\nparams = { seconds = 3 }\n',
    )
    scheduler = start_scheduler(config, env)
    observer = make_host_keeping(url)
    ledger = ScheduleLedger(observer.storage)
    try:
        wait_started(scheduler)
        deadline = time.monotonic() + 30
        while not any(f.status is FireStatus.RUNNING for f in ledger.history("slow")):
            assert time.monotonic() < deadline, "no fire started running"
            time.sleep(0.05)
        scheduler.send_signal(signal.SIGTERM)
        signalled = utc_now()
        out, err = scheduler.communicate(timeout=60)
        assert scheduler.returncode == 0, err
        assert "scheduler stopped" in err

        fires = ledger.history("slow")
        running_then = [f for f in fires if f.started_at is not None]
        assert running_then, fires
        assert all(f.status is FireStatus.SUCCEEDED for f in running_then)
        assert all(f.finished_at > signalled for f in running_then[:1])  # it finished after
        assert all(f.nominal_time <= signalled for f in fires)  # nothing due later was claimed
        assert all(not f.status.open for f in fires)
        assert "SUCCEEDED" in out
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
        observer.close()


def make_host_keeping(url: str):  # type: ignore[no-untyped-def]
    """A host on ``url`` that keeps existing history (make_host empties workflow tables)."""
    from spine_host.host import Host
    from tests.plugins.workflow_fixtures import storage_plugins

    return Host(plugins=storage_plugins(url), load_entrypoints=False, storage_url=url, environ={})
