"""resume (same run, completed steps kept), retry (a new linked run) and the reaper."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from spine_host.errors import SpineError
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from tests.plugins.workflow_fixtures import host, make_host, storage_url
from tests.plugins.workflow_observer import RunObserver

__all__ = ["host", "storage_url"]


class Switch:
    """Steps that fail until switched on, counting how often each ran."""

    def __init__(self) -> None:
        self.fixed = False
        self.ran = Counter()

    def step(self, name, fails=False):
        def run(context, inputs, params):
            self.ran[name] += 1
            if fails and not self.fixed:
                raise RuntimeError(f"{name} is broken")
            return {name: sorted(inputs)}

        return run


def pipeline_of(switch):
    return Workflow(
        "recoverable",
        [
            Step("a", switch.step("a")),
            Step("b", switch.step("b", fails=True), ["a"]),
            Step("c", switch.step("c"), ["b"]),
            Step("side", switch.step("side")),
        ],
    )


def test_resume_reruns_only_failed_and_unstarted_steps_in_the_same_run(host) -> None:
    switch = Switch()
    workflow = pipeline_of(switch)
    runner = WorkflowRunner(host)
    failed = runner.run(workflow)
    assert failed.status is RunStatus.FAILED
    switch.fixed = True
    with pytest.raises(SpineError, match="recoverable"):
        runner.resume(failed.run_id)  # this host has no workflow by that name registered
    assert runner.history.require_run(failed.run_id).status is RunStatus.FAILED  # untouched
    # resume looks the workflow up by name: register it the way a plugin would
    resumed = _runner_with(host, workflow).resume(failed.run_id)
    assert resumed.run_id == failed.run_id
    assert resumed.status is RunStatus.COMPLETED
    assert switch.ran == {"a": 1, "b": 2, "c": 1, "side": 1}
    attempts = [(a.step_name, a.attempt, a.status) for a in resumed.steps]
    assert ("b", 1, StepStatus.FAILED) in attempts
    assert ("b", 2, StepStatus.COMPLETED) in attempts
    assert resumed.outputs == {"c": {"c": ["b"]}, "side": {"side": []}}
    with pytest.raises(SpineError, match=r"is COMPLETED; only .* can be resumed"):
        _runner_with(host, workflow).resume(failed.run_id)


def test_resume_from_a_step_reruns_it_and_everything_downstream(host) -> None:
    switch = Switch()
    switch.fixed = True
    workflow = pipeline_of(switch)
    runner = _runner_with(host, workflow)
    run = runner.run("recoverable")
    # A COMPLETED run cannot be resumed; a PARTIAL/FAILED one can, from any step.
    _set_status(host, run.run_id, "FAILED")
    resumed = runner.resume(run.run_id, from_step="b")
    assert resumed.status is RunStatus.COMPLETED
    assert switch.ran == {"a": 1, "b": 2, "c": 2, "side": 1}
    _set_status(host, run.run_id, "FAILED")
    with pytest.raises(SpineError, match="has no step 'nope'"):
        runner.resume(run.run_id, from_step="nope")


def test_retry_starts_a_new_run_linked_to_the_old_one(host) -> None:
    switch = Switch()
    workflow = pipeline_of(switch)
    runner = _runner_with(host, workflow)
    failed = runner.run("recoverable", {"week": "2025-12-26"})
    switch.fixed = True
    retried = runner.retry(failed.run_id)
    assert retried.run_id != failed.run_id
    assert retried.parent_run_id == failed.run_id
    assert retried.params == {"week": "2025-12-26"}
    assert retried.triggered_by == "retry"
    assert retried.status is RunStatus.COMPLETED
    assert switch.ran["a"] == 2  # a new run runs everything
    assert runner.history.require_run(failed.run_id).status is RunStatus.FAILED


def test_reaper_crashes_silent_runs_fires_the_hook_and_spares_live_ones(storage_url) -> None:
    observer = RunObserver()
    host = make_host(storage_url, observer)
    try:
        runner = WorkflowRunner(host, heartbeat_interval=0.1, stale_after=0.5)
        silent = _insert_running(host, "silent", heartbeat_age=timedelta(seconds=5))
        fresh = _insert_running(host, "fresh", heartbeat_age=timedelta(seconds=0))
        # A runner reaps on start: the silent run is CRASHED before this run begins.
        run = runner.run(Workflow("quick", [Step("x", lambda c, i, p: 1)]))
        assert run.status is RunStatus.COMPLETED
        crashed = runner.history.require_run(silent)
        assert crashed.status is RunStatus.CRASHED
        assert crashed.error_category == "INTERNAL"
        assert crashed.latest_attempts()["s"].status is StepStatus.CRASHED
        assert (silent, RunStatus.CRASHED) in observer.of("finished")
        assert runner.history.require_run(fresh).status is RunStatus.RUNNING
        assert runner.reap(stale_after=60) == []  # nothing else is stale
    finally:
        host.close()


def test_heartbeat_keeps_a_long_run_alive_past_the_stale_limit(storage_url) -> None:
    host = make_host(storage_url)
    other = make_host_sharing(storage_url)
    try:
        runner = WorkflowRunner(host, heartbeat_interval=0.1, stale_after=0.5)
        reaped = []

        def long_step(context, inputs, params):
            for _ in range(8):  # 1.2 s, well past stale_after: only heartbeats save it
                time.sleep(0.15)
                reaper = WorkflowRunner(other, heartbeat_interval=0.1, reap_on_start=False)
                reaped.extend(reaper.reap(stale_after=0.5))
            return "done"

        run = runner.run(Workflow("long", [Step("long", long_step)]))
        assert reaped == []
        assert run.status is RunStatus.COMPLETED
    finally:
        other.close()
        host.close()


def test_a_reaped_run_is_never_overwritten_by_its_late_runner(host) -> None:
    runner = WorkflowRunner(host, heartbeat_interval=5, stale_after=10)

    def reaped_meanwhile(context, inputs, params):
        def reaper() -> None:  # another process, in effect: the step's own thread is fenced
            _age_heartbeat(host, context.run_id, timedelta(seconds=60))
            # What the reaper does to a stale run; this bypasses the liveness rule that spares
            # a live process on SQLite (tested below).
            runner.history.crash_stale_runs(utc_now() - timedelta(seconds=10), {"message": "x"})

        thread = threading.Thread(target=reaper)
        thread.start()
        thread.join()
        return "finished anyway"

    run = runner.run(Workflow("late", [Step("x", reaped_meanwhile)]))
    assert run.status is RunStatus.CRASHED
    assert runner.history.require_run(run.run_id).status is RunStatus.CRASHED


def test_a_stale_heartbeat_of_a_live_process_is_reaped_on_postgresql_but_not_on_sqlite(
    host,
) -> None:
    """On PostgreSQL a live runner whose heartbeat is stale is frozen: it is reaped. On SQLite
    its heartbeat may be stuck behind a step holding the write lock, so its live process
    keeps it."""
    runner = WorkflowRunner(host, heartbeat_interval=5, stale_after=10)
    reaped: list[object] = []

    def stale_meanwhile(context, inputs, params):
        def reaper() -> None:
            _age_heartbeat(host, context.run_id, timedelta(seconds=60))
            other = WorkflowRunner(host, heartbeat_interval=5, reap_on_start=False)
            reaped.extend(other.reap(stale_after=10))

        thread = threading.Thread(target=reaper)
        thread.start()
        thread.join()
        return "finished"

    run = runner.run(Workflow("stale", [Step("x", stale_meanwhile)]))
    stored = runner.history.require_run(run.run_id)
    if host.storage.dialect == "sqlite":
        assert reaped == []
        assert run.status is stored.status is RunStatus.COMPLETED
    else:
        assert [r.run_id for r in reaped] == [run.run_id]
        assert run.status is stored.status is RunStatus.CRASHED


def test_a_run_whose_process_is_gone_is_reaped_at_once_whatever_its_heartbeat(host) -> None:
    """kill -9 on this host: the reaper sees the process is gone and need not wait."""
    import subprocess
    import sys

    from spine_host.orchestration.liveness import Liveness, new_owner, owner_liveness

    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import spine_host.orchestration.liveness as l; print(l.new_owner())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_owner = child.stdout.strip()
    assert owner_liveness(dead_owner) is Liveness.DEAD
    assert owner_liveness(new_owner()) is Liveness.UNKNOWN  # this process: the heartbeat decides
    run_id = _insert_running(host, "gone", heartbeat_age=timedelta(seconds=0), owner=dead_owner)
    reaped = WorkflowRunner(host, heartbeat_interval=5, reap_on_start=False).reap(stale_after=60)
    assert [run.run_id for run in reaped] == [run_id]
    assert WorkflowRunner(host).history.require_run(run_id).status is RunStatus.CRASHED


def _runner_with(host, workflow):
    from spine_host import hookimpl

    class Provides:
        @hookimpl
        def spine_register_workflows(self, register):
            register(workflow)

    url = str(host.storage.engine.url.render_as_string(hide_password=False))
    fresh = make_host_sharing(url, Provides())
    return WorkflowRunner(fresh)


def make_host_sharing(url, *plugins):
    from spine_host.host import Host
    from tests.plugins.workflow_fixtures import storage_plugins

    return Host(
        plugins=[*storage_plugins(url), *plugins],
        load_entrypoints=False,
        storage_url=url,
        environ={},
    )


def _set_status(host, run_id, status):
    host.storage.execute(
        sa.update(schema.workflow_runs)
        .where(schema.workflow_runs.c.run_id == run_id)
        .values(status=status)
    )


def _age_heartbeat(host, run_id, age):
    host.storage.execute(
        sa.update(schema.workflow_runs)
        .where(schema.workflow_runs.c.run_id == run_id)
        .values(heartbeat_at=utc_now() - age)
    )


def _insert_running(host, name, heartbeat_age, owner="gone:1:x"):
    now = utc_now()
    run_id = f"{name}-{now.timestamp()}"
    host.storage.execute(
        sa.insert(schema.workflow_runs).values(
            run_id=run_id,
            workflow=name,
            status="RUNNING",
            owner=owner,
            heartbeat_at=now - heartbeat_age,
            started_at=now - heartbeat_age,
        )
    )
    host.storage.execute(
        sa.insert(schema.workflow_steps).values(
            run_id=run_id, step_name="s", attempt=1, status="RUNNING", started_at=now
        )
    )
    return run_id
