"""Test doubles for alert channels, registered through the hooks like any plugin.

Replace a real channel type in one call; the ``[alerts.channels.NAME]`` tables stay as they are
(their type-specific keys are accepted and ignored)::

    from spine_host.testing.alerts import RecordingChannels

    recording = RecordingChannels(replace=["slack"])
    host = Host(config=config, plugins=[recording], ...)
    ... run something that fails ...
    host.alerts.flush()
    assert [alert.title for alert in recording.sent["ops"]] == ["workflow x FAILED"]

``FailingChannels(replace=["email"], times=2, error=SpineError(...))`` fails the first ``times``
sends per channel (transient by default), then delivers; ``attempts[name]`` counts every try.
``FakeClock`` is a settable clock for the router (``AlertRouter(host, clock=clock)``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.errors import ErrorCategory, SpineError
from spine_host.plugins import hookimpl
from spine_host.storage.types import utc_now

__all__ = ["FailingChannels", "FakeClock", "RecordingChannels"]


class _AnyOptions(dict[str, Any]):
    """A channel ``Config`` that takes whatever keys the replaced channel's table has."""


class RecordingChannels:
    """A plugin providing channel types that keep every alert they are sent.

    Args:
        replace: channel types to replace (``slack``, ``email``...); each is registered with
            ``replace=True``, so it wins over the real plugin.
        types: further channel types to provide without replacing anything.
    """

    def __init__(self, replace: Iterable[str] = (), types: Iterable[str] = ("recording",)) -> None:
        self.replace = list(replace)
        self.types = [name for name in types if name not in self.replace]
        self.sent: dict[str, list[Alert]] = defaultdict(list)
        self._lock = threading.Lock()

    @hookimpl
    def spine_register_alert_channels(self, register: Any) -> None:
        """Register the recording type under each replaced and each extra type name."""
        channel_type = self._channel_type()
        for name in self.replace:
            register(name, channel_type, replace=True)
        for name in self.types:
            register(name, channel_type)

    def all(self) -> list[Alert]:
        """Every alert sent to any channel, in order per channel."""
        return [alert for alerts in self.sent.values() for alert in alerts]

    def _deliver(self, channel: str, alert: Alert) -> DeliveryResult:
        with self._lock:
            self.sent[channel].append(alert)
        return DeliveryResult(channel=channel, status=DeliveryStatus.SENT, detail="recorded")

    def _channel_type(self) -> type:
        plugin = self

        class RecordingChannel:
            """Keeps what it is sent in the plugin's ``sent[channel name]``."""

            Config = _AnyOptions

            def __init__(self, name: str, config: Any = None) -> None:
                self.name = name
                self.config = config

            def send(self, alert: Alert) -> DeliveryResult:
                return plugin._deliver(self.name, alert)

        return RecordingChannel


class FailingChannels(RecordingChannels):
    """Like :class:`RecordingChannels`, but each channel fails its first ``times`` sends.

    Args:
        replace: channel types to replace.
        times: failed sends per channel before it delivers (``-1``: always fail).
        error: the error of each failure (default: a retryable TRANSIENT error).
    """

    def __init__(
        self,
        replace: Iterable[str] = (),
        *,
        times: int = 1,
        error: SpineError | None = None,
        types: Iterable[str] = ("failing",),
    ) -> None:
        super().__init__(replace, types)
        self.times = times
        self.error = error or SpineError(
            "the test double refused the delivery", category=ErrorCategory.TRANSIENT
        )
        self.attempts: dict[str, int] = defaultdict(int)

    def _deliver(self, channel: str, alert: Alert) -> DeliveryResult:
        with self._lock:
            self.attempts[channel] += 1
            failing = self.times < 0 or self.attempts[channel] <= self.times
        if failing:
            return DeliveryResult(
                channel=channel,
                status=DeliveryStatus.FAILED,
                detail=self.error.message,
                error=self.error,
            )
        return super()._deliver(channel, alert)


class FakeClock:
    """A clock a test sets and moves: ``clock()``, ``clock.advance(seconds)``."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)
