"""Alerts in the database: ``alerts`` (one row per alert), ``alert_deliveries`` (one row per
alert and channel, with its outcome) and ``alert_channels`` (the configured channels, without
secrets).

Throttling reads the same rows, so it holds across processes: a repeat of a problem within the
window is THROTTLED whichever process raised the first one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.json_values import json_safe
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.types import utc_now

__all__ = ["AlertLedger", "DeliveryRow", "StoredAlert"]

_alerts = schema.alerts
_deliveries = schema.alert_deliveries
_channels = schema.alert_channels
_ERROR_LENGTH = 2000
#: Deliveries that count as "this channel told people about it" for throttling.
_NOTIFIED = (DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value)


@attrs.frozen
class DeliveryRow:
    """One ``alert_deliveries`` row."""

    delivery_id: int
    alert_id: str
    channel: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    external_ref: str | None
    created_at: datetime
    delivered_at: datetime | None


@attrs.frozen
class StoredAlert:
    """An ``alerts`` row with its deliveries."""

    alert_id: str
    severity: str
    title: str
    message: str | None
    source: str | None
    domain: str | None
    run_id: str | None
    error_category: str | None
    dedup_key: str | None
    details: dict[str, Any] | None
    created_at: datetime
    deliveries: list[DeliveryRow]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, times in ISO 8601."""
        data = json_safe(attrs.asdict(self, recurse=True))
        assert isinstance(data, dict)
        return data


class AlertLedger:
    """Reads and writes the alert tables in ``storage``."""

    def __init__(self, storage: DatabaseAdapter) -> None:
        self.storage = storage

    def record(self, alert: Alert) -> None:
        """Insert the ``alerts`` row."""
        self.storage.execute(
            sa.insert(_alerts).values(
                alert_id=alert.alert_id,
                severity=alert.severity.name,
                title=alert.title[:500],
                message=alert.message,
                alert_source=alert.source,
                domain_name=alert.domain,
                run_id=alert.run_id,
                error_category=alert.error_category,
                dedup_key=alert.dedup_key[:255],
                details=json_safe({"metadata": dict(alert.metadata), "recovery": alert.recovery}),
                created_at=alert.created_at,
            )
        )

    def add_delivery(
        self,
        alert: Alert,
        channel: str,
        status: DeliveryStatus,
        *,
        last_error: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Insert a delivery row; return its id."""
        at = now or utc_now()
        values = {
            "alert_id": alert.alert_id,
            "channel_name": channel,
            "status": status.value,
            "attempts": 0,
            "last_error": _short(last_error),
            "created_at": at,
        }
        rows = (
            self.storage.query(
                sa.insert(_deliveries).values(**values).returning(_deliveries.c.delivery_id)
            )
            if self._returning()
            else None
        )
        if rows:
            return int(rows[0]["delivery_id"])
        self.storage.execute(sa.insert(_deliveries).values(**values))
        found = self.storage.query(
            sa.select(sa.func.max(_deliveries.c.delivery_id).label("id")).where(
                _deliveries.c.alert_id == alert.alert_id, _deliveries.c.channel_name == channel
            )
        )
        return int(found[0]["id"])

    def finish_delivery(
        self,
        delivery_id: int,
        status: DeliveryStatus,
        *,
        attempts: int,
        last_error: str | None = None,
        external_ref: str | None = None,
        delivered_at: datetime | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Write a delivery's outcome (or, with ``next_attempt_at``, its progress)."""
        self.storage.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.delivery_id == delivery_id)
            .values(
                status=status.value,
                attempts=attempts,
                last_error=_short(last_error),
                external_ref=external_ref[:500] if external_ref else None,
                delivered_at=delivered_at,
                next_attempt_at=next_attempt_at,
            )
        )

    def last_notified(self, channel: str, dedup_key: str) -> datetime | None:
        """When ``channel`` last took an alert with ``dedup_key`` (not throttled, not filtered)."""
        rows = self.storage.query(
            sa.select(sa.func.max(_deliveries.c.created_at).label("last"))
            .select_from(_deliveries.join(_alerts))
            .where(
                _alerts.c.dedup_key == dedup_key[:255],
                _deliveries.c.channel_name == channel,
                _deliveries.c.status.in_(_NOTIFIED),
            )
        )
        return rows[0]["last"] if rows else None

    def previous_reached(self, channel: str, dedup_key: str, alert_id: str) -> bool:
        """Whether the latest alert with ``dedup_key`` before ``alert_id`` reached ``channel``
        (delivered, under way, failed or throttled: not filtered)."""
        rows = self.storage.query(
            sa.select(_alerts.c.alert_id)
            .where(_alerts.c.dedup_key == dedup_key[:255], _alerts.c.alert_id != alert_id)
            .order_by(_alerts.c.created_at.desc())
            .limit(1)
        )
        if not rows:
            return False
        reached = self.storage.query(
            sa.select(_deliveries.c.status).where(
                _deliveries.c.alert_id == rows[0]["alert_id"],
                _deliveries.c.channel_name == channel,
                _deliveries.c.status != DeliveryStatus.FILTERED.value,
            )
        )
        return bool(reached)

    def throttled_since(
        self, channel: str, dedup_key: str, since: datetime | None
    ) -> tuple[int, datetime | None]:
        """How many alerts with ``dedup_key`` ``channel`` throttled after ``since``, and when the
        first of them was."""
        condition = [
            _alerts.c.dedup_key == dedup_key[:255],
            _deliveries.c.channel_name == channel,
            _deliveries.c.status == DeliveryStatus.THROTTLED.value,
        ]
        if since is not None:
            condition.append(_deliveries.c.created_at > since)
        rows = self.storage.query(
            sa.select(
                sa.func.count().label("count"),
                sa.func.min(_deliveries.c.created_at).label("first"),
            )
            .select_from(_deliveries.join(_alerts))
            .where(*condition)
        )
        return int(rows[0]["count"] or 0), rows[0]["first"]

    def mirror_channels(self, channels: Mapping[str, Mapping[str, Any]]) -> None:
        """Write each channel's configuration (already redacted) to ``alert_channels``."""
        rows = [
            {
                "channel_name": name,
                "channel_type": str(table["type"]),
                "min_severity": str(table["min_severity"]),
                "domains": list(table["domains"]),
                "enabled": bool(table["enabled"]),
                "settings": json_safe(dict(table["settings"])),
            }
            for name, table in sorted(channels.items())
        ]
        if rows:
            self.storage.upsert("alert_channels", rows, key=["channel_name"])

    def alerts(
        self,
        *,
        since: datetime | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 50,
    ) -> list[StoredAlert]:
        """The latest alerts (newest first) with their deliveries; ``status`` keeps alerts with
        at least one delivery in that status."""
        statement = sa.select(_alerts).order_by(_alerts.c.created_at.desc()).limit(limit)
        if since is not None:
            statement = statement.where(_alerts.c.created_at >= since)
        if status is not None:
            having = sa.select(_deliveries.c.alert_id).where(_deliveries.c.status == status.value)
            statement = statement.where(_alerts.c.alert_id.in_(having))
        rows = self.storage.query(statement)
        deliveries = self._deliveries([row["alert_id"] for row in rows])
        return [
            StoredAlert(
                alert_id=row["alert_id"],
                severity=row["severity"],
                title=row["title"],
                message=row["message"],
                source=row["alert_source"],
                domain=row["domain_name"],
                run_id=row["run_id"],
                error_category=row["error_category"],
                dedup_key=row["dedup_key"],
                details=row["details"],
                created_at=row["created_at"],
                deliveries=deliveries.get(row["alert_id"], []),
            )
            for row in rows
        ]

    def deliveries_of(self, alert_id: str) -> list[DeliveryRow]:
        """The delivery rows of one alert."""
        return self._deliveries([alert_id]).get(alert_id, [])

    def _deliveries(self, alert_ids: Iterable[str]) -> dict[str, list[DeliveryRow]]:
        ids = list(alert_ids)
        if not ids:
            return {}
        rows = self.storage.query(
            sa.select(_deliveries)
            .where(_deliveries.c.alert_id.in_(ids))
            .order_by(_deliveries.c.channel_name)
        )
        found: dict[str, list[DeliveryRow]] = {}
        for row in rows:
            found.setdefault(row["alert_id"], []).append(
                DeliveryRow(
                    delivery_id=row["delivery_id"],
                    alert_id=row["alert_id"],
                    channel=row["channel_name"],
                    status=DeliveryStatus(row["status"]),
                    attempts=row["attempts"],
                    last_error=row["last_error"],
                    external_ref=row["external_ref"],
                    created_at=row["created_at"],
                    delivered_at=row["delivered_at"],
                )
            )
        return found

    def _returning(self) -> bool:
        return self.storage.dialect in ("sqlite", "postgresql")


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= _ERROR_LENGTH:
        return text
    return text[: _ERROR_LENGTH - 3] + "..."
