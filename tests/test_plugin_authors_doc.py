"""docs/plugin-authors.md runs: its Python blocks, its plugin's tests, its TOML and its commands.

The guide's conventions, which these tests rely on:

- A fenced block whose first line is ``# file: PATH`` (any language: python, toml, text) is a
  file of the guide's example plugin: the lines after that one are written to ``PATH`` in a
  temporary directory. All of them are written first: together they are the plugin, which the
  host loads whole (its entry module registers everything), whatever section shows each file.
- Every other ``python`` block is then executed, in document order, in one namespace for the
  whole document, with the temporary directory as working directory and first on
  ``sys.path``. Tracebacks name ``docs/plugin-authors.md`` and its line numbers.
- The files written under ``tests/`` are the plugin's tests: pytest runs them in a subprocess
  and they must pass (the PostgreSQL one is skipped when no server answers).
- ``toml`` blocks parse; each ``$ spine ...`` line of a ``console`` block names an existing
  command and its options.
- Authors import from ``spine_host`` (public names; the entry module only ``hookimpl``),
  ``spine_host.api`` and the testing kit ``spine_host.testing``, and every name they import
  exists.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import click
import pytest

import spine_host
import spine_host.api
from spine_host.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "plugin-authors.md"
ENTRY_MODULE = "spine_acme/__init__.py"
_FENCE = re.compile(r"^```(?P<language>\w*)\n(?P<text>.*?)^```$", re.MULTILINE | re.DOTALL)
_FILE = re.compile(r"^# file: (?P<path>\S+)$")


class Block(NamedTuple):
    """One fenced block of the guide."""

    language: str
    text: str
    line: int  # the line of the document where the block's text starts

    @property
    def file(self) -> str | None:
        """The plugin file this block is, if its first line says ``# file: PATH``."""
        match = _FILE.match(self.text.split("\n", 1)[0])
        return match["path"] if match else None

    @property
    def content(self) -> str:
        """What is written to :attr:`file`: the text after the ``# file:`` line."""
        return self.text.split("\n", 1)[1]


def blocks(language: str | None = None) -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    found = [
        Block(match["language"], match["text"], text.count("\n", 0, match.start()) + 2)
        for match in _FENCE.finditer(text)
    ]
    return [block for block in found if language is None or block.language == language]


def write_plugin(folder: Path) -> None:
    """Write every ``# file:`` block of the guide under ``folder``."""
    for block in blocks():
        if block.file is not None:
            path = folder / block.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.content, encoding="utf-8")


@pytest.fixture
def plugin_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The guide's plugin, written to ``tmp_path``: the working directory, first on sys.path.

    The guide's modules are forgotten afterwards, so no other test imports them.
    """
    write_plugin(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield tmp_path
    finally:
        for module in [name for name in sys.modules if name.split(".")[0] == "spine_acme"]:
            del sys.modules[module]


@pytest.mark.usefixtures("plugin_folder")
def test_every_python_block_runs_in_order() -> None:
    namespace: dict[str, Any] = {"__name__": "plugin_authors_doc"}
    runnable = [block for block in blocks("python") if block.file is None]
    assert len(runnable) >= 5
    for block in runnable:
        # Blank lines in front: a traceback shows the guide's own line numbers.
        code = compile("\n" * (block.line - 1) + block.text, str(DOC), "exec")
        exec(code, namespace)


@pytest.mark.slow
def test_the_plugins_tests_written_by_the_guide_pass(tmp_path: Path) -> None:
    write_plugin(tmp_path)
    assert sorted(path.name for path in (tmp_path / "tests").iterdir())
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in summary, summary
    assert "failed" not in summary, summary
    assert "error" not in summary, summary


def test_every_toml_block_parses() -> None:
    toml = blocks("toml")
    assert toml
    for block in toml:
        tomllib.loads(block.text)  # a `# file:` line is a TOML comment


def test_every_spine_command_shown_exists_with_its_options() -> None:
    shown = [
        line[2:]
        for block in blocks("console")
        for line in block.text.splitlines()
        if line.startswith("$ spine ")
    ]
    assert shown
    for line in shown:
        command: click.Command = cli
        words = shlex.split(line, comments=True)[1:]
        for word in words:
            if word.startswith("-") or not isinstance(command, click.Group):
                break
            found = command.get_command(click.Context(command), word)
            assert found is not None, f"`{line}`: no command {word!r}"
            command = found
        options = {option for param in command.params for option in param.opts}
        for word in words:
            if word.startswith("-"):
                assert word.split("=", 1)[0] in options, f"`{line}`: no option {word}"


def imports_from_spine_host() -> Iterator[tuple[Block, str, list[str]]]:
    """(block, module, names) for every import of a spine_host module in a Python block."""
    for block in blocks("python"):
        for node in ast.walk(ast.parse(block.text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spine_host"):
                yield block, node.module or "", [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("spine_host"):
                        yield block, alias.name, []


def test_every_name_imported_from_spine_host_api_exists() -> None:
    imported = {
        name
        for _, module, names in imports_from_spine_host()
        if module == "spine_host.api"
        for name in names
    }
    assert imported
    assert imported <= set(spine_host.api.__all__), imported - set(spine_host.api.__all__)
    for name in imported:
        assert hasattr(spine_host.api, name), name


def test_authors_import_only_from_the_public_surface() -> None:
    for block, module, names in imports_from_spine_host():
        where = f"docs/plugin-authors.md:{block.line}: {module}"
        if module == "spine_host":
            assert names, f"{where}: use `from spine_host import hookimpl`"
            assert set(names) <= set(spine_host.__all__), where
        elif module == "spine_host.api":
            assert set(names) <= set(spine_host.api.__all__), where
        elif module.startswith("spine_host.testing"):
            kit = importlib.import_module(module)
            assert all(hasattr(kit, name) for name in names), where
        else:
            raise AssertionError(f"{where}: import authors' names from spine_host.api")


def test_the_entry_module_imports_only_hookimpl_at_module_level() -> None:
    (entry,) = [block for block in blocks("python") if block.file == ENTRY_MODULE]
    imported = {
        (node.module, alias.name)
        for node in ast.parse(entry.text).body  # module level: hook bodies are nested
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert not [node for node in ast.parse(entry.text).body if isinstance(node, ast.Import)]
    assert {pair for pair in imported if pair[0] not in ("__future__", "typing")} == {
        ("spine_host", "hookimpl")
    }
