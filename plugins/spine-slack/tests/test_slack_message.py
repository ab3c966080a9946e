"""What a Slack user sees: the Block Kit message that arrives for an alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from spine_slack import SlackChannel

from spine_host.alerts.alert import Alert
from spine_host.severity import Severity

ALERT = Alert(
    severity="ERROR",
    title="workflow otc.weekly_refresh FAILED",
    message="step load failed: [TRANSIENT] connection reset by peer",
    source="workflow:otc.weekly_refresh",
    domain="otc",
    run_id="0123456789abcdef",
    error_category="TRANSIENT",
)


def delivered(slack: Any, alert: Alert) -> dict[str, Any]:
    """The JSON body Slack received for ``alert``."""
    channel = SlackChannel("ops", SlackChannel.Config(webhook_url=slack.webhook_url))
    channel.send(alert)
    body: dict[str, Any] = slack.posted()
    return body


def details(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The blocks inside the coloured attachment."""
    (attachment,) = body["attachments"]
    blocks: list[dict[str, Any]] = attachment["blocks"]
    return blocks


def context_texts(body: dict[str, Any]) -> list[str]:
    return [
        element["text"]
        for block in details(body)
        if block["type"] == "context"
        for element in block["elements"]
    ]


def test_the_header_and_the_notification_text_say_severity_and_title(slack: Any) -> None:
    body = delivered(slack, ALERT)

    assert body["text"] == "[ERROR] workflow otc.weekly_refresh FAILED"
    (header,) = body["blocks"]
    assert header["type"] == "header"
    assert header["text"] == {
        "type": "plain_text",
        "text": "[ERROR] workflow otc.weekly_refresh FAILED",
        "emoji": True,
    }


def test_the_message_and_the_facts_are_in_the_attachment(slack: Any) -> None:
    body = delivered(slack, ALERT)

    message, facts, *_ = details(body)

    assert message["text"]["text"] == ALERT.message
    assert [field["text"] for field in facts["fields"]] == [
        "*Source*\nworkflow:otc.weekly_refresh",
        "*Domain*\notc",
        "*Run*\n0123456789abcdef",
        "*Error category*\nTRANSIENT",
    ]
    assert "More: spine runs show 0123456789abcdef" in context_texts(body)


@pytest.mark.parametrize(
    ("severity", "colour"),
    [
        (Severity.INFO, "#8D99A6"),
        (Severity.WARNING, "#ECB22E"),
        (Severity.ERROR, "#E01E5A"),
        (Severity.CRITICAL, "#8B0000"),
    ],
)
def test_the_colour_follows_the_severity(slack: Any, severity: Severity, colour: str) -> None:
    body = delivered(slack, attrs.evolve(ALERT, severity=severity))

    assert body["attachments"][0]["color"] == colour
    assert body["text"].startswith(f"[{severity.name}] ")


def test_a_recovery_notice_is_green_and_says_recovered(slack: Any) -> None:
    recovered = attrs.evolve(
        ALERT, severity=Severity.INFO, title="workflow otc.weekly_refresh recovered", recovery=True
    )

    body = delivered(slack, recovered)

    assert body["text"] == "[INFO] Recovered: workflow otc.weekly_refresh recovered"
    assert body["blocks"][0]["text"]["text"] == body["text"]
    assert body["attachments"][0]["color"] == "#2EB67D"


def test_the_digest_line_is_shown_when_repeats_were_suppressed(slack: Any) -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    body = delivered(slack, attrs.evolve(ALERT, suppressed=9, suppressed_since=since))

    assert "9 similar alerts suppressed since 2026-01-02 03:04:05 UTC" in context_texts(body)


def test_no_digest_line_without_suppressed_repeats(slack: Any) -> None:
    body = delivered(slack, ALERT)

    assert not any("suppressed" in text for text in context_texts(body))


def test_a_long_message_is_cut_to_slacks_section_limit_and_says_so(slack: Any) -> None:
    trace = "Traceback (most recent call last):\n" + "  frame\n" * 2000

    message = details(delivered(slack, attrs.evolve(ALERT, message=trace)))[0]["text"]["text"]

    assert len(message) <= 3000
    assert message.startswith("Traceback")
    assert message.endswith("more characters)")


def test_a_long_title_is_cut_to_the_header_limit(slack: Any) -> None:
    body = delivered(slack, attrs.evolve(ALERT, title="x" * 400))

    assert len(body["blocks"][0]["text"]["text"]) <= 150


def test_slack_markup_in_values_is_escaped(slack: Any) -> None:
    body = delivered(slack, attrs.evolve(ALERT, source="pipeline:<!channel> & co"))

    source = details(body)[1]["fields"][0]["text"]
    assert source == "*Source*\npipeline:&lt;!channel&gt; &amp; co"


def test_an_alert_with_only_a_title_still_has_a_block_in_its_attachment(slack: Any) -> None:
    body = delivered(slack, Alert(severity="WARNING", title="disk filling up", source=""))

    assert details(body) == [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "[WARNING] disk filling up"}]}
    ]
