"""Running `spine` against tests.plugins.schedule_targets in a real process: a dist-info with
its entry point, a spine.toml with schedules, and emptied scheduler tables."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from spine_host.plugins import BUILTIN_PLUGINS
from spine_host.storage import schema
from tests.plugins.workflow_fixtures import make_host

REPO = Path(__file__).resolve().parents[2]


def install_targets(site: Path) -> None:
    """A dist-info whose ``spine`` entry point loads tests.plugins.schedule_targets."""
    listed = {module for _, module in BUILTIN_PLUGINS}
    entry_points = ["schedule_targets = tests.plugins.schedule_targets"]
    for name, module in [
        ("test_sqlite", "spine_host.builtins.sqlite"),
        ("test_executors", "spine_host.builtins.executors"),
    ]:
        if module not in listed:
            entry_points.append(f"{name} = {module}")
    dist_info = site / "spine_schedule_targets_test-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: spine-schedule-targets-test\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[spine]\n" + "\n".join(entry_points) + "\n")


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
