"""What the slack channel reports for each answer Slack can give: one attempt, classified.

The router retries on ``retryable`` and waits ``retry_after``; these tests hold the channel to
reporting both right, and to making exactly one request per ``send``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from spine_slack import SlackChannel

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.errors import ErrorCategory

ALERT = Alert(
    severity="ERROR",
    title="workflow otc.weekly_refresh FAILED",
    message="step load failed: [TRANSIENT] connection reset by peer",
    source="workflow:otc.weekly_refresh",
    domain="otc",
    run_id="run-42",
    error_category="TRANSIENT",
)


def webhook(slack: Any, **options: Any) -> SlackChannel:
    return SlackChannel("ops", SlackChannel.Config(webhook_url=slack.webhook_url, **options))


def web_api(slack: Any, **options: Any) -> SlackChannel:
    table = {"token": slack.token, "channel": "#ops", "api_url": slack.api_url, **options}
    return SlackChannel("ops", SlackChannel.Config(**table))


def shown(result: DeliveryResult) -> str:
    """Everything a result lets a person or a log see."""
    error = json.dumps(result.error.to_dict()) if result.error is not None else ""
    return f"{result!r} {result.detail} {error}"


@pytest.fixture(params=["webhook", "web_api"])
def channel(request: pytest.FixtureRequest, slack: Any) -> SlackChannel:
    """The channel in each mode, posting to the local Slack."""
    build = webhook if request.param == "webhook" else web_api
    return build(slack)


# -- what goes over the wire -----------------------------------------------------------------


def test_a_webhook_delivery_posts_json_and_is_sent(slack: Any) -> None:
    result = webhook(slack).send(ALERT)

    assert (result.status, result.detail, result.external_ref) == (
        DeliveryStatus.SENT,
        "HTTP 200",
        None,
    )
    (arrived,) = slack.arrived
    assert arrived.headers["Content-Type"].startswith("application/json")
    assert "Authorization" not in arrived.headers
    assert arrived.json()["text"] == "[ERROR] workflow otc.weekly_refresh FAILED"


def test_a_web_api_delivery_sends_the_token_and_channel_and_keeps_the_ts(slack: Any) -> None:
    channel = web_api(slack, username="spine", icon_emoji=":rotating_light:")

    result = channel.send(ALERT)

    assert result.status is DeliveryStatus.SENT
    assert result.detail == "HTTP 200"
    assert result.external_ref == "1767322800.000001"
    (arrived,) = slack.arrived
    assert arrived.path == "/api/chat.postMessage"
    assert arrived.headers["Authorization"] == f"Bearer {slack.token}"
    body = arrived.json()
    assert (body["channel"], body["username"], body["icon_emoji"]) == (
        "#ops",
        "spine",
        ":rotating_light:",
    )


# -- rate limits and server errors: retryable, one attempt -----------------------------------


def test_a_429_is_a_retryable_failure_with_slacks_retry_after(
    slack: Any, channel: SlackChannel
) -> None:
    slack.answer_next(429, "rate_limited", {"Retry-After": "1"})

    limited = channel.send(ALERT)

    assert limited.status is DeliveryStatus.FAILED
    assert limited.error.category is ErrorCategory.RATE_LIMIT
    assert limited.error.retryable is True
    assert limited.error.retry_after == 1.0
    assert len(slack.arrived) == 1, "the channel must not retry by itself"
    assert channel.send(ALERT).status is DeliveryStatus.SENT


def test_a_server_error_is_transient_and_retryable(slack: Any, channel: SlackChannel) -> None:
    slack.answer_next(503, "<html>upstream unavailable</html>")

    result = channel.send(ALERT)

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.TRANSIENT
    assert result.error.retryable is True
    assert result.error.retry_after is None
    assert "HTTP 503" in result.detail
    assert "<html>" not in result.detail, "only Slack's error codes are quoted"


def test_a_timeout_is_retryable(slack: Any) -> None:
    slack.answer_next(200, "ok", delay=1.0)

    result = webhook(slack, timeout=0.2).send(ALERT)

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.TIMEOUT
    assert result.error.retryable is True
    assert "hook-secret" not in shown(result)


def test_a_refused_connection_is_transient_and_names_only_the_host(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/services/T0/B0/hook-secret-4f9a2c"
    channel = SlackChannel("ops", SlackChannel.Config(webhook_url=url, timeout=2.0))

    result = channel.send(ALERT)

    assert result.error.category is ErrorCategory.TRANSIENT
    assert result.error.retryable is True
    assert result.detail == f"Slack webhook http://127.0.0.1:{closed_port}: ConnectionError"
    assert "hook-secret" not in shown(result)


# -- the incoming webhook's refusals: a person must act ---------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "category"),
    [
        (400, "invalid_payload", ErrorCategory.VALIDATION),
        (403, "invalid_token", ErrorCategory.AUTH),
        (404, "no_service", ErrorCategory.CONFIG),
        (404, "channel_not_found", ErrorCategory.CONFIG),
        (410, "channel_is_archived", ErrorCategory.CONFIG),
    ],
)
def test_a_refused_webhook_is_not_retryable_and_names_slacks_code(
    slack: Any, status: int, code: str, category: ErrorCategory
) -> None:
    slack.answer_next(status, code)

    result = webhook(slack).send(ALERT)

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (category, False)
    assert f"HTTP {status} {code}" in result.detail
    assert result.error.context["slack_error"] == code
    assert "hook-secret" not in shown(result)


# -- the Web API's {"ok": false} answers ------------------------------------------------------


def test_an_unknown_channel_is_a_failure_naming_slacks_code(slack: Any) -> None:
    result = web_api(slack, channel="#nowhere").send(ALERT)

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.CONFIG
    assert result.error.retryable is False
    assert "channel_not_found" in result.error.message
    assert result.error.context["slack_error"] == "channel_not_found"
    assert result.external_ref is None


def test_a_wrong_token_is_an_auth_failure_that_does_not_show_it(slack: Any) -> None:
    result = web_api(slack, token="xoxb-wrong-token-value").send(ALERT)

    assert result.error.category is ErrorCategory.AUTH
    assert result.error.retryable is False
    assert "invalid_auth" in result.detail
    assert "xoxb-wrong-token-value" not in shown(result)


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("ratelimited", ErrorCategory.RATE_LIMIT),
        ("internal_error", ErrorCategory.TRANSIENT),
        ("service_unavailable", ErrorCategory.TRANSIENT),
    ],
)
def test_slacks_passing_troubles_are_retryable(
    slack: Any, code: str, category: ErrorCategory
) -> None:
    slack.answer_next(200, {"ok": False, "error": code}, {"Retry-After": "3"})

    result = web_api(slack).send(ALERT)

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (category, True)
    assert result.error.retry_after == 3.0


def test_an_answer_that_is_not_slacks_json_is_a_failure_not_retried(slack: Any) -> None:
    # The message may have been posted: a retry could post it twice.
    slack.answer_next(200, "<html>proxy login</html>")

    result = web_api(slack).send(ALERT)

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.PARSE, False)


def test_an_error_code_that_is_not_a_code_is_not_quoted(slack: Any) -> None:
    slack.answer_next(200, {"ok": False, "error": "see https://x.example/?t=abc"})

    result = web_api(slack).send(ALERT)

    assert result.error.retryable is False
    assert "x.example" not in shown(result)
    assert "unknown_error" in result.detail
