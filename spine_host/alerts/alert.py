"""What an alert is, and what happened when a channel tried to deliver it."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from spine_host.severity import Severity

__all__ = ["Alert", "DeliveryResult", "DeliveryStatus"]


def _now() -> datetime:
    return datetime.now(UTC)


def _severity(value: str | int | Severity) -> Severity:
    return Severity.parse(value)


@attrs.frozen(kw_only=True)
class Alert:
    """Something a person should know about: a failed run, a crashed run, a missed schedule.

    ``dedup_key`` groups repeats of the same problem for throttling; it defaults to
    ``source:title``.
    """

    severity: Severity = attrs.field(converter=_severity)
    title: str
    message: str = ""
    source: str = "spine"
    domain: str | None = None
    run_id: str | None = None
    error_category: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    dedup_key: str = attrs.field()
    alert_id: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    created_at: datetime = attrs.field(factory=_now)

    @dedup_key.default
    def _default_dedup_key(self) -> str:
        return f"{self.source}:{self.title}"


class DeliveryStatus(enum.StrEnum):
    """The outcome of one channel's attempt to deliver one alert."""

    SENT = "SENT"
    FAILED = "FAILED"
    THROTTLED = "THROTTLED"
    FILTERED = "FILTERED"


@attrs.frozen(kw_only=True)
class DeliveryResult:
    """What a channel reports back from ``send``; a failure carries the classified error."""

    channel: str
    status: DeliveryStatus
    detail: str = ""
    error: Any = None
    attempts: int = 1
    delivered_at: datetime = attrs.field(factory=_now)
