"""The spine-servicenow distribution installs, is found through its entry point, loads and
provides the ``servicenow`` alert channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from spine_servicenow import ServiceNowChannel

from spine_host import Host


def test_entry_point_loads_and_is_listed() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    info = {plugin.name: plugin for plugin in host.plugin_report()}["servicenow"]
    assert info.distribution == "spine-servicenow"
    assert info.status.value == "ok", info.errors
    assert host.registries.alert_channels.get("servicenow") is ServiceNowChannel
    host.close()


def test_spine_plugins_json_shows_the_servicenow_channel(tmp_path: Path) -> None:
    # Run in an empty directory with no SPINE_* variables: no spine.toml of the repository.
    environ = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    spine = str(Path(sys.executable).with_name("spine"))
    result = subprocess.run(
        [spine, "plugins", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    servicenow = listed["servicenow"]
    assert servicenow["distribution"] == "spine-servicenow"
    assert servicenow["status"] == "ok", servicenow["error"]
    assert servicenow["provides"] == {"alert_channels": ["servicenow"]}
    assert servicenow["hooks"] == ["spine_register_alert_channels"]


def test_the_entry_module_does_not_import_requests() -> None:
    # A fresh interpreter: `spine --help` with the plugin installed must stay cheap.
    code = "import sys, spine_servicenow; print('requests' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
