"""Signing in with the token: ``/login`` shows a form; posting the right token sets a cookie.

The cookie holds a value derived from the token (never the token), is HttpOnly and
SameSite=Strict, and lasts the browser session. Scripts send ``Authorization: Bearer TOKEN``
instead and need no cookie.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spine_web.context import web_context
from spine_web.guard import SESSION_COOKIE

__all__ = ["login_form", "login_submit", "logout"]


def login_form(request: Request) -> Response:
    """``GET /login``: the sign-in form."""
    web = web_context(request)
    return web.pages.render(
        request,
        "login.html",
        {"title": "Sign in", "failed": False, "next_path": _next(request.query_params.get("next"))},
    )


async def login_submit(request: Request) -> Response:
    """``POST /login``: the right token sets the session cookie; a wrong one is a 401."""
    web = web_context(request)
    body = await request.body()
    fields = parse_qs(body[:8192].decode("utf-8", errors="replace"))
    token = (fields.get("token") or [""])[0].strip()
    target = _next((fields.get("next") or ["/"])[0])
    if web.settings.token is None:
        return RedirectResponse(target, status_code=303)
    if not web.settings.accepts(token, None):
        return web.pages.render(
            request,
            "login.html",
            {"title": "Sign in", "failed": True, "next_path": target},
            status_code=401,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, web.settings.session_value(), httponly=True, samesite="strict", path="/"
    )
    return response


def logout(request: Request) -> Response:
    """``GET /logout``: forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _next(path: str | None) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/runs"
    return path
