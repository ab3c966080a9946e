"""A workflow run killed with SIGKILL alerts exactly once when it is reaped, even when two
processes reap at the same moment (acceptance 6 of the alerting issue)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from spine_host.alerts.ledger import AlertLedger
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus
from spine_host.storage import schema
from tests.plugins.workflow_fixtures import make_host, storage_url
from tests.test_crash_resume import (
    REPO,
    cli,
    install_test_plugin,
    make_host_without_reset,
    wait_for_running_step,
)

__all__ = ["storage_url"]


@pytest.mark.slow
def test_a_killed_run_reaped_by_two_processes_at_once_alerts_once(
    storage_url: str, tmp_path: Path
) -> None:
    made = make_host(storage_url)
    with made.storage.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(sa.delete(schema.alert_deliveries))
        connection.execute(sa.delete(schema.alerts))
    made.close()
    site = tmp_path / "site"
    install_test_plugin(site)
    config = tmp_path / "spine.toml"
    config.write_text(
        f'[storage]\nurl = "{storage_url}"\n\n'
        '[alerts.channels.ops]\ntype = "console"\nmin_severity = "ERROR"\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "sleep").touch()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])

    runner = subprocess.Popen(
        cli(config, "workflows", "run", "tests.crash", "-p", f"dir={work}"),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    observer = make_host_without_reset(storage_url)
    try:
        run_id = wait_for_running_step(WorkflowHistoryRepository(observer.storage), runner, "s3")
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        reapers = [
            subprocess.Popen(
                cli(config, "runs", "reap"),
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [reaper.communicate(timeout=120) for reaper in reapers]
        assert [reaper.returncode for reaper in reapers] == [0, 0], outputs
        run = WorkflowHistoryRepository(observer.storage).require_run(run_id)
        assert run.status is RunStatus.CRASHED

        alerts = AlertLedger(observer.storage).alerts()
        assert [(a.title, a.run_id, a.severity) for a in alerts] == [
            ("workflow tests.crash CRASHED", run_id, "CRITICAL")
        ]
        assert [(row.channel, row.status.value) for row in alerts[0].deliveries] == [
            ("ops", "SENT")
        ]
        printed = "".join(err for _, err in outputs)
        assert printed.count("[CRITICAL] workflow tests.crash CRASHED") == 1
    finally:
        if runner.poll() is None:
            runner.kill()
        observer.close()
