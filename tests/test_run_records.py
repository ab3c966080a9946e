"""Issue 9: run records stay true under kill -9, concurrent runs, timeouts and long transactions.

Every test runs on SQLite and PostgreSQL unless it says otherwise. Killed runs are real
processes (the CLI, with the test plugin found through a real entry point), killed with
SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from spine_host import ErrorCategory, SpineError
from spine_host.host import Host
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines.dispatcher import Dispatcher
from spine_host.pipelines.execution import ExecutionStatus
from spine_host.pipelines.manifest import WorkManifest
from spine_host.pipelines.repository import ExecutionRepository
from spine_host.plugins import BUILTIN_PLUGINS
from tests.plugins import pipeline_records
from tests.plugins.workflow_fixtures import make_host, storage_url

__all__ = ["storage_url"]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def host(storage_url: str) -> Iterator[Host]:
    """A host with the records plugin, spine's tables and the ``records_loaded`` table."""
    made = make_host(storage_url, pipeline_records)
    pipeline_records.records_table.create(made.storage.engine, checkfirst=True)  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        made.close()


def week() -> str:
    """A partition no other test uses (PostgreSQL's database is shared by the session)."""
    return f"w-{uuid.uuid4().hex[:12]}"


def loaded(host: Host, partition: str) -> int:
    table = pipeline_records.records_table
    statement = sa.select(sa.func.count()).select_from(table).where(table.c.week == partition)
    return int(host.storage.query(statement)[0]["count_1"])


def stage_reached(host: Host, partition: str) -> bool:
    manifest = WorkManifest(host.storage, "records", stages=("LOADED",))
    return manifest.is_at_least(partition, "LOADED")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


# -- a CLI in another process ----------------------------------------------------------------


class Cli:
    """``python -m tests.plugins.workflow_cli`` with the records plugin as an entry point."""

    def __init__(self, storage_url: str, tmp_path: Path) -> None:
        site = tmp_path / "site"
        dist_info = site / "spine_records_test-1.0.dist-info"
        dist_info.mkdir(parents=True)
        (dist_info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: spine-records-test\nVersion: 1.0\n"
        )
        entry_points = ["records = tests.plugins.pipeline_records"]
        listed = {module for _, module in BUILTIN_PLUGINS}
        for name, module in [
            ("test_sqlite", "spine_host.builtins.sqlite"),
            ("test_executors", "spine_host.builtins.executors"),
        ]:
            if module not in listed:
                entry_points.append(f"{name} = {module}")
        (dist_info / "entry_points.txt").write_text("[spine]\n" + "\n".join(entry_points) + "\n")
        self.config = tmp_path / "spine.toml"
        self.config.write_text(f'[storage]\nurl = "{storage_url}"\n')
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
        self.env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])

    def argv(self, *args: str) -> list[str]:
        module = "tests.plugins.workflow_cli"
        return [sys.executable, "-m", module, "--config", str(self.config), *args]

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), env=self.env, cwd=REPO, capture_output=True, text=True, timeout=120
        )


def closed_gate(tmp_path: Path) -> Path:
    """A folder whose ``sleep`` file holds a gated ``records.load`` until it is removed."""
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "sleep").touch()
    return gate


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


# -- 1. write-ahead: kill -9 at random points --------------------------------------------------


@pytest.mark.slow
def test_kill_9_at_random_points_never_reruns_a_completed_step(
    host: Host, storage_url: str, tmp_path: Path
) -> None:
    cli = Cli(storage_url, tmp_path)
    history = WorkflowHistoryRepository(host.storage)
    runner = WorkflowRunner(host, reap_on_start=False)
    rng = random.Random(20261203)
    seen: Counter[str] = Counter()
    for attempt in range(20):
        work = tmp_path / f"run{attempt}"
        work.mkdir()
        (work / "sleep").touch()
        process = cli.start("workflows", "run", "records.write_ahead", "-p", f"dir={work}")
        try:
            if attempt % 2 == 0:  # the reported case: as soon as the dependent step started
                marker = work / "slow-started"
                wait_for(marker.exists, "slow to start")
            else:  # anywhere from start-up to well after slow started
                time.sleep(rng.uniform(0.0, 2.5))
        finally:
            kill(process)
        slow_had_started = (work / "slow-started").exists()  # before the resume runs it again
        (work / "sleep").unlink()
        effects = Counter((work / "effects.log").read_text().split()) if (
            work / "effects.log"
        ).exists() else Counter()  # fmt: skip
        runs = [
            run
            for run in history.list_runs(workflow="records.write_ahead", limit=None)
            if run.params.get("dir") == str(work)
        ]
        if not runs:  # killed before the run existed: nothing ran
            assert effects == Counter(), effects
            seen["before the run"] += 1
            continue
        (run,) = runs
        assert run.status is RunStatus.RUNNING  # killed: nobody has noticed yet
        # Its process is gone: the reaper need not wait for the heartbeat to go stale.
        assert [crashed.run_id for crashed in runner.reap()] == [run.run_id]
        resumed = runner.resume(run.run_id)
        assert resumed.status is RunStatus.COMPLETED, resumed.error

        final = history.require_run(run.run_id)
        final_effects = Counter((work / "effects.log").read_text().split())
        for step in ("first", "slow"):
            attempts = [a for a in final.steps if a.step_name == step]
            # every attempt exactly once, numbered without gaps
            assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1)), attempts
            statuses = [a.status for a in attempts]
            # one COMPLETED attempt, the last one: a step is never run again once completed
            assert statuses[-1] is StepStatus.COMPLETED, (step, statuses)
            assert all(s is StepStatus.CRASHED for s in statuses[:-1]), (step, statuses)
            # every run of the step's body is an attempt in the history
            assert 1 <= final_effects[step] <= len(attempts), (step, final_effects, statuses)
        if slow_had_started:  # first had finished before the kill: it ran exactly once
            assert [a.status for a in final.steps if a.step_name == "first"] == [
                StepStatus.COMPLETED
            ]
            assert final_effects["first"] == 1
        assert final_effects["slow"] == 1  # slow's body only finishes once sleep is gone
        seen["resumed"] += 1
    assert seen["resumed"] >= 10, seen


# -- 2. executions have owners: a killed one is reaped, its key runs again ----------------------


@pytest.mark.slow
def test_a_killed_pipeline_run_is_reaped_and_its_idempotency_key_runs_again(
    host: Host, storage_url: str, tmp_path: Path
) -> None:
    cli = Cli(storage_url, tmp_path)
    partition, key = week(), f"key-{uuid.uuid4().hex}"
    gate = closed_gate(tmp_path)
    command = ["pipelines", "run", "records.load", "-p", f"week={partition}"]
    killed = cli.start(*command, "-p", f"gate={gate}", "--idempotency-key", key)
    try:
        wait_for(lambda: (gate / "started").exists(), "the load to start")
    finally:
        kill(killed)
    repository = ExecutionRepository(host.storage)
    orphan = repository.by_idempotency_key(key)
    assert orphan is not None
    assert orphan.status is ExecutionStatus.RUNNING
    assert loaded(host, partition) == 0

    # The same command (its load no longer gated): the dead owner's execution is reaped and
    # the work runs, under the same key.
    (gate / "sleep").unlink()
    again = cli.run(*command, "-p", f"gate={gate}", "--idempotency-key", key)
    assert again.returncode == 0, again.stdout + again.stderr
    assert loaded(host, partition) == 3
    assert stage_reached(host, partition)
    redone = repository.by_idempotency_key(key)
    assert redone is not None
    assert redone.status is ExecutionStatus.COMPLETED
    crashed = repository.get(orphan.execution_id)
    assert crashed is not None
    assert crashed.status is ExecutionStatus.CRASHED
    assert crashed.idempotency_key is None  # the key moved to the run that did the work

    # And the key now answers with that run, without loading again.
    third = cli.run(*command, "-p", f"gate={gate}", "--idempotency-key", key, "--json")
    assert third.returncode == 0, third.stderr
    assert redone.execution_id in third.stdout
    assert loaded(host, partition) == 3

    reaped = cli.run("runs", "reap")
    assert reaped.returncode == 0, reaped.stderr
    assert not [
        e
        for e in repository.recent(pipeline="records.load", limit=1000)
        if e.status in (ExecutionStatus.RUNNING, ExecutionStatus.PENDING)
    ]


def test_a_key_running_elsewhere_is_reported_and_exits_non_zero(
    host: Host, storage_url: str, tmp_path: Path
) -> None:
    cli = Cli(storage_url, tmp_path)
    partition, key = week(), f"key-{uuid.uuid4().hex}"
    gate = closed_gate(tmp_path)
    command = ["pipelines", "run", "records.load", "-p", f"week={partition}", "-p", f"gate={gate}"]
    first = cli.start(*command, "--idempotency-key", key)
    try:
        wait_for(lambda: (gate / "started").exists(), "the first load to start")
        second = cli.run(*command, "--idempotency-key", key)
        assert second.returncode == 1, second.stdout + second.stderr
        assert "is being run right now by execution" in second.stderr + second.stdout
        assert "Traceback" not in second.stderr
    finally:
        (gate / "sleep").unlink()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    assert loaded(host, partition) == 3


# -- 3. one partition, one runner ----------------------------------------------------------------


def test_two_concurrent_runs_of_one_partition_never_do_the_work_twice(host: Host) -> None:
    """Ten times: two runs of one pipeline and partition start together on their own hosts
    (own connections); one loads, the other waits for it and then skips (stage reached)."""
    url = host.storage.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    others = [make_host(url, pipeline_records) for _ in range(2)]
    try:
        for _ in range(10):
            partition = week()
            barrier = threading.Barrier(2)
            results: list[ExecutionStatus] = []
            errors: list[BaseException] = []

            def start(
                on: Host,
                partition: str = partition,
                barrier: threading.Barrier = barrier,
                results: list[ExecutionStatus] = results,
                errors: list[BaseException] = errors,
            ) -> None:
                barrier.wait()
                try:
                    params = {"week": partition, "hold": "0.2"}
                    results.append(Dispatcher(on).run("records.load", params).status)
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=start, args=(other,)) for other in others]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            assert sorted(results) == [ExecutionStatus.COMPLETED, ExecutionStatus.SKIPPED]
            assert loaded(host, partition) == 3  # no duplicate rows
    finally:
        for other in others:
            other.close()


def test_a_run_that_cannot_wait_for_its_partition_says_who_holds_it(host: Host) -> None:
    """PostgreSQL: the second run sees the first's claim and reports it after its wait. SQLite:
    the first run's open write transaction holds the one write lock, so the second waits for
    the lock (its busy timeout) instead, then finds the work done."""
    partition = week()
    holding = threading.Event()

    def long_load() -> None:
        params = {"week": partition, "hold": "1.5"}
        holding.set()
        Dispatcher(host).run("records.load", params)

    thread = threading.Thread(target=long_load)
    thread.start()
    holding.wait()
    time.sleep(0.3)  # the first run has claimed the partition and holds it for 1.5 s
    url = host.storage.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    other = make_host(url, pipeline_records)
    try:
        if host.storage.dialect == "sqlite":
            second = Dispatcher(other).run("records.load", {"week": partition}, partition_wait=0.2)
            assert second.status is ExecutionStatus.SKIPPED
        else:
            with pytest.raises(SpineError) as refused:
                Dispatcher(other).run("records.load", {"week": partition}, partition_wait=0.2)
            assert refused.value.category is ErrorCategory.DEPENDENCY
            message = refused.value.message
            assert f"partition {partition!r} of pipeline 'records.load'" in message
            assert "is being run right now by execution" in message
    finally:
        thread.join()
        other.close()
    assert loaded(host, partition) == 3


# -- 5. timeouts hold: a timed-out attempt commits nothing --------------------------------------


def test_a_timed_out_attempt_commits_nothing_and_the_next_run_does_the_work(host: Host) -> None:
    partition = week()
    slow = Workflow(
        "records.timeout", [Step("load", "records.load", params={"hold": 3.0}, timeout=1)]
    )
    runner = WorkflowRunner(host)
    started = time.monotonic()
    run = runner.run(slow, {"week": partition})
    assert run.status is RunStatus.FAILED
    (attempt,) = run.steps
    assert attempt.status is StepStatus.TIMED_OUT
    assert attempt.error_category == "TIMEOUT"
    # The abandoned thread wakes up after 3 s and writes: its commit is refused.
    time.sleep(max(0.0, 3.8 - (time.monotonic() - started)))
    assert loaded(host, partition) == 0
    assert not stage_reached(host, partition)
    stored = runner.history.require_run(run.run_id)
    assert [a.status for a in stored.steps] == [StepStatus.TIMED_OUT]
    execution = ExecutionRepository(host.storage).get(attempt.execution_id or "")
    assert execution is not None
    assert execution.status is ExecutionStatus.TIMED_OUT

    quick = Workflow("records.timeout", [Step("load", "records.load", timeout=10)])
    again = runner.run(quick, {"week": partition})
    assert again.status is RunStatus.COMPLETED
    assert [a.status for a in again.steps] == [StepStatus.COMPLETED]
    assert loaded(host, partition) == 3
    assert stage_reached(host, partition)


def test_a_callable_step_that_times_out_inside_a_transaction_writes_nothing(host: Host) -> None:
    partition = week()

    def sleepy(context, inputs, params):  # type: ignore[no-untyped-def]
        storage = context.host.storage
        with storage.transaction():
            time.sleep(2.0)
            storage.bulk_insert(pipeline_records.TABLE, [{"week": partition, "n": 1}])
        storage.bulk_insert(pipeline_records.TABLE, [{"week": partition, "n": 2}])  # autocommit
        return "wrote"

    run = WorkflowRunner(host).run(Workflow("records.sleepy", [Step("s", sleepy, timeout=0.5)]))
    assert [a.status for a in run.steps] == [StepStatus.TIMED_OUT]
    time.sleep(2.5)
    assert loaded(host, partition) == 0


# -- 4. SQLite: a step holding the write lock for 40 s does not lose its run --------------------


@pytest.mark.slow
def test_sqlite_a_step_holding_the_write_lock_for_40s_completes_and_is_not_reaped(
    tmp_path: Path,
) -> None:
    """SQLite only. The step's write transaction blocks its own runner's heartbeats and
    history writes for 40 s: the run still completes, a reaper in another process with a
    20 s limit spares it (its process is alive), and a workflow started meanwhile waits for
    the lock and completes too."""
    url = f"sqlite:///{tmp_path}/spine.db"
    host = make_host(url, pipeline_records)
    pipeline_records.records_table.create(host.storage.engine, checkfirst=True)  # type: ignore[attr-defined]
    cli = Cli(url, tmp_path)
    runner = WorkflowRunner(host, heartbeat_interval=2, stale_after=6)
    finished: list[object] = []
    work = tmp_path / "work"
    work.mkdir()
    thread = threading.Thread(
        target=lambda: finished.append(
            runner.run("records.long_transaction", {"week": week(), "hold": "40", "dir": str(work)})
        )
    )
    try:
        started = time.monotonic()
        thread.start()
        wait_for(lambda: (work / "holding").exists(), "the step to hold the lock")
        time.sleep(10)
        second = cli.start("workflows", "run", "records.quick")
        time.sleep(max(0.0, 25 - (time.monotonic() - started)))
        reaper = cli.run("runs", "reap", "--stale-after", "20s")  # heartbeat ~25 s old
        assert reaper.returncode == 0, reaper.stderr
        assert "0 run(s) and 0 execution(s) marked CRASHED" in reaper.stdout
        thread.join(timeout=60)
        out, err = second.communicate(timeout=60)
    finally:
        host.close()
    (run,) = finished
    reader = Host(plugins=[], load_entrypoints=False, storage_url=url, environ={})
    try:
        stored = WorkflowHistoryRepository(reader.storage).require_run(run.run_id)  # type: ignore[attr-defined]
    finally:
        reader.close()
    assert stored.status is RunStatus.COMPLETED, stored.error
    assert [(a.step_name, a.status) for a in stored.steps] == [
        ("hold", StepStatus.COMPLETED),
        ("after", StepStatus.COMPLETED),
    ]
    assert time.monotonic() - started >= 40
    assert second.returncode == 0, out + err
    assert "records.quick: COMPLETED" in out
