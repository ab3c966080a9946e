"""Build, install and run tiny plugin distributions for tests that need real entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

SPINE = str(Path(sys.executable).with_name("spine"))


def make_distribution(
    root: Path,
    dist: str,
    module_source: str,
    *,
    entry_point: str | None = None,
    requires: str = "spine-host>=0.1",
) -> Path:
    """Write a one-module plugin distribution and return its directory."""
    module = dist.replace("-", "_")
    project = root / dist
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(textwrap.dedent(module_source))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{dist}"
            version = "1.2.3"
            dependencies = ["{requires}"]

            [project.entry-points.spine]
            {entry_point or module} = "{module}"

            [tool.hatch.build.targets.wheel]
            packages = ["{module}"]
            """
        )
    )
    return project


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", *args],
        check=True,
        capture_output=True,
        text=True,
    )


def pip_install(project: Path, target: Path | None = None) -> None:
    extra = ["--target", str(target)] if target else []
    pip("install", "--no-build-isolation", "--no-deps", "--no-index", *extra, str(project))


def spine(
    *args: str, pythonpath: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    environment.update(env)
    return subprocess.run(
        [SPINE, *args], capture_output=True, text=True, env=environment, timeout=60, check=False
    )


def plugins_json(**kwargs: Any) -> dict[str, dict[str, object]]:
    result = spine("plugins", "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return {entry["name"]: entry for entry in json.loads(result.stdout)}


def install_dist_info(site: Path, dist: str, entry_points: dict[str, str]) -> None:
    """A code-less ``dist``-1.0.dist-info in ``site`` whose ``spine`` entry points load
    ``entry_points`` (name -> module on the path), plus the sqlite storage and local executor
    plugins for as long as they are not listed as builtins. Put ``site`` on PYTHONPATH."""
    from spine_host.plugins import BUILTIN_PLUGINS

    listed = {module for _, module in BUILTIN_PLUGINS}
    lines = [f"{name} = {module}" for name, module in entry_points.items()]
    for name, module in [
        ("test_sqlite", "spine_host.builtins.sqlite"),
        ("test_executors", "spine_host.builtins.executors"),
    ]:
        if module not in listed:
            lines.append(f"{name} = {module}")
    dist_info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[spine]\n" + "\n".join(lines) + "\n")
