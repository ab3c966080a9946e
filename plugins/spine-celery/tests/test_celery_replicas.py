"""Scheduler replicas on one PostgreSQL database driving runs whose steps run on Celery workers.

Real processes: ``spine scheduler run`` replicas and ``spine worker`` processes, a temporary
PostgreSQL database of this test's own, the tests' Redis.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from spine_host.storage import migrations
from spine_host.testing import postgres

if TYPE_CHECKING:
    from conftest import Cluster

pytestmark = pytest.mark.slow

SPINE = Path(sys.executable).with_name("spine")
#: The scheduler processes started for each cluster (by its directory).
_SCHEDULERS: dict[str, list[subprocess.Popen[str]]] = {}

#: Short liveness settings, so a dead replica is noticed within seconds.
FAST = ("--heartbeat-interval", "0.5s", "--stale-after", "3s")


@pytest.fixture
def pg_cluster(
    redis_url: str, postgres_url: str, make_cluster: Callable[..., Cluster]
) -> Iterator[Cluster]:
    """A cluster (workers, config) on a PostgreSQL database of its own; add schedules with
    :func:`_schedules`; its scheduler processes are killed after the test."""
    del postgres_url  # PostgreSQL answers (or the test fails in CI); the database is ours
    cluster = make_cluster({"broker_url": redis_url, "connect_timeout": 2.0})
    with postgres.temporary_database() as url:
        migrations.upgrade(url)
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                sa.text("CREATE TABLE celery_marks (step TEXT, attempt INT, pid INT)")
            )
        engine.dispose()
        text = cluster.config.read_text().replace(cluster.database_url, url)
        cluster.config.write_text(text)
        cluster.database_url = url
        schedulers = _SCHEDULERS.setdefault(str(cluster.root), [])
        try:
            yield cluster
        finally:
            _SCHEDULERS.pop(str(cluster.root), None)
            for process in schedulers:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=30)
            cluster.stop()


def _schedules(cluster: Cluster, schedules: Mapping[str, Mapping[str, Any]]) -> None:
    text = cluster.config.read_text()
    for name, table in schedules.items():
        text += f"\n[schedules.{name}]\n"
        text += "".join(f'{key} = "{value}"\n' for key, value in table.items())
    cluster.config.write_text(text)


def _start_scheduler(cluster: Cluster, *options: str) -> subprocess.Popen[str]:
    index = len(_SCHEDULERS[str(cluster.root)])
    log = (cluster.root / f"scheduler-{index + 1}.log").open("w")
    process = subprocess.Popen(
        [str(SPINE), "scheduler", "run", "--grace", "20s", *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=cluster.environment,
        cwd=cluster.root,
        text=True,
    )
    _SCHEDULERS[str(cluster.root)].append(process)
    deadline = time.monotonic() + 30
    path = Path(log.name)
    while "firing" not in path.read_text():
        assert process.poll() is None, path.read_text()
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.05)
    return process


def _stop_schedulers(cluster: Cluster) -> None:
    for process in _SCHEDULERS[str(cluster.root)]:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in _SCHEDULERS[str(cluster.root)]:
        process.wait(timeout=60)


def test_three_schedulers_and_two_workers_run_every_nominal_second_exactly_once(
    pg_cluster: Cluster,
) -> None:
    cluster = pg_cluster
    _schedules(cluster, {"tick": {"workflow": "celery_checks.tick", "interval": "1s"}})
    cluster.start_workers(("--concurrency", "2"), ("--concurrency", "2"))
    for _ in range(3):
        _start_scheduler(cluster)
    started = datetime.now().astimezone()
    time.sleep(20)
    stopping = datetime.now().astimezone()
    _stop_schedulers(cluster)

    fires = cluster.query(
        "SELECT nominal_fire_at, status, claimed_by, run_id FROM schedule_runs "
        "WHERE schedule_name = 'tick'"
    )
    by_second = Counter(row["nominal_fire_at"] for row in fires)
    window = _seconds(started + timedelta(seconds=2), stopping - timedelta(seconds=2))
    assert len(window) >= 15
    assert [second for second in window if by_second[second] != 1] == []
    assert {row["status"] for row in fires if row["nominal_fire_at"] in window} == {"SUCCEEDED"}
    assert len({row["claimed_by"] for row in fires}) >= 2  # the replicas shared the fires
    runs = cluster.query(
        "SELECT logical_date, status FROM workflow_runs WHERE schedule_name = 'tick'"
    )
    per_date = Counter(row["logical_date"] for row in runs)
    assert [date for date, count in per_date.items() if count > 1] == []
    steps = cluster.query(
        "SELECT s.status, s.worker FROM workflow_steps s JOIN workflow_runs r USING (run_id) "
        "WHERE r.schedule_name = 'tick'"
    )
    assert len(steps) == len(runs)  # one attempt per run: none lost, none run twice
    assert {row["status"] for row in steps} == {"COMPLETED"}
    assert len({row["worker"].split(":")[1] for row in steps}) >= 2  # both workers ran steps


def test_a_killed_scheduler_s_long_run_is_reaped_and_resumed_by_another_replica(
    pg_cluster: Cluster,
) -> None:
    cluster = pg_cluster
    _schedules(
        cluster,
        {"long": {"workflow": "celery_checks.long", "interval": "2s", "overlap": "skip"}},
    )
    cluster.start_workers(("--pool", "solo"), ("--pool", "solo"))
    driver = _start_scheduler(cluster, *FAST)
    run_id = _wait_for_a_run_past(cluster, "part2")
    _start_scheduler(cluster, *FAST)  # the replica that takes over
    owner = cluster.query("SELECT owner FROM workflow_runs WHERE run_id = :r", r=run_id)[0]
    assert f":{driver.pid}:" in owner["owner"]  # the killed process drives the run

    driver.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    driver.wait(timeout=10)
    status = _wait_finished(cluster, run_id, timeout=60)
    took = time.monotonic() - killed
    _stop_schedulers(cluster)

    assert status == "COMPLETED", (cluster.root / "scheduler-2.log").read_text()
    assert took < 30
    attempts = cluster.query(
        "SELECT step_name, attempt, status FROM workflow_steps WHERE run_id = :r "
        "ORDER BY step_name, attempt",
        r=run_id,
    )
    completed = Counter(row["step_name"] for row in attempts if row["status"] == "COMPLETED")
    assert completed == {f"part{n}": 1 for n in range(1, 7)}  # every step, none twice
    marks = cluster.query("SELECT step, attempt FROM celery_marks")
    finished = {
        (row["step_name"], row["attempt"]) for row in attempts if row["status"] == "COMPLETED"
    }
    # Only the attempts that count committed their work: each step's work landed once.
    assert Counter(row["step"] for row in marks if (row["step"], row["attempt"]) in finished) == {
        f"part{n}": 1 for n in range(1, 7)
    }
    assert {(row["step"], row["attempt"]) for row in marks} <= finished
    # The replica that took it over is the run's owner now.
    owner = cluster.query("SELECT owner FROM workflow_runs WHERE run_id = :r", r=run_id)[0]
    assert f":{driver.pid}:" not in owner["owner"]


def _wait_for_a_run_past(cluster: Cluster, step: str, timeout: float = 60) -> str:
    """The run of ``celery_checks.long`` whose ``step`` COMPLETED (while later ones run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = cluster.query(
            "SELECT s.run_id FROM workflow_steps s JOIN workflow_runs r USING (run_id) "
            "WHERE r.workflow = 'celery_checks.long' AND r.status = 'RUNNING' "
            "AND s.step_name = :step AND s.status = 'COMPLETED'",
            step=step,
        )
        if rows:
            return str(rows[0]["run_id"])
        time.sleep(0.1)
    raise AssertionError(f"no run got past {step}")


def _wait_finished(cluster: Cluster, run_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        status = cluster.query("SELECT status FROM workflow_runs WHERE run_id = :r", r=run_id)[0][
            "status"
        ]
        if status not in ("RUNNING", "CRASHED"):
            return str(status)
        time.sleep(0.2)
    return str(status)


def _seconds(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(microsecond=0) + timedelta(seconds=1)
    return [first + timedelta(seconds=n) for n in range(int((end - first).total_seconds()) + 1)]
