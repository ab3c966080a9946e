"""A real HTTP server on 127.0.0.1 for the spine-http tests, scripted per test.

Each test routes paths to small handler functions and reads back what the server received
(method, path, query, headers, arrival time), so assertions are about what went over the wire.
A handler gets the :class:`Received` request and answers with JSON data (status 200), or a
tuple ``(status, body)`` / ``(status, body, headers)`` where the body is JSON data or bytes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest


@attrs.frozen
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


Handler = Callable[[Received], Any]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has hung up before the slow answer was written.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _reply(answer: Any) -> tuple[int, bytes, dict[str, str]]:
    status, body, headers = 200, answer, {}
    if isinstance(answer, tuple):
        status, body, *rest = answer
        headers = rest[0] if rest else {}
    if body is None:
        payload = b""
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = json.dumps(body).encode()
    return status, payload, headers


class ApiServer:
    """A ThreadingHTTPServer on an ephemeral port with per-path handlers."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.scheme = "https" if tls else "http"
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    method=self.command,
                    path=parts.path,
                    query={key: values[-1] for key, values in parse_qs(parts.query).items()},
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                    at=time.monotonic(),
                )
                with server._lock:
                    server.received.append(request)
                handler = server.routes.get(parts.path)
                answer = handler(request) if handler else (404, {"error": "no such path"})
                status, payload, extra = _reply(answer)
                self.send_response(status)
                headers = {"Content-Type": "application/json", **extra}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = _QuietServer(("127.0.0.1", 0), RequestHandler)
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"{self.base_url}{path}"

    def route(self, path: str, handler: Handler) -> None:
        """Answer requests to ``path`` with ``handler``."""
        self.routes[path] = handler

    def hits(self, path: str) -> list[Received]:
        """The requests received for ``path``, in arrival order."""
        with self._lock:
            return [request for request in self.received if request.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def api() -> Iterator[ApiServer]:
    """A fresh scripted HTTP server on 127.0.0.1 for one test."""
    server = ApiServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def other_api() -> Iterator[ApiServer]:
    """A second server on 127.0.0.1: another port, so another origin than ``api``."""
    server = ApiServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def tls_api(tmp_path: Any) -> Iterator[tuple[ApiServer, str]]:
    """An HTTPS server with a throwaway self-signed certificate for 127.0.0.1, and the
    certificate's path (the CA bundle that trusts it)."""
    import subprocess

    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
            "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ApiServer(tls=(cert, key))
    yield server, cert
    server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/data"


@pytest.fixture
def http_source() -> Iterator[Callable[..., Any]]:
    """Build an HttpSource from a ``[sources.NAME]`` table, structured as the host does it."""
    from spine_http.config import HttpSourceConfig
    from spine_http.source import HttpSource

    from spine_host.structuring import structure

    built: list[HttpSource] = []

    def build(name: str = "api", **table: Any) -> HttpSource:
        source = HttpSource(name, structure(table, HttpSourceConfig, f"sources.{name}"))
        built.append(source)
        return source

    yield build
    for source in built:
        source.close()
