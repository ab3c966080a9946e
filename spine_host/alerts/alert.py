"""What an alert is, and what happened when a channel tried to deliver it."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from spine_host.severity import Severity

__all__ = ["Alert", "DeliveryResult", "DeliveryStatus", "domain_of"]


def _now() -> datetime:
    return datetime.now(UTC)


def _severity(value: str | int | Severity) -> Severity:
    return Severity.parse(value)


@attrs.frozen(kw_only=True)
class Alert:
    """Something a person should know about: a failed run, a crashed run, a missed schedule.

    ``dedup_key`` groups repeats of the same problem for throttling (and is what a ticketing
    channel correlates incidents by); it defaults to ``source:title``.

    Attributes:
        severity: INFO < WARNING < ERROR < CRITICAL.
        title: one line, what happened (``workflow otc.weekly_refresh FAILED``).
        message: the details (the error, what to do).
        source: what raised it (``workflow:NAME``, ``pipeline:NAME``, ``schedule:NAME``...).
        domain: the data domain, for channels that filter by ``domains`` globs.
        run_id: the workflow run or execution it is about, if any.
        error_category: the spine error category of the failure, if any.
        metadata: more facts as JSON-safe values (step, attempt, nominal time...).
        dedup_key: repeats of one problem share it.
        recovery: True for a recovery notice: the problem under ``dedup_key`` is over (a
            ticketing channel resolves its incident).
        suppressed: set by the router per channel: how many alerts with this ``dedup_key`` were
            throttled since the last one this channel delivered (the digest line).
        suppressed_since: when the first of those was raised.
        alert_id: a unique id (the ``alerts`` row).
        created_at: when it was raised, aware UTC.
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
    recovery: bool = False
    suppressed: int = 0
    suppressed_since: datetime | None = None
    alert_id: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    created_at: datetime = attrs.field(factory=_now)

    @dedup_key.default
    def _default_dedup_key(self) -> str:
        return f"{self.source}:{self.title}"

    @property
    def look_further(self) -> str | None:
        """The command that shows more, for channels to print (``spine runs show RUN_ID``)."""
        if self.run_id is None:
            return None
        kind = self.metadata.get("run_kind", "workflow")
        command = "spine pipelines show" if kind == "pipeline" else "spine runs show"
        return f"{command} {self.run_id}"

    @property
    def digest(self) -> str | None:
        """``9 similar alerts suppressed since 2026-...``, when the router suppressed some."""
        if not self.suppressed:
            return None
        since = (
            f" since {self.suppressed_since:%Y-%m-%d %H:%M:%S} UTC" if self.suppressed_since else ""
        )
        noun = "alert" if self.suppressed == 1 else "alerts"
        return f"{self.suppressed} similar {noun} suppressed{since}"


class DeliveryStatus(enum.StrEnum):
    """The outcome of one channel's attempt to deliver one alert.

    PENDING is the router's: the delivery is recorded and under way (retries included).
    """

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    THROTTLED = "THROTTLED"
    FILTERED = "FILTERED"


@attrs.frozen(kw_only=True)
class DeliveryResult:
    """What a channel reports back from ``send``; a failure carries the classified error.

    Attributes:
        channel: the channel's name.
        status: SENT or FAILED from a channel; the router adds THROTTLED and FILTERED.
        detail: a short human note (``HTTP 200``, ``incident INC0010001 updated``); never a
            secret.
        error: for FAILED, the ``SpineError``: ``retryable`` says whether another attempt can
            help, ``retry_after`` (seconds) when the other side said when (HTTP 429).
        attempts: attempts made (the router counts them).
        external_ref: what the other side calls it (incident number, message id), if anything.
        delivered_at: when this result was produced.
    """

    channel: str
    status: DeliveryStatus
    detail: str = ""
    error: Any = None
    attempts: int = 1
    external_ref: str | None = None
    delivered_at: datetime = attrs.field(factory=_now)


def domain_of(name: str) -> str | None:
    """The data domain of a workflow or pipeline name: ``otc`` for ``otc.weekly_refresh``."""
    return name.split(".", 1)[0] if "." in name else None
