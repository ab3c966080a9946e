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
    problems = host.problems()
    if strict and problems:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        click.echo(
            f"error: SPINE_STRICT_PLUGINS is set and {len(problems)} plugin problem(s) exist",
            err=True,
        )
        raise SystemExit(1)


def _provides(provides: dict[str, list[str]]) -> str | None:
    parts = [f"{kind}: {', '.join(names)}" for kind, names in provides.items()]
    return "; ".join(parts) or None
