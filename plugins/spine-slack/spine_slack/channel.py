"""The ``slack`` alert channel: an incoming webhook, or ``chat.postMessage`` with a bot token.

Guarantees:

- ``send`` makes one HTTP request and never raises for a delivery failure: it returns a FAILED
  result whose ``SpineError`` says whether another attempt can help (``retryable``) and, on a
  429, how long Slack asked to wait (``retry_after``). The alert router retries; the channel
  never sleeps or retries itself.
- The Web API answers HTTP 200 with ``{"ok": false, "error": ...}`` when it refuses a message;
  that is a FAILED result naming Slack's error code, not a success.
- The webhook URL and the token never appear in a result, an error, a repr or a log: messages
  name the endpoint as ``scheme://host[:port]`` and requests' exception text is never quoted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.errors import ErrorCategory, SpineError
from spine_slack.errors import error_for_exception, error_for_slack_code, error_for_status
from spine_slack.message import alert_message

if TYPE_CHECKING:
    from requests import Response

__all__ = ["SlackChannel"]


class SlackChannel:
    """Posts alerts to Slack as Block Kit messages (see :func:`spine_slack.message.alert_message`).

    Args:
        name: the ``[alerts.channels.NAME]`` name.
        config: the structured table.
    """

    @attrs.frozen(kw_only=True)
    class Config:
        """``[alerts.channels.NAME]`` with ``type = "slack"``: set ``webhook_url`` or ``token``.

        Args:
            webhook_url: an incoming webhook's URL (a secret: keep it in ``${ENV}``).
            token: a bot token (``xoxb-...``, a secret) for ``chat.postMessage``.
            channel: where the token posts (``#ops`` or a channel id); required with ``token``.
            api_url: the Web API's base URL.
            timeout: seconds for connecting and for the answer.
            verify: verify TLS certificates.
            ca_bundle: a CA bundle file to verify against.
            username: the name shown as the sender (the token needs chat:write.customize).
            icon_emoji: the sender's icon, such as ``:rotating_light:``.
        """

        webhook_url: str | None = attrs.field(default=None, repr=False)
        token: str | None = attrs.field(default=None, repr=False)
        channel: str | None = None
        api_url: str = attrs.field(default="https://slack.com/api")
        timeout: float = attrs.field(default=10.0)
        verify: bool = True
        ca_bundle: str | None = None
        username: str | None = None
        icon_emoji: str | None = None

        @token.validator
        def _one_way_to_post(self, _: attrs.Attribute[str | None], token: str | None) -> None:
            # Runs after every field is set, so it can weigh webhook_url, token and channel.
            for key, value in (("webhook_url", self.webhook_url), ("token", token)):
                if value is not None and not value.strip():
                    raise ValueError(f"{key} is empty (is its environment variable set?)")
            if self.webhook_url is None and token is None:
                raise ValueError(
                    "set webhook_url (an incoming webhook) or token and channel (the Web API)"
                )
            if self.webhook_url is not None and token is not None:
                raise ValueError(
                    "webhook_url and token are both set; keep one: webhook_url for an incoming "
                    "webhook, or token and channel for the Web API"
                )
            if token is not None and not (self.channel or "").strip():
                raise ValueError('channel is required with token (channel = "#ops")')
            if self.webhook_url is not None and self.channel is not None:
                raise ValueError(
                    "channel goes with token only: an incoming webhook posts to the channel it "
                    "was created for"
                )
            if self.webhook_url is not None and not _is_http_url(self.webhook_url):
                # The value is a secret, so the message does not show it.
                raise ValueError("webhook_url must be a URL (https://hooks.slack.com/services/...)")

        @api_url.validator
        def _http_api_url(self, _: attrs.Attribute[str], api_url: str) -> None:
            if not _is_http_url(api_url):
                raise ValueError("'api_url' must be an http(s) URL (https://slack.com/api)")

        @timeout.validator
        def _positive_timeout(self, _: attrs.Attribute[float], timeout: float) -> None:
            if not timeout > 0:
                raise ValueError("'timeout' must be a positive number of seconds")

    def __init__(self, name: str, config: Config) -> None:
        self.name = name
        self.config = config

    def __repr__(self) -> str:
        way = "incoming webhook" if self.config.webhook_url is not None else self.config.channel
        return f"SlackChannel({self.name!r}, {way})"

    def send(self, alert: Alert) -> DeliveryResult:
        """Post one alert; a failure is a FAILED result with the classified error."""
        import requests

        url, headers, target = self._request()
        verify: bool | str = self.config.verify
        if self.config.verify and self.config.ca_bundle:
            verify = self.config.ca_bundle
        try:
            response = requests.post(
                url,
                data=json.dumps(self._body(alert)).encode(),
                headers=headers,
                timeout=self.config.timeout,
                verify=verify,
            )
        except requests.RequestException as exc:
            return self._failed(error_for_exception(exc, target=target))
        if not 200 <= response.status_code < 300:
            code = _error_code(response)
            return self._failed(
                error_for_status(
                    response.status_code, response.headers, target=target, slack_error=code
                )
            )
        if self.config.webhook_url is not None:
            return self._sent(response, external_ref=None)
        return self._web_api_answer(response, target)

    # -- helpers -------------------------------------------------------------------------------

    def _request(self) -> tuple[str, dict[str, str], str]:
        """The URL, the headers, and how messages name the endpoint (no secret in it)."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.config.webhook_url is not None:
            return (
                self.config.webhook_url,
                headers,
                f"Slack webhook {_origin(self.config.webhook_url)}",
            )
        url = f"{self.config.api_url.rstrip('/')}/chat.postMessage"
        headers["Authorization"] = f"Bearer {self.config.token}"
        return url, headers, f"Slack chat.postMessage {_origin(url)}"

    def _body(self, alert: Alert) -> dict[str, Any]:
        extras = {
            "channel": self.config.channel,
            "username": self.config.username,
            "icon_emoji": self.config.icon_emoji,
        }
        return {**alert_message(alert), **{key: value for key, value in extras.items() if value}}

    def _web_api_answer(self, response: Response, target: str) -> DeliveryResult:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "ok" not in answer:
            # Not retried: Slack may have posted the message before the answer went wrong.
            return self._failed(
                SpineError(
                    f"{target}: HTTP {response.status_code} without Slack's JSON answer",
                    category=ErrorCategory.PARSE,
                    retryable=False,
                    context={"endpoint": target, "status": response.status_code},
                )
            )
        if answer["ok"] is not True:
            code = answer.get("error")
            return self._failed(error_for_slack_code(str(code), response.headers, target=target))
        ts = answer.get("ts")
        return self._sent(response, external_ref=ts if isinstance(ts, str) else None)

    def _sent(self, response: Response, *, external_ref: str | None) -> DeliveryResult:
        return DeliveryResult(
            channel=self.name,
            status=DeliveryStatus.SENT,
            detail=f"HTTP {response.status_code}",
            external_ref=external_ref,
        )

    def _failed(self, error: SpineError) -> DeliveryResult:
        return DeliveryResult(
            channel=self.name, status=DeliveryStatus.FAILED, detail=error.message, error=error
        )


def _error_code(response: Response) -> str | None:
    """Slack's error code from a failed answer: the webhook's text, or the Web API's JSON."""
    try:
        answer = response.json()
    except ValueError:
        return response.text[:100]
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return str(answer["error"])
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname)
