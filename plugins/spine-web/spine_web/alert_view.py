"""The alerts page: the latest alerts with each channel's delivery, and the configured channels.

Alerts and deliveries are read through ``AlertLedger.alerts`` (as ``spine alerts list``);
channels from the configuration, their settings masked twice over: by key (``password``,
``token``, ``webhook_url``...) and by value (the host's redactor), so a channel's credential
appears on no page.
"""

from __future__ import annotations

from typing import Any

import attrs

from spine_host.alerts.ledger import AlertLedger, StoredAlert
from spine_host.api import Host, SpineError

__all__ = ["ChannelView", "load_alerts", "load_channels"]

#: Alerts shown.
ALERT_LIMIT = 100


@attrs.frozen(kw_only=True)
class ChannelView:
    """A configured channel: its type, routing and settings (secrets masked)."""

    name: str
    channel_type: str
    min_severity: str
    domains: list[str]
    enabled: bool
    settings: dict[str, Any]


def load_alerts(host: Host, *, limit: int = ALERT_LIMIT) -> list[StoredAlert]:
    """The latest alerts, newest first, with their deliveries; none before ``spine db upgrade``."""
    try:
        return AlertLedger(host.storage).alerts(limit=limit)
    except SpineError:
        return []


def load_channels(host: Host) -> list[ChannelView]:
    """Every channel of ``[alerts.channels]``, settings masked."""
    redactor = host.redactor
    views = []
    for name, channel in sorted(host.config.alerts.channels.items()):
        views.append(
            ChannelView(
                name=name,
                channel_type=channel.type,
                min_severity=getattr(channel.min_severity, "name", str(channel.min_severity)),
                domains=list(channel.domains or []),
                enabled=bool(channel.enabled),
                settings=redactor.redact_data(dict(channel.options)),
            )
        )
    return views
