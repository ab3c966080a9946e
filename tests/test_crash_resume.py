"""Issue 6, acceptance 5: a run killed with SIGKILL is reaped as CRASHED and resumed in place.

The workflow runs in a separate process (the CLI, with the test plugin found through a real
entry point); the test kills it while step 3 is running, then uses the CLI to reap and resume.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from tests.plugin_distributions import install_dist_info
from tests.plugins.workflow_fixtures import make_host, storage_url

__all__ = ["storage_url"]

REPO = Path(__file__).resolve().parents[1]


def install_test_plugin(site: Path) -> None:
    """A dist-info whose ``spine`` entry point loads the crash workflow."""
    install_dist_info(
        site, "spine-workflow-crash-test", {"workflow_crash": "tests.plugins.workflow_crash"}
    )


def cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.plugins.workflow_cli", "--config", str(config), *args]


@pytest.mark.slow
def test_killed_run_is_reaped_then_resumed_in_place(storage_url: str, tmp_path: Path) -> None:
    make_host(storage_url).close()  # tables created, history empty
    site = tmp_path / "site"
    install_test_plugin(site)
    config = tmp_path / "spine.toml"
    config.write_text(f'[storage]\nurl = "{storage_url}"\n')
    work = tmp_path / "work"
    work.mkdir()
    (work / "sleep").touch()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])

    def spine(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cli(config, *args), env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )

    runner = subprocess.Popen(
        cli(config, "workflows", "run", "tests.crash", "-p", f"dir={work}"),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    observer = make_host_without_reset(storage_url)
    history = WorkflowHistoryRepository(observer.storage)
    try:
        run_id = wait_for_running_step(history, runner, "s3")
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        assert runner.returncode == -signal.SIGKILL

        killed = history.require_run(run_id)
        assert killed.status is RunStatus.RUNNING  # nobody has noticed yet
        assert killed.heartbeat_at is not None
        # Two minutes pass without a heartbeat (the reaper refuses limits under 2 intervals).
        age_heartbeat(observer, run_id, timedelta(minutes=2))

        reaped = spine("runs", "reap", "--stale-after", "60s")
        assert reaped.returncode == 0, reaped.stderr
        assert run_id in reaped.stdout
        crashed = history.require_run(run_id)
        assert crashed.status is RunStatus.CRASHED
        assert crashed.latest_attempts()["s3"].status is StepStatus.CRASHED

        (work / "sleep").unlink()
        resumed = spine("runs", "resume", run_id)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"run {run_id} of tests.crash: COMPLETED" in resumed.stdout

        final = history.require_run(run_id)
        assert final.status is RunStatus.COMPLETED
        assert final.outputs == {"s4": {"value": 4}}
        attempts = Counter(attempt.step_name for attempt in final.steps)
        assert attempts == {"s1": 1, "s2": 1, "s3": 2, "s4": 1}
        effects = Counter((work / "effects.log").read_text().split())
        assert effects == {"s1": 1, "s2": 1, "s3": 1, "s4": 1}
        assert len(history.list_runs(workflow="tests.crash")) == 1  # same run, not a new one
    finally:
        if runner.poll() is None:
            runner.kill()
        observer.close()


def age_heartbeat(host, run_id: str, age: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move the run's last heartbeat ``age`` into the past, as if that time had passed."""
    host.storage.execute(
        sa.update(schema.workflow_runs)
        .where(schema.workflow_runs.c.run_id == run_id)
        .values(heartbeat_at=utc_now() - age)
    )


def make_host_without_reset(url: str):  # type: ignore[no-untyped-def]
    """A second host on the same database that leaves its history alone."""
    from spine_host.host import Host
    from tests.plugins.workflow_fixtures import storage_plugins

    return Host(plugins=storage_plugins(url), load_entrypoints=False, storage_url=url, environ={})


def wait_for_running_step(
    history: WorkflowHistoryRepository,
    process: subprocess.Popen[str],
    step: str,
    workflow: str = "tests.crash",
) -> str:
    """The run id of ``workflow`` once ``step`` shows RUNNING (a failure if the process ends)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended early: {process.communicate()}")
        for run in history.list_runs(workflow=workflow):
            full = history.require_run(run.run_id)
            latest = full.latest_attempts()
            if step in latest and latest[step].status is StepStatus.RUNNING:
                return run.run_id
        time.sleep(0.05)
    pytest.fail(f"step {step} never showed as RUNNING")
