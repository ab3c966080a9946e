"""What an alert becomes in the incident table: the fields of a new incident, a work note, a
resolution.

Everything here is plain data (field name to string, as the Table API takes them); nothing sends
anything. The incident is found again through ``correlation_id``, which holds the alert's
``dedup_key`` (see :func:`correlation_id` for keys the field cannot hold).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from spine_host.alerts.alert import Alert
from spine_host.severity import Severity

__all__ = [
    "IMPACT_AND_URGENCY",
    "correlation_id",
    "new_incident",
    "occurrence_note",
    "resolution",
]

#: ServiceNow's impact and urgency (1 high, 2 medium, 3 low) per severity; the instance derives
#: the incident's priority from the pair (1/1 is P1, 2/2 P3, 3/3 P5 out of the box).
IMPACT_AND_URGENCY: Mapping[Severity, tuple[str, str]] = {
    Severity.CRITICAL: ("1", "1"),
    Severity.ERROR: ("2", "2"),
    Severity.WARNING: ("3", "3"),
    Severity.INFO: ("3", "3"),
}

# Field lengths of the incident table out of the box; the instance cuts longer values, and a cut
# correlation_id would never match its key again.
SHORT_DESCRIPTION_LENGTH = 160
DESCRIPTION_LENGTH = 4000
CORRELATION_ID_LENGTH = 100


def correlation_id(alert: Alert) -> str:
    """The ``correlation_id`` the alert's incident carries: its ``dedup_key``, when it fits.

    A key longer than the field, or holding ``^`` (the separator of an encoded query), becomes
    its readable start and a SHA-256 of the whole key, so it stays unique and findable.
    """
    key = alert.dedup_key
    if len(key) <= CORRELATION_ID_LENGTH and "^" not in key:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    start = key.replace("^", "_")[: CORRELATION_ID_LENGTH - len(digest) - 1]
    return f"{start}~{digest}"


def new_incident(
    alert: Alert,
    *,
    assignment_group: str | None = None,
    caller_id: str | None = None,
    category: str | None = None,
) -> dict[str, str]:
    """The fields of the incident opened for ``alert``; the optional ones only when set."""
    impact, urgency = IMPACT_AND_URGENCY[alert.severity]
    fields = {
        "short_description": _clip(_heading(alert), SHORT_DESCRIPTION_LENGTH),
        "description": _clip(_body(alert), DESCRIPTION_LENGTH),
        "correlation_id": correlation_id(alert),
        "correlation_display": "spine",
        "impact": impact,
        "urgency": urgency,
    }
    optional = {
        "assignment_group": assignment_group,
        "caller_id": caller_id,
        "category": category,
    }
    fields.update({name: value for name, value in optional.items() if value})
    return fields


def occurrence_note(alert: Alert) -> dict[str, str]:
    """The update that records another occurrence on the open incident: one work note.

    The note repeats the heading and the run, so whoever reads the journal sees which run failed
    this time without opening the description.
    """
    return {"work_notes": f"Occurred again: {_heading(alert)}\n{_body(alert)}"}


def resolution(alert: Alert, *, state: str, close_code: str) -> dict[str, str]:
    """The update that resolves the incident when ``alert`` (a recovery notice) arrives."""
    return {
        "state": state,
        "close_code": close_code,
        "close_notes": f"{alert.title}\n{_body(alert)}",
    }


# -- helpers ---------------------------------------------------------------------------------


def _heading(alert: Alert) -> str:
    return f"[{alert.severity.name}] {alert.title}"


def _body(alert: Alert) -> str:
    """The message, a blank line, then one fact per line."""
    facts = "\n".join(_facts(alert))
    return f"{alert.message}\n\n{facts}" if alert.message else facts


def _facts(alert: Alert) -> list[str]:
    facts = {
        "Source": alert.source,
        "Domain": alert.domain,
        "Run": alert.run_id,
        "Error category": alert.error_category,
        "Look further": alert.look_further,
        "Details": _details(alert.metadata),
        "Raised": _when(alert.created_at),
        "Dedup key": alert.dedup_key,
    }
    lines = [f"{label}: {value}" for label, value in facts.items() if value]
    if alert.digest:
        lines.append(alert.digest)
    return lines


def _details(metadata: Mapping[str, Any]) -> str | None:
    """``step=load, attempt=3``: how a person writes it, not a Python dict."""
    if not metadata:
        return None
    return ", ".join(f"{key}={_plain(value)}" for key, value in metadata.items())


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
