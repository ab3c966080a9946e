"""The plugin author kit's templates, and how ``spine plugin new`` renders them.

One folder per kind of plugin (``source``, ``pipeline``, ``channel``, ``storage``) plus
``common`` (what every kind gets: ``pyproject.toml``, ``README.md``, ``CHANGELOG.md``,
``py.typed`` and the "it is installed and listed" test). Rendering a kind writes ``common`` and
the kind's folder into ``spine-NAME/``:

- every template file ends in ``.tmpl`` (so ruff, mypy and pytest never mistake one for code);
  the written file drops the suffix;
- ``{package}`` and ``{name}`` in a file's path are replaced (``{package}/source.py.tmpl`` ->
  ``spine_acme/source.py``);
- the contents are :class:`string.Template` text: ``${name}``, ``${package}``,
  ``${distribution}``, ``${class_name}``, ``${spine_requirement}``... (``$$`` is a dollar);
- a file named ``_readme_*.md.tmpl`` is a fragment of ``README.md``, not a file of its own
  (``_readme_configure.md.tmpl`` fills ``${readme_configure}``).

    written = render_plugin("acme", "source", Path("."))   # -> [Path("spine-acme/..."), ...]
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from spine_host._version import __version__
from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "KINDS",
    "PluginKind",
    "check_plugin_name",
    "render_plugin",
    "spine_host_requirement",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
# Names that would shadow spine itself: spine-host's distribution, and its package.
_RESERVED = frozenset({"host"})
_FRAGMENT = "_readme_"


@attrs.frozen
class PluginKind:
    """What one kind of generated plugin provides.

    Attributes:
        name: ``source``, ``pipeline``, ``channel`` or ``storage``.
        summary: one line for ``pyproject.toml`` and the README, with ``{name}`` for the name.
        provides: what ``spine plugins --json`` lists under ``provides`` once it is installed,
            with ``{name}`` for the name.
        registry: the host registry whose builtin names a new plugin must not take, if any.
    """

    name: str
    summary: str
    provides: dict[str, list[str]]
    registry: str | None = None

    def provides_for(self, name: str) -> dict[str, list[str]]:
        """``provides`` with the plugin's name filled in."""
        return {
            kind: [entry.format(name=name) for entry in entries]
            for kind, entries in self.provides.items()
        }


#: The kinds ``spine plugin new --kind`` offers.
KINDS: dict[str, PluginKind] = {
    kind.name: kind
    for kind in (
        PluginKind(
            "source",
            "the {name} source type: rows from a JSON-lines file",
            {"sources": ["{name}"]},
            registry="sources",
        ),
        PluginKind(
            "pipeline",
            "the {name}.load_day pipeline and its own {name}_readings table",
            {"pipelines": ["{name}.load_day"], "tables": ["{name}"]},
        ),
        PluginKind(
            "channel",
            "the {name} alert channel: alerts appended to a file as JSON lines",
            {"alert_channels": ["{name}"]},
            registry="alert_channels",
        ),
        PluginKind(
            "storage",
            "the {name} storage scheme: {name}:///path/to.db is a SQLite database",
            {"storage": ["{name}"]},
            registry="storage",
        ),
    )
}


def spine_host_requirement(version: str = __version__) -> str:
    """``spine-host>=X.Y,<X.(Y+1)``: the minor release a plugin is written against.

    Until 1.0 a minor release may change hook specs (CHANGELOG.md), so a plugin accepts the
    patch releases of the minor it was generated for and declares the next one when tested.
    """
    from packaging.version import Version

    major, minor = (*Version(version).release, 0)[:2]
    return f"spine-host>={major}.{minor},<{major}.{minor + 1}"


def check_plugin_name(name: str) -> None:
    """Refuse a name that cannot be an entry point, a package ``spine_NAME`` and a table prefix.

    Raises:
        SpineError: VALIDATION, saying what a name may contain.
    """
    if not _NAME.match(name):
        raise SpineError(
            f"plugin name {name!r}: use lower-case letters, digits and _, starting with a letter, "
            "at most 30 characters (e.g. acme or acme_prices); it names the entry point, the "
            "package spine_NAME and the distribution spine-NAME",
            category=ErrorCategory.VALIDATION,
        )
    if name in _RESERVED:
        raise SpineError(
            f"plugin name {name!r}: spine-{name} is spine itself; choose another name",
            category=ErrorCategory.VALIDATION,
        )


def render_plugin(name: str, kind: str, directory: Path) -> list[Path]:
    """Write the distribution ``spine-NAME/`` of a ``kind`` plugin under ``directory``.

    The distribution is spelt with hyphens (``acme_prices`` -> ``spine-acme-prices``), the
    package with underscores (``spine_acme_prices``).

    Returns:
        The files written, relative to ``directory``, in a stable order.

    Raises:
        SpineError: VALIDATION for a bad name or kind, or when ``spine-NAME`` already exists
            (nothing is overwritten).
    """
    check_plugin_name(name)
    if kind not in KINDS:
        raise SpineError(
            f"plugin kind {kind!r}: expected one of {', '.join(KINDS)}",
            category=ErrorCategory.VALIDATION,
        )
    distribution = _distribution(name)
    target = directory / distribution
    if target.exists():
        raise SpineError(
            f"{target} already exists; nothing was written (remove it or choose another --dir)",
            category=ErrorCategory.VALIDATION,
        )
    from importlib import resources  # not at import time: it costs `spine --help` ~6 ms

    root = resources.files(__name__)
    values = _values(name, KINDS[kind])
    folders = [root / "common", root / kind]
    for folder in folders:
        for relative, template in _templates(folder):
            if _is_fragment(relative):
                key = relative.name[1:].split(".", 1)[0]
                values[key] = string.Template(template.read_text("utf-8")).substitute(values)
    rendered: dict[Path, str] = {}  # everything is rendered before anything is written
    for folder in folders:
        for relative, template in _templates(folder):
            if not _is_fragment(relative):
                path = Path(distribution, *(part.format_map(values) for part in relative.parts))
                path = path.with_name(path.name.removesuffix(".tmpl"))
                rendered[path] = string.Template(template.read_text("utf-8")).substitute(values)
    target.mkdir(parents=True)
    for path, text in rendered.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_text(text, encoding="utf-8")
    return sorted(rendered)


def _values(name: str, kind: PluginKind) -> dict[str, str]:
    provides = kind.provides_for(name)
    summary = kind.summary.format(name=name)
    return {
        "name": name,
        "package": f"spine_{name}",
        "distribution": _distribution(name),
        "class_name": "".join(part.capitalize() for part in name.split("_")),
        "kind": kind.name,
        "summary": summary,
        "summary_sentence": f"{summary[0].upper()}{summary[1:]}.",
        "provides_literal": json.dumps(provides),
        "provides_text": "; ".join(f"{key}: {', '.join(value)}" for key, value in provides.items()),
        "spine_requirement": spine_host_requirement(),
    }


def _distribution(name: str) -> str:
    """``spine-acme-prices`` for ``acme_prices``: distributions are spelt with hyphens."""
    return f"spine-{name.replace('_', '-')}"


def _is_fragment(relative: Path) -> bool:
    return relative.name.startswith(_FRAGMENT)


def _templates(folder: Traversable, prefix: Path = Path()) -> Iterator[tuple[Path, Traversable]]:
    """Every ``.tmpl`` file under ``folder``, with its path relative to it."""
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _templates(entry, prefix / entry.name)
        elif entry.name.endswith(".tmpl"):
            yield prefix / entry.name, entry
