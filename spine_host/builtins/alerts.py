"""Builtin alert channels: ``console``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host.alerts.console import ConsoleChannel
from spine_host.plugins import hookimpl

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.registry import Register


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``console`` channel."""
    register("console", ConsoleChannel)
