"""``spine plugin new``: every kind of plugin it writes installs, passes its own tests, is listed.

For each kind the slow test writes ``spine-acme`` with ``spine plugin new``, installs it with pip
into a ``--target`` directory (never into this environment), then runs the generated tests with
``python -m pytest`` and ``spine plugins --json`` in subprocesses with that directory on
PYTHONPATH, as a plugin author would after ``pip install -e .[test]``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from spine_host import __version__
from spine_host.cli import cli
from spine_host.plugin_templates import KINDS, spine_host_requirement
from tests.plugin_distributions import pip_install, plugins_json

ROOT = Path(__file__).resolve().parents[1]

PROVIDES = {
    "source": {"sources": ["acme"]},
    "pipeline": {"pipelines": ["acme.load_day"], "tables": ["acme"]},
    "channel": {"alert_channels": ["acme"]},
    "storage": {"storage": ["acme"]},
}


def plugin_new(*args: str) -> Result:
    return CliRunner().invoke(cli, ["plugin", "new", *args])


def subprocess_environment(site: Path) -> dict[str, str]:
    """This environment without SPINE_* settings, with ``site`` (and spine_host) importable."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    return environment


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(PROVIDES))
def test_a_new_plugin_installs_passes_its_own_tests_and_is_listed(
    kind: str, tmp_path: Path
) -> None:
    written = plugin_new("acme", "--kind", kind, "--dir", str(tmp_path))
    assert written.exit_code == 0, written.output
    project = tmp_path / "spine-acme"
    assert "pip install -e .[test]" in written.output
    site = tmp_path / "site"
    pip_install(project, target=site)
    environment = subprocess_environment(site)

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = tests.stdout.strip().splitlines()[-1]
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "passed" in summary, summary
    assert "failed" not in summary, summary
    assert "error" not in summary, summary

    listed = plugins_json(pythonpath=site)["acme"]
    assert listed["status"] == "ok", listed
    assert listed["distribution"] == "spine-acme"
    assert listed["provides"] == PROVIDES[kind]

    # The entry module is cheap to import: no SQLAlchemy, no pyarrow (spine --help stays fast).
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, spine_acme; "
            "print([m for m in ('sqlalchemy', 'pyarrow', 'alembic') if m in sys.modules])",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", list(PROVIDES))
def test_the_distribution_names_its_entry_point_and_the_spine_host_range(
    kind: str, tmp_path: Path
) -> None:
    assert plugin_new("acme_prices", "--kind", kind, "--dir", str(tmp_path)).exit_code == 0
    project = tmp_path / "spine-acme-prices"

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))

    assert pyproject["project"]["name"] == "spine-acme-prices"
    assert pyproject["project"]["entry-points"]["spine"] == {"acme_prices": "spine_acme_prices"}
    major, minor = (int(part) for part in __version__.split(".")[:2])
    assert pyproject["project"]["dependencies"] == [
        f"spine-host>={major}.{minor},<{major}.{minor + 1}"
    ]
    assert pyproject["project"]["optional-dependencies"]["test"] == ["pytest>=8"]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "pip install -e .[test]" in readme
    assert not re.search(r"\$\{[a-z_]+\}", readme)  # every placeholder filled (${ENV} stays)


@pytest.mark.parametrize("kind", list(PROVIDES))
def test_the_entry_module_imports_only_spine_host_at_module_level(
    kind: str, tmp_path: Path
) -> None:
    assert plugin_new("acme", "--kind", kind, "--dir", str(tmp_path)).exit_code == 0
    entry = tmp_path / "spine-acme" / "spine_acme" / "__init__.py"

    tree = ast.parse(entry.read_text(encoding="utf-8"))

    imported: set[str] = set()
    for node in tree.body:  # module level: TYPE_CHECKING blocks and hook bodies are nested
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert imported == {"__future__", "typing", "spine_host"}


def test_an_existing_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "spine-acme").mkdir()
    (tmp_path / "spine-acme" / "notes.txt").write_text("mine", encoding="utf-8")

    result = plugin_new("acme", "--kind", "source", "--dir", str(tmp_path))

    assert result.exit_code == 2
    assert "already exists" in result.output
    assert [path.name for path in (tmp_path / "spine-acme").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("name", ["Acme", "acme-prices", "9lives", "a" * 31, "host", ""])
def test_a_name_that_cannot_be_a_package_is_refused(name: str, tmp_path: Path) -> None:
    result = plugin_new(name, "--kind", "source", "--dir", str(tmp_path))

    assert result.exit_code == 2
    assert f"plugin name {name!r}" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_name_spine_host_already_provides_for_the_kind_is_refused(tmp_path: Path) -> None:
    result = plugin_new("sqlite", "--kind", "storage", "--dir", str(tmp_path))

    assert result.exit_code == 2
    assert "already provides the storage scheme 'sqlite'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    result = plugin_new("acme", "--kind", "executor", "--dir", str(tmp_path))

    assert result.exit_code == 2
    assert "source" in result.output
    assert list(tmp_path.iterdir()) == []


def test_every_kind_of_template_is_offered() -> None:
    shown = plugin_new("--help").output

    assert f"[{'|'.join(KINDS)}]" in shown
    assert set(KINDS) == set(PROVIDES)


@pytest.mark.parametrize(
    ("version", "requirement"),
    [
        ("0.1.0", "spine-host>=0.1,<0.2"),
        ("1.4.2", "spine-host>=1.4,<1.5"),
        ("2.0.0rc1", "spine-host>=2.0,<2.1"),
        ("3", "spine-host>=3.0,<3.1"),
    ],
)
def test_the_spine_host_range_is_the_minor_release(version: str, requirement: str) -> None:
    assert spine_host_requirement(version) == requirement
