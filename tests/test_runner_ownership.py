"""A runner that lost its run (reaped, maybe resumed elsewhere) or was interrupted (Ctrl-C)
stops cleanly: no step runs twice, nothing is left RUNNING, history stays consistent.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.storage.types import utc_now
from tests.plugins.workflow_fixtures import host, storage_plugins, storage_url

__all__ = ["host", "storage_url"]


def another_runner(host, workflow) -> WorkflowRunner:
    """A runner on its own host (own connections) sharing ``host``'s database, as another
    process would, with ``workflow`` registered so it can resume runs of it by name."""
    from spine_host import hookimpl
    from spine_host.host import Host

    class Provides:
        @hookimpl
        def spine_register_workflows(self, register):
            register(workflow)

    url = host.storage.engine.url.render_as_string(hide_password=False)
    other = Host(
        plugins=[*storage_plugins(url), Provides()],
        load_entrypoints=False,
        storage_url=url,
        environ={},
    )
    return WorkflowRunner(other)


def reap_everything(host) -> None:
    """What the reaper does once a run's heartbeat is stale, as if a long time had passed.

    It runs on a thread of its own, as a reaper in another process would: a step's own thread
    is fenced, and its commits stop counting once its run is taken."""
    history = WorkflowHistoryRepository(host.storage)
    reaper = threading.Thread(
        target=history.crash_stale_runs,
        args=(utc_now() + timedelta(hours=1), {"message": "reaped by the test"}),
    )
    reaper.start()
    reaper.join()


def frozen_and_reaped(host) -> None:
    """The runner's process freezes (GC pause, SIGSTOP, a suspended VM) long enough for the
    reaper to take its run. A reaper needs two heartbeat intervals of silence, so time passes
    for the runner too: scaled down here to 0.15 s, more than its 50 ms write interval.

    The step first works for 0.1 s, so its RUNNING row is recorded (and then CRASHED)."""
    time.sleep(0.1)
    reap_everything(host)
    time.sleep(0.15)


class Steps:
    """Steps that record each call; ``first`` runs ``on_first`` on its first call only."""

    def __init__(self, on_first=None) -> None:
        self.calls: Counter[str] = Counter()
        self.on_first = on_first
        self.cancelled_seen = threading.Event()

    def step(self, name):
        def run(context, inputs, params):
            self.calls[name] += 1
            if name == "a" and self.calls[name] == 1 and self.on_first is not None:
                self.on_first(context)
            return {name: True}

        return run

    def workflow(self, name="chain"):
        return Workflow(
            name,
            [
                Step("a", self.step("a")),
                Step("b", self.step("b"), ["a"]),
                Step("c", self.step("c"), ["b"]),
            ],
        )


def test_a_reaped_runner_starts_no_further_step_and_writes_nothing(host) -> None:
    # The heartbeat (5 s) cannot notice in time: the refused write of a's end must stop it.
    steps = Steps(on_first=lambda context: frozen_and_reaped(host))
    runner = WorkflowRunner(host, heartbeat_interval=5, stale_after=10)
    run = runner.run(steps.workflow())
    assert steps.calls == {"a": 1}  # b and c never started
    stored = runner.history.require_run(run.run_id)
    assert run.status is stored.status is RunStatus.CRASHED
    assert [(a.step_name, a.attempt, a.status) for a in stored.steps] == [
        ("a", 1, StepStatus.CRASHED)  # the reaper's record, not overwritten with COMPLETED
    ]


def test_a_reaped_runner_cancels_its_live_step_as_soon_as_its_heartbeat_notices(host) -> None:
    steps = Steps()

    def long_step(context, inputs, params):
        time.sleep(0.1)  # recorded as RUNNING
        reap_everything(host)
        if context.cancelled.wait(timeout=5):
            steps.cancelled_seen.set()
        return "too late"

    workflow = Workflow(
        "long", [Step("long", long_step), Step("after", steps.step("after"), ["long"])]
    )
    started = time.monotonic()
    run = WorkflowRunner(host, heartbeat_interval=0.1, stale_after=0.5).run(workflow)
    assert time.monotonic() - started < 3  # it did not wait for the step
    assert steps.cancelled_seen.wait(timeout=1)
    assert steps.calls["after"] == 0
    assert run.status is RunStatus.CRASHED
    stored = WorkflowHistoryRepository(host.storage).require_run(run.run_id)
    assert [(a.step_name, a.status) for a in stored.steps] == [("long", StepStatus.CRASHED)]


def test_a_reaped_run_resumed_by_another_runner_is_finished_by_that_runner_alone(host) -> None:
    """The reviewer's scenario: runner A is reaped mid-step, runner B resumes the run while A's
    step still runs. Before the fix A went on to start b and c, and B died on a duplicate key."""
    resumed = []

    def reap_and_resume(context):
        time.sleep(0.1)  # recorded as RUNNING
        reap_everything(host)
        # Runner B works on a thread of its own, as another process would.
        other = threading.Thread(
            target=lambda: resumed.append(another_runner(host, workflow).resume(context.run_id))
        )
        other.start()
        other.join()
        time.sleep(0.15)  # A was frozen all along (see frozen_and_reaped)

    steps = Steps(on_first=reap_and_resume)
    workflow = steps.workflow("handover")
    runner_a = WorkflowRunner(host, heartbeat_interval=5, stale_after=10)
    returned = runner_a.run(workflow)  # no IntegrityError, no SpineError

    assert resumed[0].status is RunStatus.COMPLETED
    assert steps.calls == {"a": 2, "b": 1, "c": 1}  # a was CRASHED so B re-ran it; b, c once
    stored = runner_a.history.require_run(returned.run_id)
    assert stored.status is returned.status is RunStatus.COMPLETED  # B's record stands
    assert sorted((a.step_name, a.attempt, a.status) for a in stored.steps) == [
        ("a", 1, StepStatus.CRASHED),
        ("a", 2, StepStatus.COMPLETED),
        ("b", 1, StepStatus.COMPLETED),
        ("c", 1, StepStatus.COMPLETED),
    ]
    assert stored.owner == resumed[0].owner  # B's, not A's


def test_reap_refuses_a_limit_shorter_than_two_heartbeats_saying_why(host) -> None:
    runner = WorkflowRunner(host, reap_on_start=False)  # heartbeats every 10 s
    with pytest.raises(SpineError, match=r"shorter than two heartbeat intervals") as refused:
        runner.reap(0)
    assert refused.value.category is ErrorCategory.VALIDATION
    assert "CRASHED while their steps still run" in refused.value.message
    assert runner.reap(20) == []
    with pytest.raises(SpineError, match="two heartbeat intervals"):
        WorkflowRunner(host, heartbeat_interval=1, stale_after=1.5)


def test_ctrl_c_leaves_the_run_failed_and_its_running_step_crashed(host, request) -> None:  # type: ignore[no-untyped-def]
    # A process started in the background by a non-interactive shell inherits SIGINT ignored,
    # and then interrupt_main() does nothing: give Ctrl-C its usual meaning for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    cancelled = threading.Event()

    def interrupted(context, inputs, params):
        _thread.interrupt_main()  # what Ctrl-C does to the runner's (main) thread
        if context.cancelled.wait(timeout=5):
            cancelled.set()
        return "too late"

    workflow = Workflow(
        "ctrl_c", [Step("quick", lambda c, i, p: 1), Step("slow", interrupted, ["quick"])]
    )
    runner = WorkflowRunner(host, heartbeat_interval=0.1, stale_after=0.5)
    with pytest.raises(KeyboardInterrupt):
        runner.run(workflow)
    assert cancelled.wait(timeout=1)  # the step was told to stop
    (listed,) = runner.history.list_runs(workflow="ctrl_c")
    stored = runner.history.require_run(listed.run_id)
    assert stored.status is RunStatus.FAILED
    assert stored.finished_at is not None
    assert stored.error is not None
    assert "KeyboardInterrupt" in stored.error["message"]
    attempts = {a.step_name: a for a in stored.steps}
    assert attempts["quick"].status is StepStatus.COMPLETED
    assert attempts["slow"].status is StepStatus.CRASHED
    assert attempts["slow"].finished_at is not None
    assert attempts["slow"].error is not None
    assert "KeyboardInterrupt" in attempts["slow"].error["message"]
    # Nothing was left for the reaper: the run can be resumed at once.
    assert runner.history.list_runs(status="RUNNING") == []
