"""The spine-slack distribution installs, is found through its entry point, provides ``slack``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from spine_host import Host


def test_entry_point_loads_and_provides_the_slack_channel() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    info = {plugin.name: plugin for plugin in host.plugin_report()}["slack"]
    assert info.distribution == "spine-slack"
    assert info.status.value == "ok", info.errors
    assert info.provides == {"alert_channels": ["slack"]}
    assert "slack" in host.registries.alert_channels


def test_spine_plugins_lists_slack_providing_the_slack_channel(tmp_path: Path) -> None:
    spine = Path(sys.executable).with_name("spine")
    # No SPINE_* settings of the caller and no spine.toml around: the listing as installed.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    result = subprocess.run(
        [str(spine), "plugins", "--json"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed["slack"]["status"] == "ok", listed["slack"]["error"]
    assert listed["slack"]["provides"] == {"alert_channels": ["slack"]}
    assert listed["slack"]["hooks"] == ["spine_register_alert_channels"]


def test_loading_the_plugin_does_not_import_requests() -> None:
    # The entry module stays cheap: `spine --help` must not pay for requests.
    probe = "import sys, spine_slack; print('requests' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "False"
