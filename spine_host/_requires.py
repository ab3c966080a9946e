"""Does a plugin distribution's ``Requires-Dist`` admit the running spine-host? Cheaply.

Every ``spine`` command asks this of each installed plugin before importing it. packaging
answers exactly, but its requirement grammar and marker parser cost more to import than the rest
of ``spine --help``, and nearly every plugin writes a plain range (``spine-host>=0.1,<0.2``). A
line of that shape (a name, then comparisons with release numbers, no extras, URL or marker)
is decided here by comparing tuples of integers; any other line is handed to packaging, so the
answer is always the one packaging gives (``tests/test_requires.py`` compares the two).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["canonical_name", "excluding_clause"]

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(.*)", re.DOTALL)
_CLAUSE = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)\s*")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def canonical_name(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Spine_Host`` is ``spine-host``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def excluding_clause(requirements: Iterable[str], distribution: str, version: str) -> str | None:
    """The specifier of the first requirement on ``distribution`` that ``version`` does not
    satisfy (``">=0.2,<0.3"``), or None when every one admits it.

    Lines that do not parse are skipped, as are requirements whose marker is false without
    extras (an optional dependency does not bind the running host).
    """
    wanted = canonical_name(distribution)
    for line in requirements:
        found = _NAME.match(line)
        if found is None or canonical_name(found[1]) != wanted:
            continue  # another distribution (or no valid requirement at all)
        clauses = _plain_clauses(found[2]) if _RELEASE.fullmatch(version) else None
        if clauses is None:  # not a plain range: packaging decides
            excluded = _packaging_verdict(line, wanted, version)
        elif all(_holds(op, _release(version), _release(bound)) for op, bound in clauses):
            excluded = None
        else:  # written as packaging writes a SpecifierSet
            excluded = ",".join(sorted(f"{op}{bound}" for op, bound in clauses))
        if excluded is not None:
            return excluded
    return None


def _plain_clauses(specifiers: str) -> list[tuple[str, str]] | None:
    """``>=0.1,<0.2`` (or ``(>=0.1,<0.2)``) as (operator, release) pairs; None when the text
    holds anything else: extras, a URL, a marker, a wildcard, a pre-release..."""
    text = specifiers.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if not text.strip():
        return []
    clauses = []
    for part in text.split(","):
        clause = _CLAUSE.fullmatch(part)
        if clause is None:
            return None
        clauses.append((clause[1], clause[2]))
    return clauses


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _holds(operator: str, running: tuple[int, ...], bound: tuple[int, ...]) -> bool:
    if operator == "~=":  # ~=1.4.5 is >=1.4.5 and ==1.4.*
        if len(bound) < 2:
            return False
        prefix = bound[:-1]
        padded = running + (0,) * (len(prefix) - len(running))
        return _padded(running) >= _padded(bound) and padded[: len(prefix)] == prefix
    left, right = _padded(running), _padded(bound)
    return {
        "==": left == right,
        "!=": left != right,
        "<=": left <= right,
        ">=": left >= right,
        "<": left < right,
        ">": left > right,
    }[operator]


def _padded(release: tuple[int, ...]) -> tuple[int, ...]:
    """Without trailing zeros, so ``1.0`` and ``1.0.0`` compare equal (PEP 440)."""
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


def _packaging_verdict(line: str, wanted: str, version: str) -> str | None:
    """packaging's answer for one line: the excluding specifier, or None."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    try:
        requirement = Requirement(line)
        running = Version(version)
    except (InvalidRequirement, InvalidVersion):
        return None
    if canonical_name(requirement.name) != wanted:
        return None
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        return None
    if requirement.specifier.contains(running, prereleases=True):
        return None
    return str(requirement.specifier)
