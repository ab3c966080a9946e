"""The contract every alert channel implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from spine_host.alerts.alert import Alert, DeliveryResult

__all__ = ["AlertChannel"]


@runtime_checkable
class AlertChannel(Protocol):
    """Delivers alerts somewhere people look (Slack, email, ServiceNow, a console).

    A channel class declares its ``[alerts.channels.NAME]`` table as an attrs class ``Config`` and
    is built as ``channel_cls(name, config)``. ``send`` never raises for a delivery failure; it
    returns a FAILED result with the classified error.
    """

    name: str

    def send(self, alert: Alert) -> DeliveryResult:
        """Deliver one alert and report what happened."""
