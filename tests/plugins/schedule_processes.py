"""Running `spine` against tests.plugins.schedule_targets in a real process: a dist-info with
its entry point, a spine.toml with schedules, and emptied scheduler tables."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from spine_host.storage import schema
from tests.plugin_distributions import install_dist_info
from tests.plugins.workflow_fixtures import make_host

REPO = Path(__file__).resolve().parents[2]


def install_targets(site: Path) -> None:
    """A dist-info whose ``spine`` entry point loads tests.plugins.schedule_targets."""
    install_dist_info(
        site, "spine-schedule-targets-test", {"schedule_targets": "tests.plugins.schedule_targets"}
    )


def prepare(tmp_path: Path, url: str, schedules: str) -> tuple[Path, dict[str, str]]:
    """Empty scheduler tables, a spine.toml with ``schedules``, and the environment to run in."""
    host = make_host(url)
    with host.storage.engine.begin() as connection:
        connection.execute(sa.delete(schema.schedule_runs))
        connection.execute(sa.delete(schema.schedules))
    host.close()
    site = tmp_path / "site"
    install_targets(site)
    config = tmp_path / "spine.toml"
    config.write_text(f'[storage]\nurl = "{url}"\n\n{schedules}')
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    return config, env
