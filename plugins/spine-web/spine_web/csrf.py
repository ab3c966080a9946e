"""CSRF protection of the action forms: the double-submit cookie.

Each browser gets a random token in the ``spine_web_csrf`` cookie (HttpOnly, SameSite=Strict;
see :class:`~spine_web.rendering.Pages`); every form carries the same token in a hidden field,
and a POST is accepted only when the two match. A page on another site can make the browser
send the cookie (not even that, with SameSite=Strict) but cannot read it to fill the field.
A POST whose ``Origin`` names another site is refused as well.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from starlette.requests import Request

from spine_web.rendering import CSRF_COOKIE

__all__ = ["csrf_problem"]


def csrf_problem(request: Request, form: Mapping[str, str]) -> str | None:
    """Why this POST is not to be trusted, or None when its CSRF token and origin check out."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = form.get("csrf", "")
    if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
        return "the form's CSRF token does not match this browser's: reload the page and retry"
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin != expected:
            return f"the form was posted from {origin}, not from this dashboard"
    return None
