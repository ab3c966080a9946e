"""Acceptance 1-3 of issue 16 in a real Chromium: runs to run page, timeline bars per attempt,
retries and skips visible, markup in values shown as text and never run.

One read-only ``spine web`` serves the module, over a database filled by running the README's
demo and the ``webcheck`` workflows (see conftest). Screenshots go to ``docs/screenshots``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def bars(page: Any, step: str | None = None) -> Any:
    """The timeline's bars, of one step when given."""
    selector = "svg#timeline a.timeline-bar"
    if step is not None:
        selector += f'[data-step="{step}"]'
    return page.locator(selector)


def test_the_runs_page_lists_the_demo_run_and_its_page_has_one_bar_per_step(
    browser_page: Any, readonly_server: str, demo_project: Any, screenshot: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    demo = demo_project.runs.demo
    page.goto(f"{readonly_server}/runs")
    row = page.locator(f'tr.run-row[data-run-id="{demo}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("otc.weekly_refresh")
    expect(row).to_contain_text("COMPLETED")
    expect(page.locator("#day-grid td.cell-mixed")).to_have_count(1)  # completed and failed today
    screenshot(page, "runs")

    row.locator("a.run-link").click()
    page.wait_for_url(f"**/runs/{demo}")
    expect(page.locator("#run-status")).to_have_text("COMPLETED")
    expect(bars(page)).to_have_count(3)
    for step in ("ingest", "check", "summarize"):
        expect(bars(page, step)).to_have_count(1)
        expect(bars(page, step)).to_have_attribute("data-status", "COMPLETED")
    expect(page.locator("#run-params")).to_contain_text("2025-12-26")
    screenshot(page, "run")
    assert browser_page.errors == []


def test_a_failed_runs_error_is_one_click_from_the_runs_page(
    browser_page: Any, readonly_server: str, demo_project: Any, screenshot: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    failed = demo_project.runs.missing_week
    page.goto(f"{readonly_server}/runs?status=FAILED")
    page.locator(f'tr.run-row[data-run-id="{failed}"] a.run-link').click()
    page.wait_for_url(f"**/runs/{failed}")
    expect(page.locator("#run-status")).to_have_text("FAILED")
    expect(page.locator("#run-error")).to_contain_text("NOT_FOUND")
    expect(page.locator("#run-error-message")).to_contain_text("file not found")
    expect(page.locator("#run-error-message")).to_contain_text("otc_2025-11-21.psv")
    # The steps after the failure never started: their lanes say so.
    expect(page.locator('svg#timeline g.lane[data-step="check"] .lane-note')).to_have_text(
        "not started"
    )
    expect(bars(page, "ingest")).to_have_attribute("data-status", "FAILED")
    screenshot(page, "run-failed")


def test_a_retried_step_has_two_bars_and_a_skipped_step_is_shown_skipped(
    browser_page: Any, readonly_server: str, demo_project: Any, screenshot: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    page.goto(f"{readonly_server}/runs/{demo_project.runs.flaky}")
    fetch = bars(page, "fetch")
    expect(fetch).to_have_count(2)
    assert [fetch.nth(index).get_attribute("data-status") for index in range(2)] == [
        "FAILED",
        "COMPLETED",
    ]
    # The second try starts after the first one ended: the bars do not overlap.
    first, second = fetch.nth(0).locator("rect"), fetch.nth(1).locator("rect")
    first_end = float(first.get_attribute("x")) + float(first.get_attribute("width"))
    assert float(second.get_attribute("x")) >= first_end - 4  # 4: the narrowest bar drawn

    report = bars(page, "report")
    expect(report).to_have_count(1)
    expect(report).to_have_attribute("data-status", "SKIPPED")
    expect(report).to_contain_text("skipped: condition")
    expect(report.locator("rect")).to_have_class("bar status-neutral bar-skipped")

    # A bar leads to its attempt's row, with the error and its category.
    fetch.nth(0).click()
    target = page.locator('tr.attempt-row[data-step="fetch"][data-attempt="1"]')
    expect(target).to_contain_text("[TRANSIENT] the feed hiccuped")
    assert page.url.endswith(f"#{target.get_attribute('id')}")
    expect(page.locator('tr.attempt-row[data-step="report"]')).to_contain_text("SKIPPED")
    expect(page.locator("pre.log-lines").first).to_contain_text("fetched on attempt 2")
    screenshot(page, "run-retried")


def test_markup_in_params_errors_and_logs_is_text_and_no_script_runs(
    browser_page: Any, readonly_server: str, demo_project: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    response = page.goto(f"{readonly_server}/runs/{demo_project.runs.fragile}")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy

    expect(page.locator("#run-error-message")).to_contain_text(
        "<script>alert('error')</script> the receiver refused the delivery"
    )
    expect(page.locator("#run-params")).to_contain_text("<script>alert('params')</script>")
    expect(page.locator("pre.log-lines").first).to_contain_text("<script>alert('log')</script>")
    expect(page.locator("svg#timeline")).to_contain_text("#1 failed")
    # The only script in the document is the one spine-web ships, and it is the only one loaded.
    assert page.locator("script").count() == 1
    assert page.locator("script").get_attribute("src") == "/static/spine-web.js"
    assert [url.rsplit("/", 1)[1] for url in browser_page.scripts] == ["spine-web.js"]
    assert browser_page.dialogs == []
    assert browser_page.errors == []
    page.goto(f"{readonly_server}/runs?workflow=webcheck.fragile")
    assert browser_page.dialogs == []


def test_every_page_renders_within_the_content_security_policy(
    browser_page: Any, readonly_server: str, demo_project: Any, screenshot: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    for name, heading in [
        ("schedules", "Schedules"),
        ("alerts", "Alerts"),
        ("rejects", "Rejects"),
        ("quality", "Quality"),
        ("plugins", "Plugins"),
        ("actions", "Actions"),
    ]:
        response = page.goto(f"{readonly_server}/{name}")
        assert response.status == 200, name
        expect(page.locator("h1")).to_have_text(heading)
        screenshot(page, name)
    page.goto(f"{readonly_server}/rejects?run={demo_project.runs.demo}")
    expect(page.locator("#reject-counts")).to_contain_text("2")
    # A violation of the policy (an inline style or script) is reported on the console.
    assert not [line for line in browser_page.console if "Content Security Policy" in line]
    assert browser_page.errors == []
