"""Slack's failures in the spine error taxonomy: HTTP statuses, Web API error codes, exceptions.

Whether a failure is retryable is decided here; the alert router does the retrying. Slack asks
for a pause with ``Retry-After`` (seconds) on HTTP 429, which becomes ``retry_after``.

Messages name the endpoint only as ``scheme://host[:port]`` and never quote requests' exception
text, which holds the full URL (an incoming webhook's URL is its credential). Slack's own error
codes (``channel_not_found``) are quoted: they are short fixed words, checked to be so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from spine_host.errors import ErrorCategory, SpineError

__all__ = ["error_for_exception", "error_for_slack_code", "error_for_status", "retry_after"]


def error_for_status(
    status: int, headers: Mapping[str, str], *, target: str, slack_error: str | None = None
) -> SpineError:
    """The classified error for a non-2xx answer from ``target``.

    429 is RATE_LIMIT and 5xx TRANSIENT, both retryable and carrying ``Retry-After``; 408 is
    TIMEOUT; 401/403 AUTH; 400 VALIDATION (Slack refused the message itself); any other 4xx
    CONFIG (a revoked webhook, an archived channel: a person must change something).

    Args:
        status: the HTTP status.
        headers: the response headers (case-insensitive mapping).
        target: where the request went, already safe to show.
        slack_error: the error code Slack put in the body, if it sent one.
    """
    category = _STATUS_CATEGORIES.get(status)
    if category is None:
        category = ErrorCategory.TRANSIENT if status >= 500 else ErrorCategory.CONFIG
    code = _safe_code(slack_error)
    return SpineError(
        f"{target}: HTTP {status}{f' {code}' if code else ''}",
        category=category,
        retry_after=retry_after(headers) if category.retryable else None,
        context=_context(target, status=status, slack_error=code),
    )


def error_for_slack_code(code: str, headers: Mapping[str, str], *, target: str) -> SpineError:
    """The classified error for a Web API answer ``{"ok": false, "error": code}``.

    ``ratelimited`` is RATE_LIMIT, ``internal_error`` and ``service_unavailable`` TRANSIENT, all
    retryable; token problems are AUTH; a refused message VALIDATION; anything else CONFIG,
    not retryable (``channel_not_found``, ``not_in_channel``: a person must act).
    """
    safe = _safe_code(code) or "unknown_error"
    category = _CODE_CATEGORIES.get(safe, ErrorCategory.CONFIG)
    return SpineError(
        f"{target}: Slack answered {safe}{_CODE_HINTS.get(safe, '')}",
        category=category,
        retry_after=retry_after(headers) if category.retryable else None,
        context=_context(target, status=200, slack_error=safe),
    )


def error_for_exception(exc: BaseException, *, target: str) -> SpineError:
    """The classified error for an exception raised by requests while reaching ``target``.

    Timeouts are TIMEOUT and refused or reset connections TRANSIENT (both retryable); a TLS
    failure is CONFIG (a certificate does not fix itself: fix it or set ``ca_bundle``); a bad
    URL CONFIG. Only the exception's type name is shown, and it is not kept as the cause,
    because ``SpineError.to_dict`` would record its text (the secret URL).
    """
    from requests import exceptions

    name = type(exc).__name__
    category = ErrorCategory.TRANSIENT
    if isinstance(exc, exceptions.Timeout):
        category = ErrorCategory.TIMEOUT
    # SSLError is a ConnectionError too, so it is told apart before the TRANSIENT default.
    elif isinstance(
        exc,
        exceptions.SSLError
        | exceptions.InvalidURL
        | exceptions.MissingSchema
        | exceptions.InvalidSchema,
    ):
        category = ErrorCategory.CONFIG
    return SpineError(
        f"{target}: {name}", category=category, context=_context(target, exception=name)
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After: N`` header; None when absent or not a number of seconds.

    Slack sends whole seconds; an HTTP date is not expected from it and is ignored.
    """
    value = headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


# -- helpers ---------------------------------------------------------------------------------

_STATUS_CATEGORIES: dict[int, ErrorCategory] = {
    400: ErrorCategory.VALIDATION,
    401: ErrorCategory.AUTH,
    403: ErrorCategory.AUTH,
    408: ErrorCategory.TIMEOUT,
    429: ErrorCategory.RATE_LIMIT,
}

_AUTH_CODES = (
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "ekm_access_denied",
)
_VALIDATION_CODES = (
    "invalid_blocks",
    "invalid_attachments",
    "too_many_attachments",
    "msg_too_long",
    "msg_blocks_too_long",
    "no_text",
    "invalid_arguments",
    "invalid_json",
    "json_not_object",
    "invalid_form_data",
)
_CODE_CATEGORIES: dict[str, ErrorCategory] = {
    "ratelimited": ErrorCategory.RATE_LIMIT,
    "internal_error": ErrorCategory.TRANSIENT,
    "service_unavailable": ErrorCategory.TRANSIENT,
    **dict.fromkeys(_AUTH_CODES, ErrorCategory.AUTH),
    **dict.fromkeys(_VALIDATION_CODES, ErrorCategory.VALIDATION),
}

_CODE_HINTS: dict[str, str] = {
    "channel_not_found": " (check `channel`; a private channel must invite the app)",
    "not_in_channel": " (invite the app to the channel, or give it chat:write.public)",
    "missing_scope": " (the token needs the chat:write scope)",
    "invalid_auth": " (check `token`)",
}

# Slack's codes are lower-case words joined by underscores.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _safe_code(code: str | None) -> str | None:
    """``code`` when it looks like a Slack error code; None for anything else (an HTML page)."""
    if code is None:
        return None
    code = code.strip()
    return code if _CODE.fullmatch(code) else None


def _context(target: str, **facts: Any) -> dict[str, Any]:
    return {"endpoint": target, **{key: value for key, value in facts.items() if value is not None}}
