"""Builtin commands are imported when used: `spine --help` lists them from BUILTIN_COMMANDS."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from spine_host.cli import BUILTIN_COMMANDS, load_builtin_command


@pytest.mark.parametrize("name", sorted(BUILTIN_COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = load_builtin_command(name)
    listed = click.Command(name, help=BUILTIN_COMMANDS[name][2])
    assert command.name == name
    assert listed.get_short_help_str(1000) == command.get_short_help_str(1000)


@pytest.mark.slow
def test_help_imports_no_command_module_and_a_command_imports_only_its_own() -> None:
    code = (
        "import sys\n"
        "from spine_host.cli import cli\n"
        "def loaded():\n"
        "    return sorted(m for m in sys.modules if m.startswith('spine_host.cli.')"
        " and m.rsplit('.', 1)[1] not in ('context', 'terminal', 'output'))\n"
        "try:\n"
        "    cli(['--help'], prog_name='spine')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('help', loaded())\n"
        "try:\n"
        "    cli(['db', '--help'], prog_name='spine')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('db', loaded())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "help []" in out
    assert "db ['spine_host.cli.db']" in out
