"""spine-servicenow: the ``servicenow`` alert channel for spine-host.

One incident per problem: opened on the first failure, a work note for each repeat, resolved
by the recovery notice (see :mod:`spine_servicenow.channel`).

This entry module imports only the standard library and spine_host: the channel is registered
lazily (its module loads when a configured ``servicenow`` channel is built) and requests is
imported when the first alert is sent, so every ``spine`` command starts fast with the plugin
installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host import hookimpl

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.registry import Register
    from spine_servicenow.channel import ServiceNowChannel

__all__ = ["ServiceNowChannel", "spine_register_alert_channels"]


def __getattr__(name: str) -> Any:
    """``ServiceNowChannel``, imported from :mod:`spine_servicenow.channel` on first use."""
    if name != "ServiceNowChannel":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from spine_servicenow.channel import ServiceNowChannel

    return ServiceNowChannel


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``servicenow`` alert channel."""
    register.lazy("servicenow", "spine_servicenow.channel:ServiceNowChannel")
