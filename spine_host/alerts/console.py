"""The builtin ``console`` channel: alerts as one line on standard error."""

from __future__ import annotations

import sys
from typing import TextIO

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus

__all__ = ["ConsoleChannel"]


class ConsoleChannel:
    """Writes ``[SEVERITY] title: message`` to a stream (standard error unless told otherwise)."""

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
        line = f"[{alert.severity.name}] {alert.title}"
        if alert.message:
            line += f": {alert.message}"
        try:
            print(line, file=stream, flush=True)
        except (OSError, ValueError) as exc:
            return DeliveryResult(channel=self.name, status=DeliveryStatus.FAILED, detail=str(exc))
        return DeliveryResult(channel=self.name, status=DeliveryStatus.SENT)
