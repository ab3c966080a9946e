"""Acceptance 5 of issue 16, and every other action: resume from the browser (click, confirm)
finishes the run and the dashboard records who did it; retry and run-now start runs whose
``triggered_by`` names the web; cancel, pause and resume are audited; no action without its
CSRF token."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def acting(project_copy: Callable[[], Any], serve: Callable[..., str]) -> tuple[Any, str]:
    """A copy of the demo project, served with --allow-actions on 127.0.0.1 (for one test)."""
    project = project_copy()
    return project, serve(project.path, "--allow-actions")


def rows(database: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, params).fetchall()


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def actor_of(client: httpx.Client, run_id: str) -> str:
    """Who the server acts as, from a confirmation page (``web:<user>``)."""
    page = client.get(f"/runs/{run_id}/confirm/retry").text
    found = re.search(r"recorded as done by <code>(web:[^<]+)</code>", page)
    assert found is not None
    return found.group(1)


def post(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """POST a form with this client's CSRF token (read from its cookie)."""
    client.get("/runs")
    return client.post(path, data={"csrf": client.cookies.get("spine_web_csrf") or "", **fields})


def test_resuming_a_failed_run_from_the_browser_completes_it_and_is_audited(
    browser_page: Any, acting: tuple[Any, str], screenshot: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    project, url = acting
    fragile = project.runs.fragile
    page = browser_page.page
    page.goto(f"{url}/runs/{fragile}")
    expect(page.locator("#run-status")).to_have_text("FAILED")
    (project.flags / "broken").unlink(missing_ok=True)

    page.click("#action-resume")
    page.wait_for_url(f"**/runs/{fragile}/confirm/resume")
    expect(page.locator("h1")).to_contain_text("Resume run")
    screenshot(page, "confirm")
    page.click("#confirm-button")
    page.wait_for_url(f"**/runs/{fragile}")
    # The page follows the run (the shipped script reloads it) until it has finished.
    expect(page.locator("#run-status")).to_have_text("COMPLETED", timeout=30_000)
    expect(page.locator('svg#timeline a.timeline-bar[data-step="deliver"]')).to_have_count(2)
    audit = page.locator("#audit-table tr.audit-row")
    expect(audit).to_have_count(1)
    expect(audit).to_have_attribute("data-outcome", "COMPLETED")
    expect(audit.locator(".requested-by")).to_have_text(re.compile(r"^web:\S+$"))
    screenshot(page, "run-resumed")

    (recorded,) = rows(
        project.database,
        "SELECT action_name, target_name, requested_by, outcome, run_id FROM web_actions",
    )
    assert recorded[:2] == ("resume", fragile)
    assert recorded[2].startswith("web:")
    assert recorded[3:] == ("COMPLETED", fragile)
    assert rows(project.database, "SELECT status FROM workflow_runs WHERE run_id = ?", fragile) == [
        ("COMPLETED",)
    ]
    assert browser_page.dialogs == []


def test_a_retry_is_a_new_run_triggered_by_the_web(acting: tuple[Any, str]) -> None:
    project, url = acting
    failed = project.runs.missing_week
    with httpx.Client(base_url=url) as client:
        actor = actor_of(client, failed)
        answer = post(client, f"/runs/{failed}/retry")
        assert answer.status_code == 303
        new_id = answer.headers["location"].rsplit("/", 1)[1]
        assert new_id != failed
        finished = wait_for(
            lambda: rows(
                project.database,
                "SELECT status, triggered_by, parent_run_id FROM workflow_runs "
                "WHERE run_id = ? AND status != 'RUNNING'",
                new_id,
            )
        )
        assert finished == [("FAILED", actor, failed)]  # the week still has no data
        page = client.get(f"/runs/{new_id}").text
        assert f"{actor}</dd>" in page
        (audit,) = rows(project.database, "SELECT action_name, outcome, run_id FROM web_actions")
        assert audit == ("retry", "FAILED", new_id)


def test_a_run_now_is_recorded_in_the_schedules_history_triggered_by_the_web(
    acting: tuple[Any, str],
) -> None:
    project, url = acting
    with httpx.Client(base_url=url) as client:
        actor = actor_of(client, project.runs.demo)
        answer = post(client, "/schedules/webcheck.hourly/run-now")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/schedules#schedule-webcheck.hourly"
        fired = wait_for(
            lambda: rows(
                project.database,
                "SELECT status, fired_by, run_id FROM schedule_runs "
                "WHERE schedule_name = 'webcheck.hourly' AND status = 'SUCCEEDED'",
            )
        )
        ((_, fired_by, run_id),) = fired
        assert fired_by == "run-now"
        assert rows(
            project.database, "SELECT triggered_by FROM workflow_runs WHERE run_id = ?", run_id
        ) == [(actor,)]
        wait_for(
            lambda: rows(project.database, "SELECT 1 FROM web_actions WHERE outcome = 'SUCCEEDED'")
        )
        assert "SUCCEEDED" in client.get("/schedules").text


def test_pausing_and_resuming_a_schedule_is_audited(acting: tuple[Any, str]) -> None:
    project, url = acting
    with httpx.Client(base_url=url) as client:
        assert post(client, "/schedules/otc.weekly/pause").status_code == 303
        assert rows(
            project.database, "SELECT paused FROM schedules WHERE schedule_name = 'otc.weekly'"
        ) == [(1,)]
        assert "paused" in client.get("/schedules").text
        assert post(client, "/schedules/otc.weekly/unpause").status_code == 303
        assert rows(
            project.database, "SELECT paused FROM schedules WHERE schedule_name = 'otc.weekly'"
        ) == [(0,)]
        audit = rows(
            project.database,
            "SELECT action_name, target_kind, target_name, outcome FROM web_actions "
            "ORDER BY action_id",
        )
        assert audit == [
            ("pause", "schedule", "otc.weekly", "DONE"),
            ("unpause", "schedule", "otc.weekly", "DONE"),
        ]
        actions = client.get("/actions").text
        assert actions.count('class="audit-row"') == 2


def test_cancelling_a_running_run_records_the_web_as_the_requester(
    acting: tuple[Any, str], spine_executable: str, env_for_spine: Callable[..., Any]
) -> None:
    project, url = acting
    flags = project.path / "wait"
    flags.mkdir()
    runner = subprocess.Popen(
        [spine_executable, "workflows", "run", "webcheck.wait", "-p", f"dir={flags}"],
        cwd=project.path,
        env=env_for_spine(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        (run_id,) = wait_for(
            lambda: rows(
                project.database,
                "SELECT run_id FROM workflow_runs WHERE workflow = 'webcheck.wait' "
                "AND status = 'RUNNING'",
            )
        )[0]
        with httpx.Client(base_url=url) as client:
            actor = actor_of(client, project.runs.demo)
            page = client.get(f"/runs/{run_id}").text
            assert 'id="action-cancel"' in page
            answer = post(client, f"/runs/{run_id}/cancel", reason="wrong input <b>file</b>")
            assert answer.status_code == 303
        assert rows(
            project.database,
            "SELECT cancel_requested_by, cancel_reason FROM workflow_runs WHERE run_id = ?",
            run_id,
        ) == [(actor, "wrong input <b>file</b>")]
        (audit,) = rows(project.database, "SELECT action_name, outcome, run_id FROM web_actions")
        assert audit[0] == "cancel"
        assert audit[1] in ("REQUESTED", "CANCELLED")
        # The step ends; what it did after the request does not count: the run ends CANCELLED.
        (flags / "release").touch()
        assert runner.wait(timeout=30) != 0
        assert rows(
            project.database, "SELECT status FROM workflow_runs WHERE run_id = ?", run_id
        ) == [("CANCELLED",)]
    finally:
        (flags / "release").touch()
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def test_actions_need_this_browsers_csrf_token_and_a_run_they_apply_to(
    acting: tuple[Any, str],
) -> None:
    project, url = acting
    with httpx.Client(base_url=url) as client:
        client.get("/runs")
        missing = client.post(f"/runs/{project.runs.fragile}/resume", data={})
        assert missing.status_code == 403
        forged = client.post(f"/runs/{project.runs.fragile}/resume", data={"csrf": "guess"})
        assert forged.status_code == 403
        token = client.cookies.get("spine_web_csrf") or ""
        elsewhere = client.post(
            f"/runs/{project.runs.fragile}/resume",
            data={"csrf": token},
            headers={"Origin": "https://evil.example"},
        )
        assert elsewhere.status_code == 403
        completed = post(client, f"/runs/{project.runs.demo}/resume")
        assert completed.status_code == 409
        assert "COMPLETED" in completed.text
        assert post(client, "/runs/no-such-run/retry").status_code == 404
        assert post(client, "/schedules/no.such/run-now").status_code == 404
    assert rows(project.database, "SELECT count(*) FROM web_actions") == [(0,)]
