"""A small Slack on 127.0.0.1 for the spine-slack tests: an incoming webhook and chat.postMessage.

It answers the way Slack does: the webhook ``200 ok`` (text); the Web API HTTP 200 with
``{"ok": true, "ts": ...}``, or ``{"ok": false, "error": ...}`` for a wrong token
(``invalid_auth``) or a channel other than ``#ops`` (``channel_not_found``). A test scripts the
next answers (a 429 with ``Retry-After``, a 503, a slow answer) with
:meth:`SlackServer.answer_next`, and reads what arrived from :meth:`SlackServer.bodies`,
:meth:`SlackServer.posted` and ``arrived``."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest

WEBHOOK_PATH = "/services/T0SPINE/B0ALERTS/hook-secret-4f9a2c"
TOKEN = "xoxb-1234-5678-token-secret"
CHANNELS = {"#ops": "C0OPS", "C0OPS": "C0OPS"}


@attrs.frozen
class Arrived:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@attrs.frozen
class Answer:
    """A scripted answer: a status, a body (JSON data or text), headers, a delay in seconds."""

    status: int
    body: Any = ""
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has hung up before the slow answer was written.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SlackServer:
    """A ThreadingHTTPServer on an ephemeral port playing Slack's webhook and Web API."""

    def __init__(self) -> None:
        self.arrived: list[Arrived] = []
        self._scripted: list[Answer] = []
        self._lock = threading.Lock()
        self._messages = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Arrived(
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length).decode("utf-8"),
                )
                answer = server._answer(request)
                time.sleep(answer.delay)
                payload = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                kind = "text/html" if isinstance(answer.body, str) else "application/json"
                self.send_response(answer.status)
                for key, value in {"Content-Type": kind, **answer.headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload.encode())))
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,))
        self._thread.daemon = True
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def webhook_url(self) -> str:
        """The incoming webhook's URL (its path is the secret)."""
        return f"{self.base_url}{WEBHOOK_PATH}"

    @property
    def token(self) -> str:
        """The one bot token this Slack accepts."""
        return TOKEN

    @property
    def api_url(self) -> str:
        """The Web API's base URL, for ``api_url``."""
        return f"{self.base_url}/api"

    def answer_next(
        self, status: int, body: Any = "", headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """Answer the next request, whatever it asks, with this (body: JSON data or text).

        Calls queue up: the second call answers the request after the first one's.
        """
        with self._lock:
            self._scripted.append(Answer(status, body, headers or {}, delay))

    def bodies(self) -> list[str]:
        """Every request body received, as text, in arrival order."""
        with self._lock:
            return [request.body for request in self.arrived]

    def posted(self) -> Any:
        """The last request body as JSON."""
        with self._lock:
            return self.arrived[-1].json()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, request: Arrived) -> Answer:
        with self._lock:
            self.arrived.append(request)
            if self._scripted:
                return self._scripted.pop(0)
            if request.path == WEBHOOK_PATH:
                return Answer(200, "ok")
            if request.path == "/api/chat.postMessage":
                return self._post_message(request)
            return Answer(404, "no_service")

    def _post_message(self, request: Arrived) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Answer(200, {"ok": False, "error": "invalid_auth"})
        channel = CHANNELS.get(request.json().get("channel"))
        if channel is None:
            return Answer(200, {"ok": False, "error": "channel_not_found"})
        self._messages += 1
        return Answer(
            200, {"ok": True, "channel": channel, "ts": f"1767322800.{self._messages:06d}"}
        )


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """A fresh Slack on 127.0.0.1 for one test."""
    server = SlackServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
