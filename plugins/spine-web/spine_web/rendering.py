"""Pages as HTML: Jinja2 templates with autoescape on, every printed string masked.

Autoescape covers every template, SVG included, so a value is always text, never markup. The
environment's ``finalize`` passes every printed value through the host's redactor (``${ENV}``
values, credential keys' values, URL passwords): a secret that reached the database through an
error message or a log line is still shown as ``***``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from spine_host.redaction import Redactor
from spine_web import display
from spine_web.settings import WebSettings

__all__ = ["CSRF_COOKIE", "Pages"]

#: The cookie holding this browser's CSRF token (double submit: forms carry it too).
CSRF_COOKIE = "spine_web_csrf"

_NAVIGATION = (
    ("runs", "/runs", "Runs"),
    ("schedules", "/schedules", "Schedules"),
    ("alerts", "/alerts", "Alerts"),
    ("rejects", "/rejects", "Rejects"),
    ("quality", "/quality", "Quality"),
    ("plugins", "/plugins", "Plugins"),
    ("actions", "/actions", "Actions"),
)


class Pages:
    """Renders the templates of ``spine_web/templates`` for one server.

    Args:
        settings: the server's options (shown in the page frame: actions on or off).
        redactor: masks secrets in every printed value.
    """

    def __init__(self, settings: WebSettings, redactor: Redactor) -> None:
        self.settings = settings
        self.redactor = redactor
        self.environment = jinja2.Environment(
            loader=jinja2.PackageLoader("spine_web", "templates"),
            autoescape=True,
            finalize=self._masked,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals.update(
            status_class=display.status_class,
            short_id=display.short_id,
            format_time=display.format_time,
            format_duration=display.format_duration,
            duration_between=display.duration_between,
            format_value=display.format_value,
            pretty=display.pretty,
            iso=display.iso,
            navigation=_NAVIGATION,
        )

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        section: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The template as an HTML response, with this browser's CSRF token in forms."""
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        values = {
            "settings": self.settings,
            "allow_actions": self.settings.allow_actions,
            "csrf_token": csrf,
            "section": section,
            "refresh_seconds": None,
            **(context or {}),
        }
        html = self.environment.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
        if request.cookies.get(CSRF_COOKIE) != csrf:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return response

    def _masked(self, value: Any) -> Any:
        """Every printed value, secrets masked (markup is masked as text, then kept markup)."""
        if isinstance(value, Markup):
            return Markup(self.redactor.redact(str(value)))
        if isinstance(value, str):
            return self.redactor.redact(value)
        if value is None:
            return "-"
        return value
