"""Installed distributions' entry points of one group, found without importlib.metadata.

importlib.metadata finds them exactly, but importing it (email, zipfile, csv...) and parsing
each ``METADATA`` with the email package costs about half as much as importing click, on every
``spine`` command. Installers (pip, uv, hatch and setuptools editable installs) put a
``.dist-info`` directory on ``sys.path`` holding plain-text ``entry_points.txt`` and
``METADATA``; those are read here directly. Anything else (a zip or ``.egg`` on ``sys.path``, an
``.egg-info`` declaring the group, a finder that provides distributions of its own) is handed
to importlib.metadata, so the answer is the one importlib.metadata gives: the first
distribution of each name on ``sys.path`` wins (``tests/test_entry_points_scan.py`` compares
the two).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import importlib.metadata as metadata

__all__ = ["Distribution", "EntryPoint", "entry_points"]

_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?")


class Distribution:
    """What the plugin loader needs of a distribution: name, version and requirements."""

    def __init__(self, name: str, version: str | None, requires: list[str]) -> None:
        self.name = name
        self.version = version
        self.requires = requires

    @classmethod
    def from_metadata(cls, dist: metadata.Distribution | None) -> Distribution:
        """From an importlib.metadata distribution (parsing its METADATA once)."""
        if dist is None:
            return cls("(unknown distribution)", None, [])
        meta = dist.metadata
        requires = meta.get_all("Requires-Dist") or dist.requires or []
        return cls(meta["Name"], meta["Version"], list(requires))

    @classmethod
    def from_dist_info(cls, path: str) -> Distribution:
        """From the headers of ``path/METADATA`` (core metadata: RFC 822 style headers)."""
        name, version, requires = "", None, []
        try:
            with open(os.path.join(path, "METADATA"), encoding="utf-8") as file:
                headers = _headers(file)
                for key, value in headers:
                    if key == "name":
                        name = value
                    elif key == "version":
                        version = value
                    elif key == "requires-dist":
                        requires.append(value)
        except OSError:
            pass
        return cls(name or _stem_name(os.path.basename(path)), version, requires)


class EntryPoint:
    """One entry point: ``name = module:attribute``, and the distribution declaring it."""

    def __init__(self, name: str, value: str, dist: Distribution) -> None:
        self.name = name
        self.value = value
        self.dist = dist

    def load(self) -> Any:
        """Import the module and return the attribute (the module itself when none is named)."""
        match = _VALUE.fullmatch(self.value.strip())
        if match is None:
            raise ValueError(f"entry point {self.name!r}: malformed value {self.value!r}")
        found: Any = importlib.import_module(match["module"])
        for part in (match["attr"] or "").split("."):
            if part:
                found = getattr(found, part)
        return found


def entry_points(group: str, path: Iterable[str] | None = None) -> list[EntryPoint]:
    """Every entry point of ``group``, from the first distribution of each name on ``path``
    (``sys.path`` by default), in path order."""
    paths = list(sys.path if path is None else path)
    if _other_finders():
        return _from_metadata(group, paths, every_path=True)
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for entry in paths:
        folder = entry or "."
        if entry.endswith(".egg") or not os.path.isdir(folder):
            if os.path.exists(folder):
                found += [ep for ep in _from_metadata(group, [entry]) if _first(ep, seen)]
            continue
        try:
            children = sorted(os.listdir(folder))
        except OSError:
            continue
        for child in children:
            lowered = child.lower()
            if not lowered.endswith((".dist-info", ".egg-info")):
                continue
            key = _normalized(_stem_name(child))
            if key in seen:
                continue
            seen.add(key)
            declared = _declared(os.path.join(folder, child), group)
            if declared and lowered.endswith(".egg-info"):
                # Legacy metadata (PKG-INFO, requires.txt): importlib.metadata reads it.
                found += _egg_info(os.path.join(folder, child), group)
            elif declared:
                dist = Distribution.from_dist_info(os.path.join(folder, child))
                found += [EntryPoint(name, value, dist) for name, value in declared]
    return found


# -- helpers ------------------------------------------------------------------------------------


def _other_finders() -> bool:
    """True when a finder besides the standard path finder provides distributions."""
    from importlib.machinery import PathFinder

    return any(
        finder is not PathFinder and hasattr(finder, "find_distributions")
        for finder in sys.meta_path
    )


def _from_metadata(group: str, paths: list[str], every_path: bool = False) -> list[EntryPoint]:
    import importlib.metadata as metadata

    dists = metadata.distributions() if every_path else metadata.distributions(path=paths)
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for dist in dists:
        key = _normalized(dist.metadata["Name"] or "")
        if key in seen:
            continue
        seen.add(key)
        declared = [ep for ep in dist.entry_points if ep.group == group]
        if declared:
            facts = Distribution.from_metadata(dist)
            found += [EntryPoint(ep.name, ep.value, facts) for ep in declared]
    return found


def _egg_info(path: str, group: str) -> list[EntryPoint]:
    import importlib.metadata as metadata
    import pathlib

    dist = metadata.PathDistribution(pathlib.Path(path))
    facts = Distribution.from_metadata(dist)
    return [EntryPoint(ep.name, ep.value, facts) for ep in dist.entry_points if ep.group == group]


def _first(entry_point: EntryPoint, seen: set[str]) -> bool:
    key = _normalized(entry_point.dist.name)
    if key in seen:
        return False
    seen.add(key)
    return True


def _declared(info: str, group: str) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of ``[group]`` in ``info/entry_points.txt`` (an INI-like file:
    sections, ``name = value`` lines, ``#`` comments)."""
    try:
        with open(os.path.join(info, "entry_points.txt"), encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return []
    pairs = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


def _headers(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(lower-case key, value)`` of each header before the first blank line; continuation
    lines (starting with white space) are joined to the header they continue."""
    key: str | None = None
    value = ""
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            break
        if line[0] in " \t" and key is not None:
            value += "\n" + line.strip()
            continue
        if key is not None:
            yield key, value
        name, colon, rest = line.partition(":")
        key, value = (name.strip().lower(), rest.strip()) if colon else (None, "")
    if key is not None:
        yield key, value


def _stem_name(child: str) -> str:
    """``spine_otc`` from ``spine_otc-0.1.0.dist-info``."""
    return child.rpartition(".")[0].partition("-")[0]


def _normalized(name: str) -> str:
    """A distribution name as importlib.metadata keys them: ``Spine.Host`` is ``spine_host``."""
    return re.sub(r"[-_.]+", "_", name).lower()
