"""spine-slack: the ``slack`` alert channel for spine-host.

Posts alerts through an incoming webhook or the Web API (``chat.postMessage``) as Block Kit
messages coloured by severity; a 429 is reported with Slack's ``Retry-After`` for the alert
router to honour.

This entry module imports only the standard library and spine_host: the channel is registered
lazily (its module loads when a configured ``slack`` channel is built) and requests is imported
when the first alert is sent, so every ``spine`` command starts fast with the plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host import hookimpl

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.registry import Register
    from spine_slack.channel import SlackChannel

__all__ = ["SlackChannel", "spine_register_alert_channels"]


def __getattr__(name: str) -> Any:
    """``SlackChannel``, imported from :mod:`spine_slack.channel` on first use."""
    if name != "SlackChannel":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from spine_slack.channel import SlackChannel

    return SlackChannel


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``slack`` alert channel."""
    register.lazy("slack", "spine_slack.channel:SlackChannel")
