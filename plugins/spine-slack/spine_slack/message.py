"""An alert as a Slack message: a header block, then a coloured attachment holding the details.

Layout, top to bottom:

- ``text``: ``[ERROR] workflow otc.weekly_refresh FAILED``, the line a notification shows;
- a header block with the same line (``[INFO] Recovered: ...`` for a recovery notice);
- an attachment whose ``color`` is the severity (green for a recovery), holding a section with
  the message, a section with the facts (source, domain, run, error category) and a context
  line with the digest and the command that shows more.

The header is a top-level block so that ``text`` serves only as the notification fallback; with
no top-level block Slack would print ``text`` above the attachment as well. Attachments are
legacy for new fields, but ``color`` is still the only way to give a message a coloured bar.

Text is cut to Slack's limits (a header holds 150 characters, a section 3000, a field 2000), so a
long stack trace never makes Slack refuse the whole message.
"""

from __future__ import annotations

from typing import Any

from spine_host.alerts.alert import Alert
from spine_host.severity import Severity

__all__ = ["COLOURS", "RECOVERY_COLOUR", "alert_message", "headline"]

COLOURS: dict[Severity, str] = {
    Severity.INFO: "#8D99A6",
    Severity.WARNING: "#ECB22E",
    Severity.ERROR: "#E01E5A",
    Severity.CRITICAL: "#8B0000",
}
"""The attachment colour for each severity: grey, amber, red, dark red."""

RECOVERY_COLOUR = "#2EB67D"
"""Green: a recovery notice, whatever its severity."""

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000


def alert_message(alert: Alert) -> dict[str, Any]:
    """The ``chat.postMessage`` / incoming-webhook body for ``alert`` (without ``channel``)."""
    colour = RECOVERY_COLOUR if alert.recovery else COLOURS[alert.severity]
    return {
        "text": headline(alert),
        "blocks": [_header(alert)],
        "attachments": [{"color": colour, "blocks": _detail_blocks(alert)}],
    }


def headline(alert: Alert) -> str:
    """``[ERROR] title``, or ``[INFO] Recovered: title`` for a recovery notice."""
    recovered = "Recovered: " if alert.recovery else ""
    return f"[{alert.severity.name}] {recovered}{' '.join(alert.title.split())}"


# -- blocks ----------------------------------------------------------------------------------


def _header(alert: Alert) -> dict[str, Any]:
    return {"type": "header", "text": _plain(_shorten(headline(alert), HEADER_LIMIT))}


def _detail_blocks(alert: Alert) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if alert.message.strip():
        message = _shorten(alert.message, SECTION_LIMIT)
        blocks.append({"type": "section", "text": _plain(message)})
    facts = [
        _mrkdwn(_shorten(f"*{label}*\n{_escape(value)}", FIELD_LIMIT))
        for label, value in _facts(alert)
    ]
    if facts:
        blocks.append({"type": "section", "fields": facts})
    notes = [_mrkdwn(_shorten(_escape(note), FIELD_LIMIT)) for note in _notes(alert)]
    if notes:
        blocks.append({"type": "context", "elements": notes})
    if not blocks:
        # Slack refuses an attachment without blocks; an alert that is only a title repeats it.
        blocks.append({"type": "context", "elements": [_mrkdwn(_escape(headline(alert)))]})
    return blocks


def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts = [
        ("Source", alert.source),
        ("Domain", alert.domain),
        ("Run", alert.run_id),
        ("Error category", alert.error_category),
    ]
    return [(label, value) for label, value in facts if value]


def _notes(alert: Alert) -> list[str]:
    more = f"More: {alert.look_further}" if alert.look_further else None
    return [note for note in (alert.digest, more) if note]


# -- text objects ----------------------------------------------------------------------------


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _escape(text: str) -> str:
    # The three characters Slack's mrkdwn reserves for links and mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # The marker's count has no more digits than the whole length, so this much room suffices.
    room = limit - len(_cut_marker(len(text)))
    return f"{text[:room].rstrip()}{_cut_marker(len(text) - room)}"


def _cut_marker(count: int) -> str:
    return f"… ({count:,} more characters)"
