"""spine-slack: the ``slack`` alert channel for spine-host.

Posts alerts through an incoming webhook or the Web API (``chat.postMessage``) as Block Kit
messages coloured by severity; a 429 is reported with Slack's ``Retry-After`` for the alert
router to honour.

This entry module imports only the standard library and spine_host (attrs comes with it);
requests is imported when the first alert is sent, so ``spine --help`` stays fast with the
plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host import hookimpl
from spine_slack.channel import SlackChannel

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.registry import Register

__all__ = ["SlackChannel", "spine_register_alert_channels"]


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``slack`` alert channel."""
    register("slack", SlackChannel)
