"""``spine config show|check``: the effective configuration (secrets masked) and its validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from spine_host.cli.context import EXIT_USAGE, CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["config_group"]


@click.group("config", cls=SpineCommandGroup)
def config_group() -> None:
    """Show or check spine.toml."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def show_command(state: CliState, as_json: bool) -> None:
    """Print the effective configuration, defaults included, with every secret as ***."""
    import tomli_w

    config = state.host().config
    data = config.redacted()
    if as_json:
        emit_json({"path": str(config.path) if config.path else None, "config": data})
        return
    origin = str(config.path) if config.path else "defaults (no spine.toml found)"
    click.echo(f"# effective configuration from {origin}")
    click.echo(tomli_w.dumps(_drop_empty(data)).rstrip())


@config_group.command("check")
@pass_state
def check_command(state: CliState) -> None:
    """Validate spine.toml: storage options, every configured source, channel, schedule and
    freshness rule, as the commands that use them would, without connecting; exit 2 if wrong."""
    host = state.host()
    problems = _storage_problems(host) + host.check_configured() + _schedule_problems(host)
    for problem in problems:
        click.echo(f"error: {host.redactor.redact(problem)}", err=True)
    if problems:
        click.get_current_context().exit(EXIT_USAGE)
    origin = str(host.config.path) if host.config.path else "defaults (no spine.toml found)"
    click.echo(f"ok: {origin}")


def _storage_problems(host: Host) -> list[str]:
    """The ``[storage]`` URL and options, checked by building the adapter (which connects only
    when first used)."""
    from spine_host.errors import SpineError

    try:
        host.storage  # noqa: B018 - building the adapter is the check
    except SpineError as exc:
        return [exc.message]
    return []


def _schedule_problems(host: Host) -> list[str]:
    """A bad ``[schedules.NAME]`` (cron, zone, key, deadline), an unknown target, an ``after``
    cycle, or a bad ``[freshness.NAME]``."""
    from spine_host.errors import SpineError
    from spine_host.orchestration.freshness import freshness_rules
    from spine_host.orchestration.schedule_sources import validate_schedules

    problems = []
    for check in (validate_schedules, freshness_rules):
        try:
            check(host)
        except SpineError as exc:
            problems.append(exc.message)
    return problems


def _drop_empty(data: dict[str, object]) -> dict[str, object]:
    """TOML has no null and empty tables are noise: keep what says something."""
    result: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _drop_empty(value)
        if value in ({}, None):
            continue
        result[key] = value
    return result
