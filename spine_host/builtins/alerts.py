"""Builtin alerting: the ``console`` and ``email`` (SMTP) channels, and the alerts spine raises by
itself (failed, crashed and recovered runs, missed schedule fires; see
:mod:`spine_host.alerts.automatic`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host.plugins import hookimpl

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.host import Host
    from spine_host.registry import Register


@hookimpl
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide the ``console`` and ``email`` channels."""
    register.lazy("console", "spine_host.alerts.console:ConsoleChannel")
    register.lazy("email", "spine_host.alerts.email:EmailChannel")


@hookimpl
def spine_run_finished(run: Any, host: Host) -> None:
    """Alert on a failed or crashed run; notice a recovery."""
    from spine_host.alerts.automatic import on_run_finished

    on_run_finished(host, run)


@hookimpl
def spine_schedule_fired(fire: Any, host: Host) -> None:
    """Alert on a missed schedule fire."""
    from spine_host.alerts.automatic import on_schedule_fired

    on_schedule_fired(host, fire)
