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

__all__ = ["BUILTIN_COMMANDS", "cli", "load_builtin_command", "main"]


class SpineGroup(SpineCommandGroup):
    """The root group: builtin commands plus those plugins add via ``spine_register_commands``.

    Plugin commands are looked up only when a name is not builtin or when the command list is
    shown, so ``spine --version`` and builtin commands never pay for them.
    """

    _plugin_commands: dict[str, click.Command] | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Builtin and plugin command names, sorted."""
        return sorted(
            {*BUILTIN_COMMANDS, *super().list_commands(ctx), *self._load_plugin_commands(ctx)}
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A builtin command (imported now if it was not yet), else one a plugin provides."""
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in BUILTIN_COMMANDS:
            command = load_builtin_command(cmd_name)
            self.add_command(command, cmd_name)
        if command is None:
            command = self._load_plugin_commands(ctx).get(cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their short help; builtins' help without importing them."""
        entries: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in BUILTIN_COMMANDS and name not in self.commands:
                # A stand-in with the same help text: click shortens it exactly the same way.
                entries.append((name, click.Command(name, help=BUILTIN_COMMANDS[name][2])))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                entries.append((name, command))
        if not entries:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in entries)
        rows = [(name, entry.get_short_help_str(limit)) for name, entry in entries]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
            from spine_host._config_file import disabled_plugins
            from spine_host.plugins import PluginLoader

            disable = disabled_plugins(ctx.params.get("config_path"))
            # Builtins add no command: only installed distributions are loaded here.
            loader = PluginLoader(builtins=False, disable=disable)
            loader.call_each("spine_register_commands", {"cli": collector})
            self._plugin_commands = {
                name: command
                for name, command in collector.commands.items()
                if name not in self.commands and name not in BUILTIN_COMMANDS
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


#: Builtin commands: name -> (modules to import, the command's attribute in the first, the
#: command's help as --help lists it). A command's modules are imported when it is used, so
#: ``spine --help`` and each command import only what they need; a test keeps the help here
#: equal to each command's own.
BUILTIN_COMMANDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "alerts": (
        ("spine_host.cli.alerts",),
        "alerts_group",
        "Alert channels, test deliveries and the alerts raised.",
    ),
    "config": (("spine_host.cli.config",), "config_group", "Show or check spine.toml."),
    "db": (("spine_host.cli.db",), "db_group", "Create, migrate and inspect spine's tables."),
    "doctor": (
        ("spine_host.cli.doctor",),
        "doctor_command",
        "Check configuration, plugins and storage; exit 1 if anything is wrong.",
    ),
    "pipelines": (
        ("spine_host.cli.pipelines",),
        "pipelines_group",
        "List and run pipelines; list their runs and inspect one.",
    ),
    "plugin": (
        ("spine_host.cli.plugin_new",),
        "plugin_group",
        "Write your own plugin: start a distribution from a template.",
    ),
    "plugins": (
        ("spine_host.cli.plugins",),
        "plugins_command",
        "List builtin and installed plugins with their status and what each provides.",
    ),
    "quality": (("spine_host.cli.quality",), "quality_group", "Inspect quality check results."),
    "rejects": (("spine_host.cli.rejects",), "rejects_group", "Inspect rejected records."),
    "runs": (
        ("spine_host.cli.runs", "spine_host.cli.run_control"),
        "runs_group",
        "Workflow run history: list, inspect, resume, retry, reap crashed runs.",
    ),
    "schedules": (
        ("spine_host.cli.schedules", "spine_host.cli.schedule_actions"),
        "schedules_group",
        "List, inspect and operate schedules: next fires, history, run-now, pause, backfill.",
    ),
    "scheduler": (
        ("spine_host.cli.scheduler",),
        "scheduler_group",
        "Run the scheduler service that fires schedules.",
    ),
    "sources": (
        ("spine_host.cli.sources",),
        "sources_group",
        "List source types or preview a configured source.",
    ),
    "workflows": (
        ("spine_host.cli.workflows",),
        "workflows_group",
        "List, inspect and run workflows.",
    ),
}


def load_builtin_command(name: str) -> click.Command:
    """Import a builtin command's modules and return the command (see BUILTIN_COMMANDS)."""
    import importlib

    modules, attribute, _ = BUILTIN_COMMANDS[name]
    loaded = [importlib.import_module(module) for module in modules]
    command: click.Command = getattr(loaded[0], attribute)
    return command


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="spine")
