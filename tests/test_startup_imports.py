"""`spine --help` and `spine --version` stay fast: no driver or heavy library is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["psycopg", "ibm_db", "ibm_db_sa", "requests", "pyarrow", "sqlalchemy", "apscheduler"]

PROBE = """
import json, sys
from spine_host.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="spine", standalone_mode=False)
except SystemExit:
    pass
heavy = {heavy!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins", "--help"]])
def test_no_heavy_module_is_imported(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert imported == [], f"spine {' '.join(args)} imported {imported}"


@pytest.mark.shipped_plugins
def test_every_shipped_plugin_is_installed_so_the_check_means_something() -> None:
    from importlib.metadata import entry_points

    names = {entry_point.name for entry_point in entry_points(group="spine")}
    assert {"postgres", "db2", "slack", "http", "servicenow"} <= names
