"""``spine plugin new NAME --kind KIND``: start a plugin distribution that already works.

Writes ``spine-NAME/`` (under ``--dir``, the current directory by default): ``pyproject.toml``
with the ``spine`` entry point and the spine-host range, a README, a lazy entry module, a
working example of the kind, and tests that use spine's testing kit. Nothing is overwritten:
an existing ``spine-NAME`` is refused with exit code 2, as is a name that cannot be a package.
"""

from __future__ import annotations

import click

from spine_host.cli.context import SpineCommandGroup
from spine_host.errors import ErrorCategory, SpineError

__all__ = ["plugin_group"]


@click.group("plugin", cls=SpineCommandGroup)
def plugin_group() -> None:
    """Write your own plugin: start a distribution from a template."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--kind",
    required=True,
    # spine_host.plugin_templates.KINDS, spelt out: the templates load only when used.
    type=click.Choice(["source", "pipeline", "channel", "storage"]),
    help="What the plugin provides: a source type, a pipeline with its own table, an alert "
    "channel, or a storage scheme.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),  # a str: pathlib is imported when the command runs
    default=".",
    show_default="the current directory",
    help="Where to write spine-NAME/.",
)
def new_command(name: str, kind: str, directory: str) -> None:
    """Write the plugin distribution spine-NAME/: package, README, tests.

    NAME is lower-case letters, digits and _: it becomes the entry point NAME, the package
    spine_NAME and the distribution spine-NAME (with - for _). Then:

    \b
        cd spine-NAME
        pip install -e .[test]
        pytest
    """
    from pathlib import Path

    from spine_host.plugin_templates import KINDS, check_plugin_name, render_plugin

    check_plugin_name(name)
    _refuse_a_builtin_name(name, KINDS[kind].registry)
    written = render_plugin(name, kind, Path(directory))
    project = Path(directory) / written[0].parts[0]
    _warn_if_installed(name)
    click.echo(f"wrote {project} (a {kind} plugin):")
    for path in written:
        click.echo(f"  {path.as_posix()}")
    click.echo("next:")
    click.echo(f"  cd {project}")
    click.echo("  pip install -e .[test]")
    click.echo("  pytest")


def _refuse_a_builtin_name(name: str, registry: str | None) -> None:
    """A name spine-host itself provides for the kind would make the new plugin a conflict."""
    if registry is None:
        return
    from spine_host.host import Host

    host = Host(load_entrypoints=False, storage_url="sqlite://", environ={})
    try:
        taken = getattr(host.registries, registry)
        if name in taken.names():
            label = taken.label
            raise SpineError(
                f"plugin name {name!r}: spine-host already provides the {label} {name!r}; "
                "choose another name",
                category=ErrorCategory.VALIDATION,
            )
    finally:
        host.close()


def _warn_if_installed(name: str) -> None:
    """An installed plugin of the same name would conflict with this one once installed."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="spine", name=name):
        owner = entry.dist.name if entry.dist is not None else "an installed distribution"
        click.echo(
            f"warning: {owner} is installed and provides a spine plugin named {name!r} too; "
            "test the new one in another environment, or choose another name",
            err=True,
        )
