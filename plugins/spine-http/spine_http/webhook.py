"""The ``webhook`` alert channel: each alert POSTed as JSON to a URL.

A 2xx answer is SENT; anything else (a status, a timeout, a refused connection) is a FAILED
delivery carrying the classified error, never an exception, so the alert router can retry
transient failures. Webhook URLs often carry their token in the path, so messages show only the
scheme and host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.errors import SpineError, classify
from spine_http.errors import classify_requests_error, error_for_status

__all__ = ["WebhookChannel", "alert_payload", "signature"]


class WebhookChannel:
    """POSTs alerts as JSON (see :func:`alert_payload`) to ``url``.

    Args:
        name: the ``[alerts.channels.NAME]`` name.
        config: the structured table.
    """

    @attrs.frozen(kw_only=True)
    class Config:
        """``[alerts.channels.NAME]`` with ``type = "webhook"``.

        Args:
            url: where to POST (a secret: keep it in ``${ENV}``).
            headers: extra request headers (an ``Authorization`` header, say).
            timeout: seconds for connecting and for the answer.
            verify: verify TLS certificates.
            ca_bundle: a CA bundle file to verify against.
            signing_secret: when set, each request carries ``signature_header`` =
                ``sha256=<hex HMAC-SHA256 of the body with this secret>``, so the receiver can
                check the alert came from spine (a secret: keep it in ``${ENV}``).
            signature_header: the header that carries the signature.
        """

        url: str = attrs.field(repr=False)
        headers: dict[str, str] = attrs.field(factory=dict, repr=False)
        signing_secret: str | None = attrs.field(default=None, repr=False)
        signature_header: str = "X-Spine-Signature"
        timeout: float = 10.0
        verify: bool = True
        ca_bundle: str | None = None

    def __init__(self, name: str, config: Config) -> None:
        self.name = name
        self.config = config

    def send(self, alert: Alert) -> DeliveryResult:
        """Deliver one alert; a failure is a FAILED result with the classified error."""
        import requests

        target = _endpoint(self.config.url)
        secrets = [self.config.url, *self.config.headers.values()]
        if self.config.signing_secret:
            secrets.append(self.config.signing_secret)
        verify: bool | str = self.config.verify
        if self.config.verify and self.config.ca_bundle:
            verify = self.config.ca_bundle
        body = json.dumps(alert_payload(alert), default=str).encode("utf-8")
        headers = {"Content-Type": "application/json", **self.config.headers}
        if self.config.signing_secret:
            headers[self.config.signature_header] = signature(self.config.signing_secret, body)
        try:
            response = requests.post(
                self.config.url,
                data=body,
                headers=headers,
                timeout=self.config.timeout,
                verify=verify,
            )
        except requests.RequestException as exc:
            # Only the exception's type: requests' messages hold the full (secret) URL.
            found = classify_requests_error(exc, secrets=secrets) or classify(exc)
            return self._failed(
                SpineError(
                    f"POST {target}: {type(exc).__name__}",
                    category=found.category,
                    retryable=found.retryable,
                    context={"exception": type(exc).__name__},
                )
            )
        error = error_for_status(response.status_code, response.headers, method="POST", url=target)
        if error is None and response.status_code < 300:
            return DeliveryResult(
                channel=self.name, status=DeliveryStatus.SENT, detail=f"HTTP {response.status_code}"
            )
        return self._failed(error or SpineError(f"POST {target}: HTTP {response.status_code}"))

    def _failed(self, error: SpineError) -> DeliveryResult:
        return DeliveryResult(
            channel=self.name, status=DeliveryStatus.FAILED, detail=error.message, error=error
        )


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` keyed with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The JSON document a webhook receives for ``alert``."""
    return {
        "alert_id": alert.alert_id,
        "severity": alert.severity.name,
        "title": alert.title,
        "message": alert.message,
        "source": alert.source,
        "domain": alert.domain,
        "run_id": alert.run_id,
        "error_category": alert.error_category,
        "dedup_key": alert.dedup_key,
        "recovery": alert.recovery,
        "suppressed": alert.suppressed,
        "digest": alert.digest,
        "look_further": alert.look_further,
        "created_at": alert.created_at.isoformat(),
        "metadata": dict(alert.metadata),
    }


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
