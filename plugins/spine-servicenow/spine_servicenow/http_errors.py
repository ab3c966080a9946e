"""Table API failures in the spine error taxonomy: status codes, Retry-After, requests' exceptions.

- 5xx is TRANSIENT and 429 RATE_LIMIT (both retryable, with the server's ``Retry-After``);
  timeouts (and 408) are TIMEOUT and refused or reset connections TRANSIENT.
- 401 and 403 are AUTH: the same credentials will be refused again.
- 400 is VALIDATION (the instance refused a field value); any other 4xx is CONFIG (a wrong
  ``instance_url``, a missing role or table).

Messages name only the method, ``scheme://host`` and path: requests' own exception text can hold
the full URL, so only the exception's type name is kept. Secret values are masked in anything
the instance says back.
"""

from __future__ import annotations

import email.utils
from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import MASK

__all__ = ["error_for_exception", "error_for_status", "parse_retry_after"]


def error_for_status(
    status: int,
    headers: Mapping[str, str],
    *,
    request: str,
    said: str | None = None,
    secrets: Collection[str] = (),
) -> SpineError:
    """The classified error for a non-2xx answer.

    Args:
        status: the response status code.
        headers: the response headers (case-insensitive mapping).
        request: ``METHOD scheme://host/path``, for the message.
        said: the instance's own error message (``error.message`` of its JSON body), if any.
        secrets: values masked out of ``said``.
    """
    category = _category_for_status(status)
    retry_after = None
    if category.retryable:
        retry_after = parse_retry_after(headers.get("Retry-After"))
    message = f"{request}: HTTP {status} ({_REASONS[category]})"
    if said:
        message += f": {_mask(said, secrets)[:200]}"
    return SpineError(
        message,
        category=category,
        retry_after=retry_after,
        context={"status": status, "request": request},
    )


def error_for_exception(exc: Exception, *, request: str) -> SpineError:
    """The classified error for an exception raised by requests while sending ``request``."""
    import requests

    category = ErrorCategory.SOURCE
    hint = ""
    # Checked in order: ConnectTimeout is a ConnectionError too, and so is SSLError.
    if isinstance(exc, requests.Timeout):
        category = ErrorCategory.TIMEOUT
    elif isinstance(exc, requests.exceptions.SSLError):
        # An untrusted certificate does not fix itself: not retryable, and not AUTH either.
        hint = " (TLS verification failed: fix the certificate or set ca_bundle)"
    elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        category = ErrorCategory.TRANSIENT
    elif isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        category = ErrorCategory.CONFIG
    name = type(exc).__name__
    return SpineError(
        f"{request}: {name}{hint}",
        category=category,
        context={"exception": name, "request": request},
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date).

    None when absent or unreadable; never negative (a date in the past means "now").
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


# -- helpers ---------------------------------------------------------------------------------

_REASONS: dict[ErrorCategory, str] = {
    ErrorCategory.TRANSIENT: "server error",
    ErrorCategory.RATE_LIMIT: "rate limited",
    ErrorCategory.TIMEOUT: "server timed out",
    ErrorCategory.AUTH: "credentials refused",
    ErrorCategory.VALIDATION: "request refused",
    ErrorCategory.CONFIG: "check instance_url and the user's roles",
}


def _category_for_status(status: int) -> ErrorCategory:
    if status >= 500:
        return ErrorCategory.TRANSIENT
    if status == 429:
        return ErrorCategory.RATE_LIMIT
    if status == 408:
        return ErrorCategory.TIMEOUT
    if status in (401, 403):
        return ErrorCategory.AUTH
    if status == 400:
        return ErrorCategory.VALIDATION
    return ErrorCategory.CONFIG


def _mask(text: str, secrets: Collection[str]) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text
