"""The read-only server over plain HTTP: security headers, escaping, the Host check, 403 for
every POST, and what unknown runs and bad filters answer."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

PAGES = ["/runs", "/schedules", "/alerts", "/rejects", "/quality", "/plugins", "/actions"]
EXPECTED_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def check_security_headers(response: httpx.Response) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_every_page_answers_with_the_security_headers(
    readonly_server: str, demo_project: Any
) -> None:
    runs = demo_project.runs
    paths = [
        *PAGES,
        f"/runs/{runs.demo}",
        f"/runs/{runs.flaky}",
        "/runs/nope",
        "/static/spine-web.js",
    ]
    with httpx.Client(base_url=readonly_server) as client:
        for path in paths:
            response = client.get(path)
            assert response.status_code == (404 if path == "/runs/nope" else 200), path
            check_security_headers(response)
        home = client.get("/")
        assert home.status_code == 303
        assert home.headers["location"] == "/runs"
        check_security_headers(home)
        script = client.get("/static/spine-web.js")
        assert "javascript" in script.headers["content-type"]


def test_values_are_html_escaped_in_pages_and_in_the_svg(
    readonly_server: str, demo_project: Any
) -> None:
    html = httpx.get(f"{readonly_server}/runs/{demo_project.runs.fragile}").text
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#39;error&#39;)&lt;/script&gt;" in html  # error, and SVG title
    assert "&lt;script&gt;alert(&#39;params&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;ready&lt;/b&gt;" in html  # a step's output
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "the receiver refused the delivery" in svg
    assert "<script" not in svg
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/spine-web.js" defer>']


def test_without_allow_actions_no_control_is_shown_and_every_post_is_refused(
    readonly_server: str, demo_project: Any
) -> None:
    runs = demo_project.runs
    with httpx.Client(base_url=readonly_server) as client:
        page = client.get(f"/runs/{runs.fragile}").text
        assert "/confirm/" not in page
        assert '<form method="post"' not in page
        assert "/confirm/" not in client.get("/schedules").text
        confirm = client.get(f"/runs/{runs.fragile}/confirm/resume")
        assert confirm.status_code == 403
        csrf = client.cookies.get("spine_web_csrf")
        for path in [
            f"/runs/{runs.fragile}/resume",
            f"/runs/{runs.demo}/retry",
            "/schedules/otc.weekly/pause",
            "/runs",
            "/anything",
        ]:
            refused = client.post(path, data={"csrf": csrf or ""})
            assert refused.status_code == 403, path
            check_security_headers(refused)


def test_a_host_header_naming_another_site_is_refused_on_loopback(readonly_server: str) -> None:
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    response = httpx.get(f"{readonly_server}/runs", headers={"Host": "evil.example:8150"})
    assert response.status_code == 400
    assert httpx.get(f"{readonly_server}/runs", headers={"Host": "localhost:1"}).status_code == 200


def test_bad_filters_and_cursors_are_a_400_naming_the_problem(readonly_server: str) -> None:
    with httpx.Client(base_url=readonly_server) as client:
        since = client.get("/runs", params={"since": "yesterday"})
        assert since.status_code == 400
        assert "since" in since.text
        assert client.get("/runs", params={"status": "SLEEPING"}).status_code == 400
        assert client.get("/runs", params={"before": "garbage"}).status_code == 400
        filtered = client.get("/runs", params={"workflow": "webcheck.flaky", "status": "COMPLETED"})
        assert filtered.status_code == 200
        assert filtered.text.count('class="run-row"') == 1
