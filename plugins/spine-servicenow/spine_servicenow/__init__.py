"""spine-servicenow: the ``servicenow`` alert channel for spine-host.

One incident per problem: opened on the first failure, a work note for each repeat, resolved
by the recovery notice (see :mod:`spine_servicenow.channel`).

This entry module imports only the standard library and spine_host; requests is imported when
the first alert is sent, so ``spine --help`` stays fast with the plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host import hookimpl
from spine_servicenow.channel import ServiceNowChannel

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.registry import Register

__all__ = ["ServiceNowChannel", "spine_register_alert_channels"]


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``servicenow`` alert channel."""
    register("servicenow", ServiceNowChannel)
