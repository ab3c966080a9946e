"""What every request passes before a page sees it: security headers, the Host check, the
token, and the read-only rule.

- Every response carries a Content-Security-Policy without inline script (the one script is
  ``/static/spine-web.js``), ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``,
  ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``.
- On a loopback address the ``Host`` header must name a loopback host (a page elsewhere cannot
  reach the dashboard by rebinding its DNS name to 127.0.0.1).
- With a token, a request without it (``Authorization: Bearer``, or the cookie ``/login``
  sets) is refused 401 with the sign-in form; ``/login`` and ``/static`` are open.
- Without ``--allow-actions`` every request other than GET or HEAD is refused 403, sign-in
  excepted. CSRF is checked by the action routes, which read the form (:mod:`spine_web.csrf`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from spine_web.rendering import Pages
from spine_web.settings import LOOPBACK_HOSTS, WebSettings

__all__ = ["SECURITY_HEADERS", "SESSION_COOKIE", "Guard"]

#: The cookie ``/login`` sets: a value derived from the token (see ``WebSettings``).
SESSION_COOKIE = "spine_web_session"

#: Headers added to every response.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
}

_OPEN_PATHS = ("/login", "/static/")
_READING = frozenset({"GET", "HEAD"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Guard:
    """ASGI middleware in front of the dashboard's routes.

    Args:
        app: the routes.
        settings: the server's options (token, actions, address).
        pages: renders the sign-in form for a refused request.
    """

    def __init__(self, app: App, settings: WebSettings, pages: Pages) -> None:
        self.app = app
        self.settings = settings
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, or refuse it; add the security headers either way."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        """The response refusing ``request``, or None when it may go on."""
        if self.settings.loopback and not _loopback_host(request.headers.get("host", "")):
            return PlainTextResponse("unexpected Host header", status_code=400)
        path = request.url.path
        open_path = path == "/login" or path.startswith("/static/")
        if not open_path and not self.settings.accepts(
            _bearer(request), request.cookies.get(SESSION_COOKIE)
        ):
            return self.pages.render(
                request,
                "login.html",
                {
                    "title": "Sign in",
                    "failed": False,
                    "next_path": path if request.method in _READING else "/",
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="spine-web"'},
            )
        if request.method not in _READING and path != "/login" and not self.settings.allow_actions:
            return self.pages.render(
                request,
                "message.html",
                {
                    "title": "Read-only",
                    "message": "This dashboard was started without --allow-actions: "
                    "it shows, it does not act.",
                },
                status_code=403,
            )
        return None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _loopback_host(header: str) -> bool:
    """Whether a ``Host`` header names 127.0.0.1, localhost or [::1] (any port)."""
    if header.startswith("["):
        name = header[1 : header.find("]")] if "]" in header else header
    else:
        name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.lower() in LOOPBACK_HOSTS


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            for name, value in SECURITY_HEADERS.items():
                if name.encode() not in present:
                    headers.append((name.encode(), value.encode()))
            message["headers"] = headers
        await send(message)

    return sending
