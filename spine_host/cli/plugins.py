"""``spine plugins``: every plugin seen, its distribution, status, hooks and what it provides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import CliState, pass_state
from spine_host.cli.output import emit_json, emit_table

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.plugins import PluginInfo

__all__ = ["plugins_command"]


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def plugins_command(state: CliState, as_json: bool) -> None:
    """List builtin and installed plugins with their status and what each provides.

    Problems are shown, not fatal: ``spine doctor`` is the command that fails on them. With
    SPINE_STRICT_PLUGINS=1 the table is printed first, then the command exits 1 if any plugin
    has a problem.
    """
    import os

    from spine_host.host import Host
    from spine_host.plugins import strict_from_env

    strict = strict_from_env(os.environ)
    if strict:
        # Strict mode would refuse to build the host: build it leniently to show the table.
        lenient = {**os.environ, "SPINE_STRICT_PLUGINS": ""}
        host = Host.from_config(state.config_path, environ=lenient)
    else:
        host = state.host()
    listed = [_plugin_dict(host, info) for info in host.plugin_report()]
    if as_json:
        emit_json(listed)
    else:
        rows = [
            (
                item["name"],
                item["distribution"],
                item["version"],
                item["status"],
                _provides(item["provides"], item["overridden_by"]),
                item["error"],
            )
            for item in listed
        ]
        emit_table(["NAME", "DISTRIBUTION", "VERSION", "STATUS", "PROVIDES", "ERROR"], rows)
    problems = host.problems()
    if strict and problems:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        click.echo(
            f"error: SPINE_STRICT_PLUGINS is set and {len(problems)} plugin problem(s) exist",
            err=True,
        )
        raise SystemExit(1)


def _plugin_dict(host: Host, info: PluginInfo) -> dict[str, Any]:
    """``info`` for JSON, with what it provides as plain names.

    ``provides``: kind -> names in force from this plugin. ``overridden_by``: kind -> name ->
    the plugin whose ``replace=True`` registration won over this one's.
    """
    data = info.to_dict()
    data["provides"], data["overridden_by"] = host.provided_by(info)
    return data


def _provides(
    provides: dict[str, list[str]], overridden_by: dict[str, dict[str, str]]
) -> str | None:
    """``sources: csv; alert_channels: console`` with ``ticker (overridden by other)`` added."""
    kinds = list(provides) + [kind for kind in overridden_by if kind not in provides]
    parts = []
    for kind in kinds:
        names = list(provides.get(kind, []))
        names += [
            f"{name} (overridden by {winner})"
            for name, winner in overridden_by.get(kind, {}).items()
        ]
        parts.append(f"{kind}: {', '.join(names)}")
    return "; ".join(parts) or None
