"""``spine runs cancel``: a running run starts no further step, its live attempts are let go and
fenced, and it ends CANCELLED with who, when and why recorded; from another process too.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from spine_host import hookimpl
from spine_host.cli.context import CliState
from spine_host.cli.run_control import runs_group
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus, WorkflowRun
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.storage.fencing import FencedError
from spine_host.storage.types import utc_now
from tests.plugin_distributions import SPINE, install_dist_info
from tests.plugins.workflow_fixtures import make_host, storage_url
from tests.plugins.workflow_observer import RunObserver
from tests.test_cli_schedule_actions import runner
from tests.test_crash_resume import make_host_without_reset, wait_for_running_step

__all__ = ["storage_url"]

REPO = Path(__file__).resolve().parents[1]

effects = sa.Table("cancel_effects", sa.MetaData(), sa.Column("step_name", sa.String(50)))


class Blocking:
    """A workflow whose first step waits for ``release`` (it never looks at ``cancelled``),
    then writes a row through spine's storage; the second step needs the first."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.write_error: BaseException | None = None
        self.wrote = threading.Event()
        self.after_ran = threading.Event()
        self.workflow = Workflow(
            "cancel.blocking", [Step("wait", self.wait), Step("after", self.after, ["wait"])]
        )

    def wait(self, context, inputs, params):
        self.started.set()
        self.release.wait(30)
        try:
            context.host.storage.execute(effects.insert().values(step_name="wait"))
        except BaseException as exc:
            self.write_error = exc
            raise
        finally:
            self.wrote.set()
        return 1

    def after(self, context, inputs, params):
        self.after_ran.set()
        return 2

    @hookimpl
    def spine_register_workflows(self, register):
        register(self.workflow)


@pytest.fixture
def observer() -> RunObserver:
    return RunObserver()


@pytest.fixture
def blocking() -> Blocking:
    return Blocking()


@pytest.fixture
def host(storage_url: str, observer: RunObserver, blocking: Blocking) -> Iterator:  # type: ignore[type-arg]
    made = make_host(storage_url, observer, blocking)
    effects.create(made.storage.engine, checkfirst=True)
    made.storage.execute(effects.delete())
    yield made
    made.close()


def invoke(host, *args: str):  # type: ignore[no-untyped-def]
    state = CliState(config_path=None, host=host)
    return CliRunner().invoke(runs_group, list(args), obj=state, catch_exceptions=False)


def start(runner: WorkflowRunner, workflow: Workflow) -> tuple[threading.Thread, dict]:  # type: ignore[type-arg]
    """Run ``workflow`` on a thread, as another terminal would; its result lands in the dict."""
    result: dict[str, WorkflowRun] = {}
    thread = threading.Thread(target=lambda: result.setdefault("run", runner.run(workflow)))
    thread.start()
    return thread, result


def running_run_id(host, workflow: str) -> str:  # type: ignore[no-untyped-def]
    runs = WorkflowHistoryRepository(host.storage).list_runs(workflow=workflow)
    assert len(runs) == 1
    return runs[0].run_id


def test_cancel_stops_a_running_run_and_records_who_and_why(host, observer, blocking) -> None:  # type: ignore[no-untyped-def]
    runner = WorkflowRunner(host, heartbeat_interval=0.2, stale_after=1.0)
    thread, result = start(runner, blocking.workflow)
    try:
        assert blocking.started.wait(10)
        run_id = running_run_id(host, "cancel.blocking")

        cancelled = invoke(host, "cancel", run_id, "--reason", "wrong input file")

        assert cancelled.exit_code == 0, cancelled.output
        assert f"run {run_id} cancelled by " in cancelled.output
        assert ": wrong input file; its runner stopped it" in cancelled.output
        thread.join(10)
        assert not thread.is_alive()
    finally:
        blocking.release.set()
    run = result["run"]
    assert run.status is RunStatus.CANCELLED
    # The step's thread ran on; what it committed after the cancellation was refused.
    assert blocking.wrote.wait(10)
    assert isinstance(blocking.write_error, FencedError)
    assert host.storage.query(sa.select(effects)) == []

    stored = WorkflowHistoryRepository(host.storage).require_run(run_id)
    assert stored.status is RunStatus.CANCELLED
    assert stored.cancel_reason == "wrong input file"
    assert "@" in (stored.cancel_requested_by or "")  # user@host
    assert stored.cancel_requested_at is not None
    assert stored.finished_at is not None
    assert stored.cancel_requested_at <= stored.finished_at
    assert stored.error is None  # a cancellation is not an error: no failure alert goes out
    assert [(a.step_name, a.attempt, a.status) for a in stored.steps] == [
        ("wait", 1, StepStatus.CANCELLED)
    ]  # "after" never started: it has no attempt at all
    assert not blocking.after_ran.is_set()
    assert observer.of("finished") == [(run_id, RunStatus.CANCELLED)]

    shown = invoke(host, "cancel", run_id)
    assert shown.exit_code == 2
    assert f"run {run_id} is CANCELLED; only RUNNING runs can be cancelled" in shown.output


def test_a_request_seen_by_a_write_starts_no_further_step(host) -> None:  # type: ignore[no-untyped-def]
    """The first step ends right after the request, long before the next heartbeat: the write
    that would start the second step sees the request, and the run ends CANCELLED at once."""
    blocking = Blocking()

    def wait(context, inputs, params):
        blocking.started.set()
        return blocking.release.wait(30)

    blocking.workflow = Workflow(
        "cancel.write", [Step("wait", wait), Step("after", blocking.after, ["wait"])]
    )
    runner = WorkflowRunner(host, heartbeat_interval=30.0, stale_after=60.0)
    thread, result = start(runner, blocking.workflow)
    try:
        assert blocking.started.wait(10)
        run_id = running_run_id(host, "cancel.write")
        history = WorkflowHistoryRepository(host.storage)
        assert history.request_cancel(run_id, requested_by="ops@test", reason="stop")
        began = time.monotonic()
        blocking.release.set()
        thread.join(10)
        assert time.monotonic() - began < 5  # not the 30 s of the next heartbeat
    finally:
        blocking.release.set()
    run = result["run"]
    assert run.status is RunStatus.CANCELLED
    assert (run.cancel_requested_by, run.cancel_reason) == ("ops@test", "stop")
    steps = [(a.step_name, a.status) for a in history.require_run(run_id).steps]
    assert steps == [("wait", StepStatus.COMPLETED)]  # it did its work; "after" never started
    assert not blocking.after_ran.is_set()


def test_a_run_whose_runner_is_gone_is_cancelled_at_once(host, observer) -> None:  # type: ignore[no-untyped-def]
    history = WorkflowHistoryRepository(host.storage)
    now = utc_now()
    run = WorkflowRun(
        run_id="gone-runner",
        workflow="cancel.elsewhere",
        status=RunStatus.RUNNING,
        owner="another-host:4242:abcd1234:",
        heartbeat_at=now - timedelta(minutes=5),
        started_at=now - timedelta(minutes=6),
    )
    history.save_run(run)
    history.record_attempts(
        [
            StepAttempt(
                run_id="gone-runner",
                step_name="load",
                attempt=1,
                status=StepStatus.RUNNING,
                started_at=now,
            )
        ],
        [],
        owner=run.owner or "",
    )

    result = invoke(host, "cancel", "gone-runner", "--reason", "host lost")

    assert result.exit_code == 0, result.output
    assert "its runner was gone" in result.output
    stored = history.require_run("gone-runner")
    assert stored.status is RunStatus.CANCELLED
    assert stored.cancel_reason == "host lost"
    assert [(a.step_name, a.status) for a in stored.steps] == [("load", StepStatus.CANCELLED)]
    assert observer.of("finished") == [("gone-runner", RunStatus.CANCELLED)]


def test_cancelling_a_run_that_is_not_running_is_a_usage_error(host) -> None:  # type: ignore[no-untyped-def]
    done = WorkflowRunner(host).run(Workflow("cancel.done", [Step("x", lambda c, i, p: 1)]))
    result = invoke(host, "cancel", done.run_id)
    assert result.exit_code == 2
    assert f"run {done.run_id} is COMPLETED; only RUNNING runs can be cancelled" in result.output
    unknown = invoke(host, "cancel", "no-such-run-id")
    assert unknown.exit_code == 2
    assert "no workflow run" in unknown.output


def test_a_cancelled_run_is_resumed_like_a_failed_one(host, blocking) -> None:  # type: ignore[no-untyped-def]
    runner = WorkflowRunner(host, heartbeat_interval=0.2, stale_after=1.0)
    thread, _ = start(runner, blocking.workflow)
    try:
        assert blocking.started.wait(10)
        run_id = running_run_id(host, "cancel.blocking")
        assert invoke(host, "cancel", run_id).exit_code == 0
        thread.join(10)
    finally:
        blocking.release.set()
    assert blocking.wrote.wait(10)

    resumed = WorkflowRunner(host).resume(run_id)

    assert resumed.status is RunStatus.COMPLETED
    assert resumed.cancel_requested_at is None  # the request went with the reopening
    attempts = [(a.step_name, a.attempt, a.status) for a in resumed.steps]
    assert attempts == [
        ("wait", 1, StepStatus.CANCELLED),
        ("wait", 2, StepStatus.COMPLETED),
        ("after", 1, StepStatus.COMPLETED),
    ]
    # The cancelled attempt committed nothing; the resumed one did its work once.
    assert host.storage.query(sa.select(effects)) == [{"step_name": "wait"}]


@pytest.mark.slow
def test_cancel_from_another_process_stops_a_run_driven_by_spine_workflows_run(
    storage_url: str, tmp_path: Path
) -> None:
    """``spine workflows run`` in one process, ``spine runs cancel`` in another.

    The runner sees the request at its next heartbeat (every 10 s by default), so this takes
    about that long. ``spine workflows run`` then prints the CANCELLED run and exits 1, as for
    every run that did not complete; the step's thread, still waiting, does not hold it up.
    """
    make_host(storage_url).close()  # tables created, history empty
    site = tmp_path / "site"
    install_dist_info(
        site, "spine-workflow-cancel-test", {"workflow_cancel": "tests.plugins.workflow_cancel"}
    )
    config = tmp_path / "spine.toml"
    config.write_text(
        f'[storage]\nurl = "{storage_url}"\n\n'
        '[sources.vendor]\ntype = "file"\npath = "feeds/${VENDOR_TOKEN}/*.csv"\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    env["VENDOR_TOKEN"] = "tok-5ecret-9"

    spine = runner(config, env)

    driver = subprocess.Popen(
        [SPINE, "--config", str(config), "workflows", "run", "tests.cancel", "-p", f"dir={work}"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    observer = make_host_without_reset(storage_url)
    history = WorkflowHistoryRepository(observer.storage)
    try:
        run_id = wait_for_running_step(history, driver, "wait", workflow="tests.cancel")

        cancelled = spine("runs", "cancel", run_id, "--reason", "maintenance window")

        assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
        assert "maintenance window; its runner stopped it" in cancelled.stdout
        out, err = driver.communicate(timeout=30)
        assert driver.returncode == 1, out + err  # a run that did not complete: exit 1
        assert f"run {run_id} of tests.cancel: CANCELLED" in out

        run = history.require_run(run_id)
        assert run.status is RunStatus.CANCELLED
        assert run.cancel_reason == "maintenance window"
        assert [(a.step_name, a.status) for a in run.steps] == [("wait", StepStatus.CANCELLED)]
        assert not (work / "after.ran").exists()

        logs = spine("runs", "logs", run_id)
        assert logs.returncode == 0, logs.stderr
        assert (
            "  wait#1  INFO  tests.plugins.workflow_cancel: calling the vendor with token ***"
            in (logs.stdout)
        )
        assert "the runner let this attempt go: its run was cancelled" in logs.stdout
        assert "tok-5ecret-9" not in logs.stdout + cancelled.stdout + out + err
        assert "calling the vendor" not in err  # kept, yet not printed: the terminal shows WARNING+
    finally:
        (work / "release").touch()
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        observer.close()
