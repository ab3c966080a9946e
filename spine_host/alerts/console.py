"""The builtin ``console`` channel: alerts as one line on standard error."""

from __future__ import annotations

import sys
from typing import TextIO

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.errors import ErrorCategory, SpineError

__all__ = ["ConsoleChannel", "alert_line"]


class ConsoleChannel:
    """Writes one line per alert (see :func:`alert_line`) to standard error (or stdout)."""

    @attrs.frozen
    class Config:
        """``[alerts.channels.NAME]`` with ``type = "console"``; ``stream`` is stderr or stdout."""

        stream: str = attrs.field(
            default="stderr", validator=attrs.validators.in_(("stderr", "stdout"))
        )

    def __init__(self, name: str, config: Config | None = None, stream: TextIO | None = None):
        self.name = name
        self.config = config or self.Config()
        self._stream = stream

    def send(self, alert: Alert) -> DeliveryResult:
        """Print the alert; a closed stream is a FAILED delivery, not an exception."""
        stream = self._stream or (sys.stdout if self.config.stream == "stdout" else sys.stderr)
        try:
            print(alert_line(alert), file=stream, flush=True)
        except (OSError, ValueError) as exc:
            error = SpineError(
                f"console channel {self.name}: cannot write to {self.config.stream}: {exc}",
                category=ErrorCategory.INTERNAL,
                retryable=False,
            )
            return DeliveryResult(
                channel=self.name, status=DeliveryStatus.FAILED, detail=error.message, error=error
            )
        return DeliveryResult(channel=self.name, status=DeliveryStatus.SENT)


def alert_line(alert: Alert) -> str:
    """``[ERROR] title: message (run ID; 9 similar alerts suppressed since ...)``, one line."""
    line = f"[{alert.severity.name}] {alert.title}"
    if alert.message:
        line += f": {' '.join(alert.message.split())}"
    notes = [note for note in (_run(alert), alert.digest) if note]
    if notes:
        line += f" ({'; '.join(notes)})"
    return line


def _run(alert: Alert) -> str | None:
    return f"run {alert.run_id}" if alert.run_id else None
