"""Workflows on real ``spine worker`` processes: spread, killed workers, queues, RabbitMQ.

Each test starts its workers (``spine worker`` subprocesses) on the tests' Redis (or RabbitMQ)
and a SQLite database shared with the runner, which runs in a ``spine`` subprocess or, when
the test needs short heartbeats, in this process.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from spine_host.orchestration.records import RunStatus, WorkflowRun
from spine_host.orchestration.runner import WorkflowRunner

if TYPE_CHECKING:
    from conftest import Cluster

pytestmark = pytest.mark.slow


def _attempts(cluster: Cluster, run_id: str) -> list[dict[str, Any]]:
    rows = cluster.query(
        "SELECT step_name, attempt, status, outputs, worker FROM workflow_steps "
        "WHERE run_id = :run_id ORDER BY step_name, attempt",
        run_id=run_id,
    )
    for row in rows:
        row["outputs"] = json.loads(row["outputs"]) if row["outputs"] else None
    return rows


def _parent(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no parent for {pid}")


def test_twenty_steps_spread_over_two_workers_one_history_row_per_attempt(
    cluster: Cluster,
) -> None:
    # The default pool (prefork): each step runs in a worker's pool process.
    workers = cluster.start_workers(("--concurrency", "1"), ("--concurrency", "1"))

    done = cluster.spine("workflows", "run", "celery_checks.pids", "--json")

    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "COMPLETED"
    rows = _attempts(cluster, run["run_id"])
    assert len(rows) == 20
    assert {(row["attempt"], row["status"]) for row in rows} == {(1, "COMPLETED")}
    pids = {row["outputs"]["pid"] for row in rows}
    assert len(pids) == 2, pids
    # Each ran in a pool process of one of the two workers, which claimed its attempts.
    assert {_parent(pid) for pid in pids} == {worker.pid for worker in workers}
    assert all(f":{row['outputs']['pid']}:" in row["worker"] for row in rows)


def test_a_worker_killed_during_a_step_its_attempt_crashes_and_runs_again_elsewhere(
    cluster: Cluster, tmp_path: Path
) -> None:
    # solo pool: the worker process runs the step itself, so kill -9 of it kills the step.
    workers = cluster.start_workers(("--pool", "solo"), ("--pool", "solo"))

    run, victim, _ = _run_killing_the_first_attempt(cluster, tmp_path)

    assert victim in {worker.pid for worker in workers}
    assert run.status is RunStatus.COMPLETED, run.error
    rows = _attempts(cluster, run.run_id)
    assert [(row["attempt"], row["status"]) for row in rows] == [(1, "CRASHED"), (2, "COMPLETED")]
    survivor = next(worker.pid for worker in workers if worker.pid != victim)
    assert f":{victim}:" in rows[0]["worker"]
    assert rows[1]["outputs"] == {"pid": survivor}
    # The killed attempt committed nothing; the retry's commit stands.
    assert cluster.query("SELECT step, attempt, pid FROM celery_marks") == [
        {"step": "slow_commit", "attempt": 2, "pid": survivor}
    ]


def test_a_pool_process_killed_during_a_step_its_redelivered_message_does_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    # prefork: Celery hands the lost message back (reject_on_worker_lost) and a new pool
    # process receives it at once. It finds the attempt claimed by the dead process and does
    # nothing; that answer does not end the attempt: the heartbeat check does, and the retry
    # runs.
    (worker,) = cluster.start_workers(("--concurrency", "1"))

    run, _, its_worker = _run_killing_the_first_attempt(cluster, tmp_path)

    assert its_worker == worker.pid  # a pool process was killed, not the worker
    assert run.status is RunStatus.COMPLETED, run.error
    rows = _attempts(cluster, run.run_id)
    assert [(row["attempt"], row["status"]) for row in rows] == [(1, "CRASHED"), (2, "COMPLETED")]
    error = cluster.query(
        "SELECT error FROM workflow_steps WHERE run_id = :run_id AND attempt = 1",
        run_id=run.run_id,
    )[0]["error"]
    assert "sent no heartbeat" in json.loads(error)["message"]
    # The redelivery was refused its claim (the attempt was claimed, or ended by then).
    _wait_for(lambda: " not run: " in worker.output(), worker.output)
    assert [row["attempt"] for row in cluster.query("SELECT attempt FROM celery_marks")] == [2]


def _run_killing_the_first_attempt(
    cluster: Cluster, tmp_path: Path
) -> tuple[WorkflowRun, int, int]:
    """Run ``celery_checks.killable`` (short heartbeats) and kill -9 the process running its
    first attempt; the finished run, the killed process and its parent."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    host = cluster.host()
    runner = WorkflowRunner(host, heartbeat_interval=0.5, stale_after=3.0)
    finished: list[WorkflowRun] = []
    running = threading.Thread(
        target=lambda: finished.append(
            runner.run("celery_checks.killable", {"pid_dir": str(pid_dir), "sleep": 60})
        )
    )
    running.start()
    try:
        victim = int(_wait_for_file(pid_dir / "1.pid").read_text())
        parent = _parent(victim)
        os.kill(victim, signal.SIGKILL)
        running.join(timeout=60)
        assert not running.is_alive(), "the run did not finish after its worker was killed"
    finally:
        running.join(timeout=60)
        host.close()
    return finished[0], victim, parent


def test_a_step_on_queue_heavy_runs_only_on_a_worker_serving_heavy(cluster: Cluster) -> None:
    default, heavy = cluster.start_workers(
        ("--pool", "solo"), ("--pool", "solo", "--queues", "heavy")
    )

    for _ in range(2):
        done = cluster.spine("workflows", "run", "celery_checks.queues", "--json")

        assert done.returncode == 0, done.stdout + done.stderr
        outputs = {row["step_name"]: row["outputs"] for row in _attempts(cluster, _id(done))}
        assert outputs["heavy"]["pid"] == heavy.pid
        assert outputs["light"]["pid"] == default.pid
    assert "queues:         heavy" in heavy.output()


def test_rabbitmq_is_a_broker_too_answers_coming_back_over_rpc(
    rabbitmq_url: str, make_cluster: Callable[[Mapping[str, Any]], Cluster]
) -> None:
    queue = f"spine-test-{uuid.uuid4().hex[:8]}"
    cluster = make_cluster({"broker_url": rabbitmq_url, "queue": queue})
    try:
        (worker,) = cluster.start_workers(("--pool", "solo"))
        done = cluster.spine("workflows", "run", "celery_checks.hand_over", "--json")
    finally:
        cluster.stop()
        _delete_queue(rabbitmq_url, queue)

    assert done.returncode == 0, done.stdout + done.stderr
    rows = _attempts(cluster, _id(done))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    first, second = rows[0]["outputs"], rows[1]["outputs"]
    assert first["pid"] == second["pid"] == worker.pid
    assert second["inputs"] == {"first": first}
    assert "result backend: rpc://" in worker.output()
    assert "amqp://guest:***@127.0.0.1:5672//" in worker.output()


def test_a_worker_does_not_start_without_its_broker(
    make_cluster: Callable[[Mapping[str, Any]], Cluster],
) -> None:
    cluster = make_cluster({"broker_url": "redis://:s3cret@127.0.0.1:6390/0"})
    started = time.monotonic()

    done = cluster.spine("worker", "--pool", "solo", timeout=30)

    assert done.returncode == 1
    assert time.monotonic() - started < 15
    assert "the Celery broker redis://:***@127.0.0.1:6390/0 is unreachable" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr


def _id(done: Any) -> str:
    run_id: str = json.loads(done.stdout)["run_id"]
    return run_id


def _wait_for(probe: Callable[[], bool], describe: Callable[[], str], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout:g}s: {describe()}")
        time.sleep(0.05)


def _wait_for_file(path: Path, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path
        time.sleep(0.02)
    raise AssertionError(f"{path} did not appear within {timeout:g}s")


def _delete_queue(url: str, queue: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=2) as connection:
        connection.default_channel.queue_delete(queue)
