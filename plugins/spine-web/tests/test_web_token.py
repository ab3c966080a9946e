"""Acceptance 4 of issue 16: on any address but loopback a token is required (401 without it),
and without --allow-actions there is no action control and every POST is a 403."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def token_server(
    demo_project: Any, module_serve: Callable[..., str], env_for_spine: Callable[..., Any]
) -> str:
    """``spine web --host 0.0.0.0`` with $SPINE_WEB_TOKEN set, read-only."""
    return module_serve(
        demo_project.path, "--host", "0.0.0.0", env=env_for_spine(SPINE_WEB_TOKEN=TOKEN)
    )


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_request_without_the_token_is_refused_401(token_server: str, demo_project: Any) -> None:
    with httpx.Client(base_url=token_server) as client:
        for path in ["/runs", f"/runs/{demo_project.runs.demo}", "/plugins", "/alerts", "/"]:
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert refused.headers["x-frame-options"] == "DENY"
            assert 'name="token"' in refused.text  # the sign-in form
            assert "otc.weekly_refresh" not in refused.text  # nothing of the data
        assert client.get("/runs", headers=bearer("wrong-token-0123456789")).status_code == 401
        assert client.get("/runs", headers={"Authorization": TOKEN}).status_code == 401
    forged = httpx.get(f"{token_server}/runs", cookies={"spine_web_session": TOKEN})
    assert forged.status_code == 401  # the cookie holds a value derived from the token
    with httpx.Client(base_url=token_server) as client:
        assert client.get("/runs", headers=bearer()).status_code == 200
        assert client.get("/static/spine-web.css").status_code == 200  # the sign-in page's style


def test_without_allow_actions_posts_are_refused_403_even_with_the_token(
    token_server: str, demo_project: Any
) -> None:
    fragile = demo_project.runs.fragile
    with httpx.Client(base_url=token_server, headers=bearer()) as client:
        page = client.get(f"/runs/{fragile}").text
        assert "Resume" not in page
        assert "/confirm/" not in page
        assert client.get(f"/runs/{fragile}/confirm/resume").status_code == 403
        csrf = client.cookies.get("spine_web_csrf") or ""
        assert client.post(f"/runs/{fragile}/resume", data={"csrf": csrf}).status_code == 403
        assert client.post("/schedules/otc.weekly/pause", data={"csrf": csrf}).status_code == 403
    anonymous = httpx.post(f"{token_server}/runs/{fragile}/resume")
    assert anonymous.status_code == 401


def test_signing_in_from_the_browser_sets_a_session_cookie(
    browser_page: Any, token_server: str, demo_project: Any, screenshot: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    response = page.goto(f"{token_server}/runs/{demo_project.runs.fragile}")
    assert response.status == 401
    screenshot(page, "login")
    page.fill('input[name="token"]', "not-the-token-at-all")
    page.click('form.login button[type="submit"]')
    expect(page.locator("#login-failed")).to_be_visible()
    page.fill('input[name="token"]', TOKEN)
    page.click('form.login button[type="submit"]')
    page.wait_for_url(f"**/runs/{demo_project.runs.fragile}")
    expect(page.locator("#run-status")).to_have_text("FAILED")
    expect(page.locator("#run-actions")).to_have_count(0)
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies["spine_web_session"]
    assert session["value"] != TOKEN  # derived from the token, never the token itself
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    page.goto(f"{token_server}/logout")
    assert page.goto(f"{token_server}/runs").status == 401


def test_a_non_loopback_address_without_a_token_refuses_to_start(
    tmp_path: Path, spine_cli: Callable[..., Any], env_for_spine: Callable[..., Any]
) -> None:
    refused = spine_cli(tmp_path, "web", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a token" in refused.stderr
    short = spine_cli(
        tmp_path, "web", "--host", "0.0.0.0", env=env_for_spine(SPINE_WEB_TOKEN="short")
    )
    assert short.returncode == 2
    assert "at least 16 characters" in short.stderr
