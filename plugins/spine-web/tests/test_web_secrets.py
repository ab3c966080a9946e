"""Acceptance 6 of issue 16: a password in the storage URL or in an alert channel appears on no
page. The server runs on PostgreSQL through a URL holding a password, with an email channel
holding another; a run's params carry both; every page reachable by a link is read."""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import pytest

from spine_host.testing.postgres import temporary_database

pytestmark = pytest.mark.slow

STORAGE_PASSWORD = "s3cretpw"
CHANNEL_PASSWORD = "ch4nnel-pa55word"
MAX_PAGES = 400


@pytest.fixture(scope="module")
def secret_project(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    spine_cli: Callable[..., Any],
) -> Iterator[Path]:
    """A project on a fresh PostgreSQL database whose URL and alert channel hold passwords."""
    request.getfixturevalue("postgres_url")  # skipped, or failed in CI, without a server
    path = tmp_path_factory.mktemp("secrets")
    with temporary_database() as plain:
        parts = urlsplit(plain)
        url = urlunsplit(
            parts._replace(
                netloc=f"postgres:{STORAGE_PASSWORD}@{parts.hostname}:{parts.port or 5432}"
            )
        )
        (path / "spine.toml").write_text(
            f"""[storage]
url = "{url}"

[alerts.channels.mail]
type = "email"
host = "127.0.0.1"
port = 2525
security = "none"
username = "spine"
password = "{CHANNEL_PASSWORD}"
sender = "spine@example.com"
recipients = ["ops@example.com"]
min_severity = "CRITICAL"
""",
            encoding="utf-8",
        )
        (path / "flags").mkdir()
        (path / "flags" / "broken").touch()
        note = f"note=login {CHANNEL_PASSWORD} at postgresql://postgres:{STORAGE_PASSWORD}@db.internal/x"
        for args, code in [
            (["db", "upgrade"], 0),
            (["workflows", "run", "otc.weekly_refresh", "-p", "week_ending=2025-12-26"], 0),
            (["workflows", "run", "otc.weekly_refresh", "-p", "week_ending=2025-11-21"], 1),
            (
                ["workflows", "run", "webcheck.fragile", "-p", f"dir={path / 'flags'}", "-p", note],
                1,
            ),
        ]:
            result = spine_cli(path, *args)
            assert result.returncode == code, (args, result.stdout, result.stderr)
        yield path


def crawl(base: str) -> dict[str, str]:
    """Every page reachable by links from /runs (GET only): path -> HTML."""
    seen: dict[str, str] = {}
    queue = deque(["/runs"])
    with httpx.Client(base_url=base) as client:
        while queue and len(seen) < MAX_PAGES:
            path = queue.popleft()
            if path in seen:
                continue
            response = client.get(path)
            assert response.status_code == 200, path
            seen[path] = response.text
            for link in re.findall(r'href="([^"]+)"', response.text):
                target = urljoin(base + path, html.unescape(link))
                parts = urlsplit(target)
                if not target.startswith(base) or parts.path in ("/logout",):
                    continue
                if parts.path.startswith("/static/"):
                    continue
                queue.append(urlunsplit(("", "", parts.path, parts.query, "")))
    return seen


def test_no_page_shows_the_storage_or_the_channel_password(
    secret_project: Path, serve: Callable[..., str]
) -> None:
    url = serve(secret_project, "--allow-actions")
    pages = crawl(url)
    kinds = {path.split("?")[0].split("/")[1] for path in pages}
    assert {"runs", "executions", "schedules", "alerts", "rejects", "quality", "plugins"} <= kinds
    assert any("/confirm/" in path for path in pages)  # the confirmation pages too
    for path, text in pages.items():
        assert STORAGE_PASSWORD not in text, path
        assert CHANNEL_PASSWORD not in text, path
    alerts = pages["/alerts"]
    assert "mail" in alerts
    assert "password=***" in alerts  # the channel is listed, its password masked
    assert "FILTERED" in alerts  # the failed run's alert reached the channel's rules
    fragile = next(text for path, text in pages.items() if "login ***" in text)
    assert "postgresql://postgres:***@db.internal/x" in fragile
