"""The ``spine`` command line: one module per noun, plugin commands added through a hook.

Exit codes: 0 success, 1 failure, 2 usage or configuration error. ``spine --version`` and
``spine --help`` import no driver and, for ``--version``, no plugin.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from spine_host._version import __version__
from spine_host.cli.context import CliState, SpineCommandGroup
from spine_host.cli.terminal import escaped_output

__all__ = ["cli", "main"]


class SpineGroup(SpineCommandGroup):
    """The root group: builtin commands plus those plugins add via ``spine_register_commands``.

    Plugin commands are looked up only when a name is not builtin or when the command list is
    shown, so ``spine --version`` and builtin commands never pay for them.
    """

    _plugin_commands: dict[str, click.Command] | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Builtin and plugin command names, sorted."""
        return sorted({*super().list_commands(ctx), *self._load_plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A builtin command, else one a plugin provides."""
        command = super().get_command(ctx, cmd_name)
        if command is None:
            command = self._load_plugin_commands(ctx).get(cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command (errors reported as in every group), then release the host.

        Output is escaped on the way (:mod:`spine_host.cli.terminal`): values from files and
        servers cannot drive the terminal.
        """
        try:
            with escaped_output():
                return super().invoke(ctx)
        finally:
            state = ctx.find_object(CliState)
            if state is not None:
                state.close()

    def _load_plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        if self._plugin_commands is None:
            collector = click.Group("plugin-commands")
            # Only to find commands: strictness and plugin problems are reported when a command
            # builds its host, never while listing help.
            from spine_host.config import disabled_plugins
            from spine_host.plugins import PluginLoader

            disable = disabled_plugins(ctx.params.get("config_path"))
            # Builtins add no command: only installed distributions are loaded here.
            loader = PluginLoader(builtins=False, disable=disable)
            loader.call_each("spine_register_commands", {"cli": collector})
            self._plugin_commands = {
                name: command
                for name, command in collector.commands.items()
                if name not in self.commands
            }
        return self._plugin_commands


@click.group(cls=SpineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="spine", message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="SPINE_CONFIG",
    help="Path to spine.toml (default: $SPINE_CONFIG, then ./spine.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """spine: run data pipelines, workflows and schedules through plugins."""
    ctx.obj = CliState(config_path=config_path)
    _configure_logging(verbose)


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _register_builtin_commands() -> None:
    from spine_host.cli import (
        alerts,
        db,
        doctor,
        plugin_new,
        plugins,
        quality,
        rejects,
        run_control,
        runs,
        schedule_actions,
        scheduler,
        schedules,
        workflows,
    )
    from spine_host.cli import config as config_commands
    from spine_host.cli import pipelines as pipeline_commands
    from spine_host.cli import sources as sources_commands

    cli.add_command(plugins.plugins_command)
    cli.add_command(plugin_new.plugin_group)
    cli.add_command(doctor.doctor_command)
    cli.add_command(config_commands.config_group)
    cli.add_command(db.db_group)
    cli.add_command(sources_commands.sources_group)
    cli.add_command(pipeline_commands.pipelines_group)
    cli.add_command(quality.quality_group)
    cli.add_command(rejects.rejects_group)
    cli.add_command(workflows.workflows_group)
    cli.add_command(runs.runs_group)
    cli.add_command(schedules.schedules_group)  # with schedule_actions' commands
    cli.add_command(scheduler.scheduler_group)
    cli.add_command(alerts.alerts_group)
    del schedule_actions  # imported for the commands it adds to schedules_group
    del run_control  # imported for the commands it adds to runs_group


_register_builtin_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="spine")
