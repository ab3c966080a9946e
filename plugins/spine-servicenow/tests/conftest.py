"""A real HTTP server on 127.0.0.1 playing a ServiceNow instance's incident table.

It keeps incidents in memory and answers the Table API calls the channel makes: ``GET`` with an
encoded ``sysparm_query`` (``field=value``, ``field!=value``, ``ORDERBY...``), ``POST`` numbering
a new incident ``INC0010001``, ``PATCH`` changing fields and appending ``work_notes`` to the
journal. Resolving (state 6) or closing makes an incident inactive, and resolving without a close
code and close notes is refused, as an instance's data policy does. It checks basic auth or a
bearer token, and can be told to answer the next requests with a status (503, 429 with
``Retry-After``) instead.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from spine_servicenow import ServiceNowChannel

from spine_host.structuring import structure

USERNAME = "spine.integration"
PASSWORD = "Pa55-w0rd-n0t-for-eyes"
TOKEN = "oauth-T0KEN-n0t-for-eyes"

TABLE = "/api/now/table/incident"
INACTIVE_STATES = {"6", "7", "8"}  # resolved, closed, canceled


class ServiceNowInstance:
    """The incident table, the requests that reached it, and scripted failures."""

    username = USERNAME
    password = PASSWORD
    token = TOKEN

    def __init__(self) -> None:
        self.incidents: list[dict[str, Any]] = []
        self.bodies: list[str] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,))
        self._thread.daemon = True
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the ``instance_url``."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def texts(self) -> list[str]:
        """The JSON bodies of every POST and PATCH, as text, in arrival order."""
        with self._lock:
            return list(self.bodies)

    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (and ``headers``)."""
        with self._lock:
            self._failures += [(status, headers or {})] * times

    def incident(self, number: str) -> dict[str, Any]:
        """The incident numbered ``number``."""
        (found,) = [record for record in self.incidents if record["number"] == number]
        return found

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the Table API -------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.requests.append((method, path, query))
            if method in ("POST", "PATCH"):
                self.bodies.append(body.decode())
            if not _authorized(headers.get("Authorization")):
                return 401, _error("User Not Authenticated", "Required to provide Auth info"), {}
            if self._failures:
                status, extra = self._failures.pop(0)
                return status, _error("Scripted failure", f"HTTP {status}"), extra
            if method == "GET" and path == TABLE:
                return 200, {"result": self._query(query)}, {}
            if method == "POST" and path == TABLE:
                return 201, {"result": self._insert(json.loads(body))}, {}
            if method == "PATCH" and path.startswith(f"{TABLE}/"):
                return self._update(path.rsplit("/", 1)[1], json.loads(body))
            return 400, _error("Invalid table", path), {}

    def _query(self, query: dict[str, str]) -> list[dict[str, Any]]:
        conditions = query.get("sysparm_query", "").split("^")
        found = [record for record in self.incidents if _matches(record, conditions)]
        limit = int(query.get("sysparm_limit", "10000"))
        return [_project(record, query) for record in found[:limit]]

    def _insert(self, fields: dict[str, str]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "sys_id": uuid.uuid4().hex,
            "number": f"INC{10001 + len(self.incidents):07d}",
            "state": "1",
            "active": "true",
            "work_notes": [],
        }
        self._apply(record, fields)
        self.incidents.append(record)
        return _project(record, {"sysparm_fields": "sys_id,number"})

    def _update(
        self, sys_id: str, fields: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        matching = [record for record in self.incidents if record["sys_id"] == sys_id]
        if not matching:
            return 404, _error("No Record found", sys_id), {}
        closing = fields.get("state") == "6"
        if closing and not (fields.get("close_code") and fields.get("close_notes")):
            return 403, _error("Operation Failed", "Data Policy Exception: close code"), {}
        self._apply(matching[0], fields)
        return 200, {"result": _project(matching[0], {"sysparm_fields": "sys_id,number"})}, {}

    def _apply(self, record: dict[str, Any], fields: dict[str, str]) -> None:
        for name, value in fields.items():
            if name == "work_notes":
                record["work_notes"].append(value)
            else:
                record[name] = value
        if record["state"] in INACTIVE_STATES:
            record["active"] = "false"


def _handler_for(instance: ServiceNowInstance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            status, document, extra = instance.answer(
                self.command, parts.path, query, self.headers, body
            )
            payload = json.dumps(document).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


def _authorized(header: str | None) -> bool:
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    return header in (f"Basic {basic}", f"Bearer {TOKEN}")


def _matches(record: dict[str, Any], conditions: list[str]) -> bool:
    for condition in conditions:
        if not condition or condition.startswith("ORDERBY"):
            continue  # incidents are kept in creation order already
        if "!=" in condition:
            name, value = condition.split("!=", 1)
            if str(record.get(name, "")) == value:
                return False
        else:
            name, value = condition.split("=", 1)
            if str(record.get(name, "")) != value:
                return False
    return True


def _project(record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    names = query.get("sysparm_fields")
    if not names:
        return dict(record)
    return {name: record.get(name, "") for name in names.split(",")}


def _error(message: str, detail: str) -> dict[str, Any]:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


@pytest.fixture
def servicenow() -> Iterator[ServiceNowInstance]:
    """A fresh in-memory ServiceNow instance on 127.0.0.1 for one test."""
    instance = ServiceNowInstance()
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def closed_port_url() -> str:
    """An instance URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_channel(servicenow: ServiceNowInstance) -> Callable[..., ServiceNowChannel]:
    """Build a channel on ``servicenow`` from a table, structured as the host does it.

    ``auth="basic"`` (the default) or ``"bearer"`` adds the instance's credentials.
    """

    def build(auth: str = "basic", **table: Any) -> ServiceNowChannel:
        credentials = (
            {"token": TOKEN} if auth == "bearer" else {"username": USERNAME, "password": PASSWORD}
        )
        table = {"instance_url": servicenow.url, **credentials, **table}
        config = structure(table, ServiceNowChannel.Config, "alerts.channels.itsm")
        return ServiceNowChannel("itsm", config)

    return build
