"""The plugin compatibility check answers as packaging does, without importing it for plain
ranges."""

from __future__ import annotations

import itertools

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from spine_host._requires import canonical_name, excluding_clause

SPECIFIERS = [
    "",
    ">=0.1,<0.2",
    "<0.2,>=0.1",
    " (>=0.1, <0.2)",
    ">=0.1.0",
    ">0.1",
    ">0.1.0",
    "<0.1",
    "<=0.1",
    "<=0.1.0",
    "==0.1",
    "==0.1.0",
    "!=0.1",
    "~=0.1",
    "~=0.1.0",
    "~=0.0.9",
    "~=1.0",
    ">=1,<2",
    "==0.1.*",
    ">=0.1rc1",
    "<0.1.1.dev0",
    "===0.1.0",
]
RUNNING = ["0.1.0", "0.1", "0.1.1", "0.2.0", "1.0", "0.0.1", "0.1.0rc1", "0.1.0.post1"]


def packaging_answer(line: str, version: str) -> bool:
    requirement = Requirement(line)
    return requirement.specifier.contains(Version(version), prereleases=True)


@pytest.mark.parametrize(("specifier", "running"), list(itertools.product(SPECIFIERS, RUNNING)))
def test_the_answer_is_the_one_packaging_gives(specifier: str, running: str) -> None:
    line = f"spine-host{specifier}"
    excluded = excluding_clause([line], "spine-host", running)
    assert (excluded is None) == packaging_answer(line, running)


def test_the_excluding_range_is_written_as_packaging_writes_it() -> None:
    assert excluding_clause(["spine-host>=0.2,<0.3"], "spine-host", "0.1.0") == "<0.3,>=0.2"
    assert excluding_clause(["spine-host==0.1.*"], "spine-host", "0.2.0") == "==0.1.*"


def test_other_distributions_invalid_lines_and_false_markers_are_ignored() -> None:
    lines = [
        "requests>=2.31",
        "Spine_Host<0.0.1; extra == 'legacy'",
        "not a requirement at all ((",
        "spine.host>=0.1",
    ]
    assert excluding_clause(lines, "spine-host", "0.1.0") is None
    assert excluding_clause([*lines, "SPINE_host<0.1"], "spine-host", "0.1.0") == "<0.1"


def test_names_compare_as_pep_503_says() -> None:
    assert canonical_name("Spine_Host") == canonical_name("spine.host") == "spine-host"
