"""spine-http: the ``http`` source for spine-host (and a ``webhook`` alert channel).

Auth (bearer, basic, API key, OAuth2 client credentials), pagination (offset, page number,
cursor, ``Link`` header), retries honouring ``Retry-After``, a rate limit, ETag change detection.

This entry module imports only the standard library and spine_host: the source and the channel
are registered lazily (their modules load when a configured source or channel is built) and
requests is imported when the first request is sent, so every ``spine`` command starts fast
with the plugin installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from spine_host import hookimpl

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.errors import SpineError
    from spine_host.registry import Register
    from spine_host.sources.source import Source
    from spine_http.source import HttpSource
    from spine_http.webhook import WebhookChannel

__all__ = [
    "HttpSource",
    "WebhookChannel",
    "spine_classify_error",
    "spine_register_alert_channels",
    "spine_register_sources",
]

_EXPORTS = {"HttpSource": "spine_http.source", "WebhookChannel": "spine_http.webhook"}


def __getattr__(name: str) -> Any:
    """``HttpSource`` and ``WebhookChannel``, imported from their modules on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


@hookimpl
def spine_register_sources(register: Register[type[Source]]) -> None:
    """Provide the ``http`` source type."""
    register.lazy("http", "spine_http.source:HttpSource")


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``webhook`` alert channel."""
    register.lazy("webhook", "spine_http.webhook:WebhookChannel")


@hookimpl
def spine_classify_error(exc: BaseException) -> SpineError | None:
    """Classify exceptions from requests (recognised by module, without importing it).

    Timeouts are TIMEOUT, connection failures TRANSIENT, TLS failures SOURCE (see
    :func:`spine_http.errors.classify_requests_error`); anything else is left to others.
    """
    from spine_http.errors import classify_requests_error  # only when something failed

    return classify_requests_error(exc)
