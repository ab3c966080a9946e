"""The executor on its own: a broker that is down, health checks, answers that do not count."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from spine_celery import _broker_thread
from spine_celery.config import CeleryConfig
from spine_celery.executor import CeleryExecutor

from spine_host.errors import SpineError
from spine_host.orchestration.records import RunStatus, StepStatus, WorkflowRun
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.step_ref import StepRef, StepWork

if TYPE_CHECKING:
    from conftest import Cluster


def _work(**fields: Any) -> StepWork:
    ref = StepRef(
        workflow="celery_checks.killable",
        step="slow_commit",
        run_id="r1",
        attempt=1,
        execution_id="t1",
        owner="runner-1",
        token="t1",
        **fields,
    )
    return StepWork(ref, run_here=lambda: pytest.fail("a remote executor never runs work here"))


@pytest.mark.parametrize(
    ("broker", "shown"),
    [
        ("redis://:s3cret@127.0.0.1:6390/0", "redis://:***@127.0.0.1:6390/0"),
        ("amqp://guest:s3cret@127.0.0.1:5673//", "amqp://guest:***@127.0.0.1:5673//"),
    ],
)
def test_a_broker_that_is_down_fails_the_submit_at_once_naming_it(broker: str, shown: str) -> None:
    executor = CeleryExecutor(CeleryConfig(broker_url=broker, connect_timeout=1.0))
    started = time.monotonic()
    try:
        with pytest.raises(SpineError) as raised:
            executor.submit(_work())
    finally:
        executor.shutdown()

    assert time.monotonic() - started < 3.0
    error = raised.value
    assert error.category.value == "DEPENDENCY"
    assert error.retryable
    assert f"through the Celery broker {shown}" in error.message
    assert "s3cret" not in error.message
    assert "step 'slow_commit' attempt 1 of run r1" in error.message


def test_a_shut_down_executor_takes_no_more_work() -> None:
    executor = CeleryExecutor()
    executor.shutdown()

    with pytest.raises(SpineError, match="was shut down"):
        executor.submit(_work())


def test_health_says_what_it_reached(redis_url: str) -> None:
    health = CeleryExecutor(CeleryConfig(broker_url=redis_url, queue="heavy")).health()

    assert health == (
        f"broker {redis_url} reachable, result backend {redis_url}, default queue 'heavy'"
    )


def test_health_names_a_result_backend_that_does_not_answer(redis_url: str) -> None:
    config = CeleryConfig(
        broker_url=redis_url, result_backend="redis://:s3cret@127.0.0.1:6390/1", connect_timeout=1
    )

    with pytest.raises(SpineError) as raised:
        CeleryExecutor(config).health()

    assert "result backend redis://:***@127.0.0.1:6390/1 did not answer" in raised.value.message
    assert "s3cret" not in raised.value.message


@pytest.mark.slow
def test_a_duplicate_delivery_is_not_the_attempt_s_outcome(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One worker runs the attempt; the other gets a second message for it (as a redelivery
    # would bring), is refused the claim and answers "not run". That answer must not end the
    # attempt: the executor waits, and takes the end the first worker records.
    monkeypatch.setattr(_broker_thread, "_RECHECK_EVERY", 0.2)
    monkeypatch.setattr(_broker_thread, "_ANSWER_GRACE", _broker_thread.dt.timedelta(0))
    workers = cluster.start_workers(("--pool", "solo"), ("--pool", "solo"))
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    host = cluster.host()
    finished: list[WorkflowRun] = []
    running = threading.Thread(
        target=lambda: finished.append(
            WorkflowRunner(host).run(
                "celery_checks.killable", {"pid_dir": str(pid_dir), "sleep": 2}
            )
        )
    )
    running.start()
    configured = host.executor("celery")
    configured.shutdown()
    assert isinstance(configured, CeleryExecutor)
    duplicate = CeleryExecutor(configured.config, host=host)
    try:
        runs_it = int(_wait_for(lambda: _read(pid_dir / "1.pid")))
        ref = _running_ref(cluster, {"pid_dir": str(pid_dir), "sleep": 2})
        future = duplicate.submit(StepWork(ref, run_here=lambda: pytest.fail("remote only")))
        other = next(worker for worker in workers if worker.pid != runs_it)
        _wait_for(lambda: "'status': 'CRASHED'" in other.output())
        time.sleep(0.5)  # the "not run" answer arrived and was read
        assert not future.done()

        outcome = future.result(timeout=30)
    finally:
        running.join(timeout=60)
        duplicate.shutdown()
        host.close()

    assert finished[0].status is RunStatus.COMPLETED
    assert outcome.status is StepStatus.COMPLETED
    assert outcome.outputs == {"pid": runs_it}
    assert len(cluster.query("SELECT * FROM celery_marks")) == 1


def _running_ref(cluster: Cluster, params: dict[str, Any]) -> StepRef:
    row = cluster.query(
        "SELECT s.run_id, s.execution_id, r.owner FROM workflow_steps s "
        "JOIN workflow_runs r ON r.run_id = s.run_id WHERE s.status = 'RUNNING'"
    )[0]
    return StepRef(
        workflow="celery_checks.killable",
        step="slow_commit",
        run_id=row["run_id"],
        attempt=1,
        execution_id=row["execution_id"],
        owner=row["owner"],
        token=row["execution_id"],
        params=params,
    )


def _read(path: Path) -> str | None:
    return path.read_text() or None if path.exists() else None


def _wait_for(probe: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"nothing after {timeout:g}s")
