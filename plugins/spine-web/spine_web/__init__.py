"""spine-web: a dashboard for spine-host, served by ``spine web``.

Runs as timelines, a week of runs as a grid of colours, schedules, alerts, rejects, quality
and plugins, read through the same repositories as the CLI; actions (resume, retry, cancel,
run now, pause) only when started with ``--allow-actions``.

This entry module imports only ``spine_host``: the ``web`` command is defined in a module that
imports click alone, and Starlette, Jinja2 and uvicorn are imported when the command runs, so
``spine --help`` stays fast with the plugin installed. The plugin's table (the audit log of
actions taken from the web) is registered lazily and built by ``spine db upgrade``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host import hookimpl

if TYPE_CHECKING:
    from collections.abc import Iterable

    import click

    from spine_host.host import Host
    from spine_host.registry import RegisterNamed

__all__ = ["spine_doctor_checks", "spine_register_commands", "spine_register_tables"]


@hookimpl
def spine_register_commands(cli: click.Group) -> None:
    """Add ``spine web``."""
    from spine_web.command import web_command

    cli.add_command(web_command)


@hookimpl
def spine_register_tables(register: RegisterNamed[object]) -> None:
    """Provide ``web_actions``, the audit log of actions taken from the dashboard."""
    register.lazy("web", "spine_web.tables:WEB_TABLES")


@hookimpl
def spine_doctor_checks(host: Host) -> Iterable[tuple[str, bool, str]]:
    """Whether ``spine web`` can serve, and whether its token (if set) is usable."""
    from spine_web.doctor import doctor_checks

    return list(doctor_checks(host))
