"""The email a person receives for an alert: subject, headers, a plain-text and an HTML body.

The subject is ``[SEVERITY] title`` (``[RECOVERED] title`` for a recovery notice), after the
channel's ``subject_prefix``. Both bodies carry the message, who raised it, the run, the error
category, the metadata, the digest line and the ``spine runs show`` command. Every value is
HTML-escaped in the HTML body, and header values are kept to one line, so a title cannot add
headers or markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from spine_host.alerts.alert import Alert

__all__ = ["alert_facts", "alert_message", "alert_subject"]


def alert_message(
    alert: Alert, *, sender: str, recipients: Sequence[str], subject_prefix: str | None = None
) -> EmailMessage:
    """The multipart (text, then HTML) message for ``alert``, with a fresh ``Message-ID``."""
    message = EmailMessage()
    message["Subject"] = alert_subject(alert, subject_prefix)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    # The domain is the sender's: make_msgid's default asks DNS for this machine's name, which
    # can stall for seconds on a host with a broken resolver.
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message["X-Spine-Severity"] = alert.severity.name
    message["X-Spine-Dedup-Key"] = _one_line(alert.dedup_key)
    message.set_content(_text_body(alert))
    message.add_alternative(_html_body(alert), subtype="html")
    return message


def alert_subject(alert: Alert, subject_prefix: str | None = None) -> str:
    """``[spine prod] [ERROR] title``: one line, whatever the title holds."""
    label = "RECOVERED" if alert.recovery else alert.severity.name
    subject = f"[{label}] {alert.title}"
    if subject_prefix:
        subject = f"{subject_prefix} {subject}"
    return _one_line(subject)


def alert_facts(alert: Alert) -> list[tuple[str, str]]:
    """The labelled lines both bodies show, in order; absent facts are left out."""
    facts = [
        ("Severity", alert.severity.name),
        ("Source", alert.source),
        ("Domain", alert.domain),
        ("Run", alert.run_id),
        ("Error category", alert.error_category),
        ("Raised", _time(alert.created_at)),
    ]
    facts += [(str(key), _shown(value)) for key, value in alert.metadata.items()]
    return [(label, value) for label, value in facts if value is not None]


def _text_body(alert: Alert) -> str:
    facts = alert_facts(alert)
    width = max(len(label) for label, _ in facts) + 2
    parts = [alert.title]
    if alert.message:
        parts.append(alert.message)
    parts.append("\n".join(f"{f'{label}:':<{width}}{value}" for label, value in facts))
    parts += [note for note in (alert.digest, _look_further(alert)) if note]
    return "\n\n".join(parts) + "\n"


def _html_body(alert: Alert) -> str:
    escape = html.escape
    rows = "\n".join(
        f'<tr><th align="left" style="padding-right:1em">{escape(label)}</th>'
        f"<td>{escape(value)}</td></tr>"
        for label, value in alert_facts(alert)
    )
    parts = [f"<h2>{escape(alert_subject(alert))}</h2>"]
    if alert.message:
        parts.append(f'<pre style="white-space:pre-wrap">{escape(alert.message)}</pre>')
    parts.append(f"<table>\n{rows}\n</table>")
    if alert.digest:
        parts.append(f"<p>{escape(alert.digest)}</p>")
    if alert.look_further:
        parts.append(f"<p>Look further: <code>{escape(alert.look_further)}</code></p>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family:sans-serif">\n{body}\n</body></html>\n'
    )


def _look_further(alert: Alert) -> str | None:
    return f"Look further: {alert.look_further}" if alert.look_further else None


def _one_line(text: str) -> str:
    # A line break in a header value would end the header (or be refused by the email package).
    return " ".join(text.split())


def _domain(address: str) -> str | None:
    return parseaddr(address)[1].rpartition("@")[2] or None


def _time(moment: datetime) -> str:
    # The same form as the digest line: every time spine stores is UTC.
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _shown(value: Any) -> str | None:
    """A metadata value the way a person writes it (``true``, ``["a", "b"]``), not a repr."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)
