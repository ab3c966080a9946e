"""``spine plugins``: every plugin seen, its distribution, status, hooks and what it provides."""

from __future__ import annotations

import click

from spine_host.cli.context import CliState, pass_state
from spine_host.cli.output import emit_json, emit_table

__all__ = ["plugins_command"]


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def plugins_command(state: CliState, as_json: bool) -> None:
    """List builtin and installed plugins with their status and what each provides.

    Problems are shown, not fatal: ``spine doctor`` is the command that fails on them.
    """
    host = state.host()
    report = host.plugin_report()
    if as_json:
        emit_json([info.to_dict() for info in report])
    else:
        rows = [
            (
                info.name,
                info.distribution,
                info.version,
                info.status.value,
                _provides(info.to_dict()["provides"]),
                "; ".join(info.errors) or None,
            )
            for info in report
        ]
        emit_table(["NAME", "DISTRIBUTION", "VERSION", "STATUS", "PROVIDES", "ERROR"], rows)


def _provides(provides: dict[str, list[str]]) -> str | None:
    parts = [f"{kind}: {', '.join(names)}" for kind, names in provides.items()]
    return "; ".join(parts) or None
