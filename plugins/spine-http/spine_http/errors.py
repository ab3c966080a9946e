"""HTTP failures in the spine error taxonomy: status codes, Retry-After, requests' exceptions.

Nothing here imports requests: its exceptions are recognised by module and class name, so the
plugin's entry module can offer :func:`classify_requests_error` through
``spine_classify_error`` without loading the driver.

Messages never carry a query string's secret values: URLs are shown through :func:`safe_url`.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import MASK, is_secret_key, redact_url

__all__ = [
    "classify_requests_error",
    "error_for_status",
    "parse_retry_after",
    "safe_url",
]


def error_for_status(
    status: int,
    headers: Mapping[str, str],
    *,
    method: str,
    url: str,
    now: datetime | None = None,
) -> SpineError | None:
    """The classified error an HTTP status means, or None for success (2xx, 304).

    401/403 are AUTH (a retry with the same credentials cannot help), 404/410 NOT_FOUND, 408
    TIMEOUT, 429 RATE_LIMIT and 5xx TRANSIENT, both with the server's ``Retry-After`` when it
    sent one; any other status is a SOURCE error.

    Args:
        status: the response status code.
        headers: the response headers (case-insensitive mapping).
        method: the request method, for the message.
        url: the request URL, already made safe with :func:`safe_url`.
        now: the current time, for an HTTP-date ``Retry-After``.
    """
    if 200 <= status < 300 or status == 304:
        return None
    category = _STATUS_CATEGORIES.get(status)
    if category is None:
        category = ErrorCategory.TRANSIENT if status >= 500 else ErrorCategory.SOURCE
    retry_after = None
    if category in (ErrorCategory.RATE_LIMIT, ErrorCategory.TRANSIENT):
        retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
    reason = _STATUS_REASONS.get(category, "failed")
    return SpineError(
        f"{method} {url}: HTTP {status} ({reason})",
        category=category,
        retry_after=retry_after,
        context={"status": status, "url": url, "method": method},
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    None when the value is absent or unreadable; never negative (a date in the past means
    "now").
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
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def classify_requests_error(
    exc: BaseException, *, secrets: Collection[str] = ()
) -> SpineError | None:
    """Map an exception from requests (or its urllib3) to the taxonomy; None for others.

    Timeouts are TIMEOUT; connection failures (refused, reset, DNS) and truncated bodies
    TRANSIENT; a bad URL or header CONFIG; a body that is not JSON PARSE. A TLS failure is
    SOURCE, not retryable: an untrusted or expired certificate does not fix itself, and it is
    no credential problem (AUTH would page people about passwords). Someone must fix the
    server's certificate or point ``ca_bundle`` at the right CA.

    ``secrets`` are masked in the message; query-string values of secret-looking parameters
    are masked always. The original exception is kept as the cause only when its text needed
    no masking, because ``SpineError.to_dict`` records the cause's message and traceback.
    """
    names = _requests_class_names(exc)
    if not names:
        return None
    category = _category_for(names)
    detail = str(exc)
    safe = _scrub(detail, secrets)
    hint = _TLS_HINT if "SSLError" in names else ""
    message = f"{type(exc).__name__}: {safe}{hint}" if safe else f"{type(exc).__name__}{hint}"
    return SpineError(
        message,
        category=category,
        context={"exception": type(exc).__name__},
        cause=exc if safe == detail else None,
    )


def safe_url(url: str, secret_params: Collection[str] = ()) -> str:
    """``url`` fit for messages and metadata: no password, no secret query values.

    Query parameters named in ``secret_params`` or looking like credentials (``token``,
    ``api_key``...) keep their name and lose their value.
    """
    parts = urlsplit(redact_url(url))
    if not parts.query:
        return urlunsplit(parts)
    hidden = {name.lower() for name in secret_params}
    query = [
        (name, MASK if name.lower() in hidden or is_secret_key(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


# -- helpers ---------------------------------------------------------------------------------

_STATUS_CATEGORIES: dict[int, ErrorCategory] = {
    401: ErrorCategory.AUTH,
    403: ErrorCategory.AUTH,
    404: ErrorCategory.NOT_FOUND,
    410: ErrorCategory.NOT_FOUND,
    408: ErrorCategory.TIMEOUT,
    429: ErrorCategory.RATE_LIMIT,
}

_STATUS_REASONS: dict[ErrorCategory, str] = {
    ErrorCategory.AUTH: "credentials refused",
    ErrorCategory.NOT_FOUND: "not found",
    ErrorCategory.TIMEOUT: "server timed out",
    ErrorCategory.RATE_LIMIT: "rate limited",
    ErrorCategory.TRANSIENT: "server error",
}

_TLS_HINT = " (TLS verification failed: fix the server's certificate or set ca_bundle)"

# Checked in order: ConnectTimeout is both a Timeout and a ConnectionError, SSLError is a
# ConnectionError too.
_CATEGORY_BY_CLASS: tuple[tuple[str, ErrorCategory], ...] = (
    ("Timeout", ErrorCategory.TIMEOUT),
    ("TimeoutError", ErrorCategory.TIMEOUT),
    ("SSLError", ErrorCategory.SOURCE),
    ("JSONDecodeError", ErrorCategory.PARSE),
    ("InvalidURL", ErrorCategory.CONFIG),
    ("MissingSchema", ErrorCategory.CONFIG),
    ("InvalidSchema", ErrorCategory.CONFIG),
    ("InvalidHeader", ErrorCategory.CONFIG),
    ("ConnectionError", ErrorCategory.TRANSIENT),
    ("ChunkedEncodingError", ErrorCategory.TRANSIENT),
    ("ContentDecodingError", ErrorCategory.TRANSIENT),
    ("ProtocolError", ErrorCategory.TRANSIENT),
    ("NewConnectionError", ErrorCategory.TRANSIENT),
)

_DRIVER_MODULES = ("requests", "urllib3")


def _requests_class_names(exc: BaseException) -> set[str]:
    """Names of the classes in ``exc``'s MRO that come from requests or urllib3."""
    names = set()
    for cls in type(exc).__mro__:
        module = cls.__module__.split(".", 1)[0]
        if module in _DRIVER_MODULES:
            names.add(cls.__name__)
    return names


def _category_for(names: set[str]) -> ErrorCategory:
    for name, category in _CATEGORY_BY_CLASS:
        if name in names:
            return category
    return ErrorCategory.SOURCE


# A query-string value: from "name=" up to the next separator, quote or space.
_QUERY_VALUE = re.compile(r"(?P<name>[?&][^=&\s'\"]+)=(?P<value>[^&\s'\"()]*)")


def _scrub(text: str, secrets: Collection[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)

    def mask(match: re.Match[str]) -> str:
        name = match["name"]
        return f"{name}={MASK}" if is_secret_key(name[1:]) else match[0]

    return redact_url(_QUERY_VALUE.sub(mask, text))
