"""``spine alerts test|channels|list`` with a webhook channel, run as a user runs them: the test
alert arrives and its status is printed, and the webhook's URL token, bearer token and signing
secret appear in no output, no log line and no table."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

SPINE = str(Path(sys.executable).with_name("spine"))
TOKEN = "urlt0ken-9f8e7d6c"
BEARER = "bearer-5ecret-1a2b3c"
SIGNING = "s1gning-5ecret-xyz"


def run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SPINE, "-vv", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_alerts_test_delivers_and_no_secret_shows_anywhere(api: Any, tmp_path: Path) -> None:
    api.route(f"/hooks/{TOKEN}", lambda request: (200, {"ok": True}))
    (tmp_path / "spine.toml").write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path / "spine.db"}"

[alerts.channels.hook]
type = "webhook"
url = "{api.base_url}/hooks/${{HOOK_TOKEN}}"
headers = {{ Authorization = "Bearer ${{HOOK_BEARER}}" }}
signing_secret = "${{HOOK_SIGNING}}"
""",
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env.update(HOOK_TOKEN=TOKEN, HOOK_BEARER=BEARER, HOOK_SIGNING=SIGNING)
    assert run(tmp_path, env, "db", "upgrade").returncode == 0

    tested = run(tmp_path, env, "alerts", "test", "hook")
    assert tested.returncode == 0, tested.stderr
    assert "SENT" in tested.stdout
    (hit,) = api.hits(f"/hooks/{TOKEN}")
    assert hit.header("Authorization") == f"Bearer {BEARER}"
    assert hit.header(
        "X-Spine-Signature",
    ).startswith("sha256=")
    assert b"spine test alert for channel hook" in hit.body

    api.route(f"/hooks/{TOKEN}", lambda request: (404, {"error": "gone"}))
    failed = run(tmp_path, env, "alerts", "test", "hook")
    assert failed.returncode == 1
    assert "FAILED" in failed.stdout

    outputs = [
        tested,
        failed,
        run(tmp_path, env, "alerts", "channels"),
        run(tmp_path, env, "alerts", "channels", "--json"),
        run(tmp_path, env, "alerts", "list"),
        run(tmp_path, env, "alerts", "list", "--json"),
        run(tmp_path, env, "config", "show"),
    ]
    for result in outputs:
        for secret in (TOKEN, BEARER, SIGNING):
            assert secret not in result.stdout + result.stderr, (result.args, secret)
    with sqlite3.connect(tmp_path / "spine.db") as connection:
        dump = "\n".join(connection.iterdump())
    assert "alert_deliveries" in dump
    for secret in (TOKEN, BEARER, SIGNING):
        assert secret not in dump
