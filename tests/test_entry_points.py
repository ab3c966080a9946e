"""Real distributions, built and installed with pip, found through the ``spine`` entry-point group.

Each test writes a tiny plugin distribution to a temporary directory and installs it with pip:
into the running environment where the acceptance criterion says "pip install / uninstall", and
otherwise with ``--target`` into a directory put on ``PYTHONPATH`` of ``spine`` subprocesses, so
a failing test cannot leave a broken plugin behind in the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugin_distributions import make_distribution, pip, pip_install, plugins_json, spine

SOURCE_PLUGIN = """
    from spine_host import hookimpl

    class TickerSource:
        '''A third-party source type.'''

    @hookimpl
    def spine_register_sources(register):
        # Not "ticker": the README's example plugin of that name may be installed here too.
        register("ticker_demo", TickerSource)
"""

BROKEN_PLUGIN = """
    raise RuntimeError("the ticker plugin cannot find its licence file")
"""


def test_pip_installed_third_party_plugin_is_listed_resolves_and_goes_with_uninstall(
    tmp_path: Path,
) -> None:
    project = make_distribution(tmp_path, "spine-ticker-demo", SOURCE_PLUGIN)
    pip_install(project)
    try:
        listed = plugins_json()["spine_ticker_demo"]
        assert listed["distribution"] == "spine-ticker-demo"
        assert listed["version"] == "1.2.3"
        assert listed["status"] == "ok"
        assert listed["provides"] == {"sources": ["ticker_demo"]}
        resolved = subprocess.run(
            [
                sys.executable,
                "-c",
                "from spine_host import Host; "
                "print(Host(storage_url='sqlite://')"
                ".registries.sources.get('ticker_demo').__name__)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert resolved.stdout.strip() == "TickerSource"
    finally:
        pip("uninstall", "--yes", "spine-ticker-demo")
    assert "spine_ticker_demo" not in plugins_json()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    target.mkdir()
    return target


def test_plugin_that_raises_on_import_is_isolated_reported_and_fatal_when_strict(
    tmp_path: Path, site: Path
) -> None:
    pip_install(make_distribution(tmp_path, "spine-broken-demo", BROKEN_PLUGIN), target=site)

    assert spine("--help", pythonpath=site).returncode == 0

    listed = plugins_json(pythonpath=site)["spine_broken_demo"]
    assert listed["status"] == "broken"
    assert "cannot find its licence file" in str(listed["error"])
    assert listed["distribution"] == "spine-broken-demo"
    # the others still load
    assert plugins_json(pythonpath=site)["builtin.alerts"]["status"] == "ok"

    doctor = spine("doctor", pythonpath=site)
    assert doctor.returncode == 1
    assert "spine_broken_demo" in doctor.stdout

    strict = spine("plugins", pythonpath=site, SPINE_STRICT_PLUGINS="1")
    assert strict.returncode == 1
    assert "spine_broken_demo" in strict.stderr
    assert "licence file" in strict.stderr
    assert "spine_broken_demo" in strict.stdout  # the table is printed before the exit
    assert "broken" in strict.stdout


def test_plugin_requiring_another_spine_host_is_incompatible_and_never_imported(
    tmp_path: Path, site: Path
) -> None:
    # If this module were imported it would be reported broken, not incompatible.
    project = make_distribution(
        tmp_path, "spine-ancient-demo", BROKEN_PLUGIN, requires="spine-host<0.0.1"
    )
    pip_install(project, target=site)
    listed = plugins_json(pythonpath=site)["spine_ancient_demo"]
    assert listed["status"] == "incompatible"
    assert "spine-host<0.0.1" in str(listed["error"])
    assert "0.1.0" in str(listed["error"])
    assert "licence" not in str(listed["error"])


def test_two_distributions_declaring_one_entry_point_name_are_both_named(
    tmp_path: Path, site: Path
) -> None:
    for dist in ("spine-twin-one", "spine-twin-two"):
        pip_install(
            make_distribution(tmp_path, dist, SOURCE_PLUGIN, entry_point="twin"), target=site
        )
    listed = plugins_json(pythonpath=site)["twin"]
    assert listed["status"] == "conflict"
    assert "spine-twin-one" in str(listed["error"])
    assert "spine-twin-two" in str(listed["error"])


def _imported_after_host(**env: str) -> dict[str, Any]:
    code = (
        "import json, sys; from spine_host import Host; "
        "host = Host(storage_url='sqlite://'); "
        "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('spine_')), "
        "'plugins': {i.name: i.status.value for i in host.plugin_report()}}))"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.shipped_plugins
def test_disabled_plugin_is_never_imported() -> None:
    seen = _imported_after_host(SPINE_DISABLE_PLUGINS="slack")
    assert "spine_slack" not in seen["modules"]
    assert seen["plugins"]["slack"] == "disabled"
    assert "spine_postgres" in seen["modules"]


def test_empty_load_list_loads_builtins_only() -> None:
    seen = _imported_after_host(SPINE_LOAD_PLUGINS="")
    plugins: dict[str, str] = seen["plugins"]
    assert {name for name, status in plugins.items() if status == "ok"} == {
        name for name in plugins if name.startswith("builtin.")
    }
    assert not [module for module in seen["modules"] if module in {"spine_slack", "spine_db2"}]
