"""Run records under the races a review of issue 9 found: each test is one reproduction.

SQLite tests use a short busy timeout and a second raw ``sqlite3`` connection standing in for
another process that holds the write lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from spine_host.config import SpineConfig, StorageConfig
from spine_host.host import Host
from spine_host.orchestration.liveness import Liveness, owner_liveness
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines.dispatcher import Dispatcher
from spine_host.pipelines.execution import ExecutionStatus
from spine_host.pipelines.ownership import ExecutionOwnership, update_if_owned
from spine_host.storage import schema
from spine_host.storage.fencing import Fence, FencedError, fenced
from spine_host.storage.types import utc_now
from tests.plugins import pipeline_records
from tests.plugins.workflow_fixtures import make_host, storage_plugins, storage_url

__all__ = ["storage_url"]


@pytest.fixture
def sqlite_host(tmp_path: Path) -> Iterator[tuple[Host, Path]]:
    """A SQLite host whose writers give up after 0.3 s of waiting for the lock."""
    path = tmp_path / "spine.db"
    url = f"sqlite:///{path}"
    config = attrs.evolve(SpineConfig(), storage=StorageConfig(url, {"busy_timeout_ms": 300}))
    host = Host(
        config=config,
        plugins=[*storage_plugins(url), pipeline_records],
        load_entrypoints=False,
        environ={},
    )
    schema.metadata.create_all(host.storage.engine)  # type: ignore[attr-defined]
    pipeline_records.records_table.create(host.storage.engine)  # type: ignore[attr-defined]
    try:
        yield host, path
    finally:
        host.close()


def hold_write_lock(path: Path, seconds: float) -> threading.Event:
    """Another process, in effect, takes SQLite's write lock for ``seconds``; set once held."""
    held = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=5)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    threading.Thread(target=hold, daemon=True).start()
    held.wait()
    return held


def test_a_start_that_met_the_write_lock_still_runs_before_the_run_completes(
    sqlite_host: tuple[Host, Path],
) -> None:
    host, path = sqlite_host
    ran: list[str] = []

    def first(context, inputs, params):  # type: ignore[no-untyped-def]
        hold_write_lock(path, 1.0)  # longer than the busy timeout: b's start must wait
        ran.append("a")
        return {"a": 1}

    def second(context, inputs, params):  # type: ignore[no-untyped-def]
        ran.append("b")
        return {"b": 1}

    workflow = Workflow("review.chain", [Step("a", first), Step("b", second, ["a"])])
    run = WorkflowRunner(host, reap_on_start=False).run(workflow)
    assert ran == ["a", "b"]
    assert run.status is RunStatus.COMPLETED
    stored = WorkflowRunner(host, reap_on_start=False).history.require_run(run.run_id)
    assert [(a.step_name, a.status) for a in stored.steps] == [
        ("a", StepStatus.COMPLETED),
        ("b", StepStatus.COMPLETED),
    ]


def test_the_run_end_waits_for_the_write_lock_instead_of_failing(
    sqlite_host: tuple[Host, Path],
) -> None:
    host, path = sqlite_host

    def only(context, inputs, params):  # type: ignore[no-untyped-def]
        return {"ok": True}

    runner = WorkflowRunner(host, reap_on_start=False)
    original = runner.history.finish_run
    tries: list[float] = []

    def finish_after_someone_took_the_lock(run, *, owner):  # type: ignore[no-untyped-def]
        if not tries:  # the first try meets a lock held longer than the busy timeout
            hold_write_lock(path, 1.0)
        tries.append(time.monotonic())
        return original(run, owner=owner)

    runner.history.finish_run = finish_after_someone_took_the_lock  # type: ignore[method-assign]
    run = runner.run(Workflow("review.end", [Step("only", only)]))
    assert len(tries) > 1  # refused for the lock, then tried again
    assert run.status is RunStatus.COMPLETED
    assert runner.history.require_run(run.run_id).status is RunStatus.COMPLETED


def test_a_partition_wait_outlasts_a_write_lock_held_by_the_running_load(
    sqlite_host: tuple[Host, Path],
) -> None:
    host, _ = sqlite_host
    results: list[ExecutionStatus] = []
    first = threading.Thread(
        target=lambda: results.append(
            Dispatcher(host).run("records.load", {"week": "w1", "hold": "1.5"}).status
        )
    )
    first.start()
    time.sleep(0.3)  # the first load holds the write lock (its transaction) for 1.5 s
    second = Dispatcher(host).run("records.load", {"week": "w1"}, partition_wait=10)
    first.join()
    assert results == [ExecutionStatus.COMPLETED]
    assert second.status is ExecutionStatus.SKIPPED  # waited, then found the stage reached


def test_a_reaped_execution_cannot_write_its_own_end_over_crashed(storage_url: str) -> None:
    host = make_host(storage_url, pipeline_records)
    try:
        ownership = ExecutionOwnership(host.storage, stale_after=60)
        row = {
            "execution_id": f"review-{time.time_ns()}",
            "pipeline": "records.load",
            "status": ExecutionStatus.RUNNING.value,
            "owner": "elsewhere:1:x",
            "attempts": 0,
        }
        ownership.claim(row, at=utc_now())
        execution = ownership.repository.get(row["execution_id"])
        assert execution is not None
        assert ownership.crash(execution, {"message": "reaped", "category": "INTERNAL"})
        # The woken owner tries to finish it, inside a fenced transaction as the dispatcher does.
        fence = Fence("the woken owner", [ownership.fence_check(row["execution_id"], row["owner"])])
        with pytest.raises(FencedError), fenced(fence), host.storage.transaction():
            update_if_owned(
                host.storage,
                row["execution_id"],
                row["owner"],
                status=ExecutionStatus.COMPLETED.value,
            )
        stored = ownership.repository.get(row["execution_id"])
        assert stored is not None
        assert stored.status is ExecutionStatus.CRASHED
    finally:
        host.close()


def test_a_statement_that_writes_through_query_is_fenced_too(storage_url: str) -> None:
    host = make_host(storage_url)
    try:
        host.storage.execute("CREATE TABLE review_query (v INTEGER)")
        fence = Fence("a let-go attempt")
        fence.revoke("timed out")
        with fenced(fence), pytest.raises(FencedError):
            host.storage.query("INSERT INTO review_query (v) VALUES (1) RETURNING v")
        count = sa.text("SELECT count(*) AS n FROM review_query")
        assert host.storage.query(count) == [{"n": 0}]
        with fenced(fence):  # reads still work under a revoked fence: nothing to refuse
            assert host.storage.query(count) == [{"n": 0}]
    finally:
        host.storage.execute("DROP TABLE review_query")
        host.close()


def test_a_process_of_another_user_is_alive_not_dead() -> None:
    """PID 1 belongs to root; its /proc/1/ns may be unreadable, but it is certainly alive."""
    import os
    import socket

    from spine_host.orchestration.liveness import _identity

    namespace = _identity(os.getpid()).partition("-")[0]
    owner = f"{socket.gethostname()}:1:x:{namespace}-0"
    # Start time 0 is not PID 1's: a pid reused by a later process is DEAD, never ALIVE.
    assert owner_liveness(owner) is Liveness.DEAD
    stat = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()
    live_owner = f"{socket.gethostname()}:1:x:{namespace}-{stat[19]}"
    assert owner_liveness(live_owner) is Liveness.ALIVE
