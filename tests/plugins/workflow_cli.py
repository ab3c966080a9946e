"""``python -m tests.plugins.workflow_cli --config X runs reap``: the workflow and run commands
under one root, the way ``spine`` mounts them, for tests that need a real separate process."""

from __future__ import annotations

import click

from spine_host.cli.context import CliState
from spine_host.cli.pipelines import pipelines_group
from spine_host.cli.runs import runs_group
from spine_host.cli.workflows import workflows_group


@click.group()
@click.option("--config", "config_path", required=True)
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """Root group with a config path, like ``spine --config``."""
    ctx.obj = CliState(config_path=config_path)
    ctx.call_on_close(ctx.obj.close)


main.add_command(pipelines_group)
main.add_command(workflows_group)
main.add_command(runs_group)

if __name__ == "__main__":
    main()
