"""``[freshness.NAME]``: a workflow or pipeline that must have succeeded recently, schedule or not.

::

    [freshness.prices]
    pipeline = "prices.load"
    fresh_within = "36h"          # some run must have COMPLETED in the last 36 hours
    severity = "ERROR"            # of the DEADLINE_MISSED alert (default ERROR)

The scheduler service checks these on its housekeeping tick (see :mod:`.deadlines`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from spine_host.errors import ConfigError
from spine_host.orchestration.schedule import parse_duration
from spine_host.severity import Severity

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["Freshness", "freshness_rules"]

_KEYS = {"workflow", "pipeline", "fresh_within", "severity"}


@attrs.frozen
class Freshness:
    """Some run of ``target`` must have COMPLETED within ``fresh_within`` seconds.

    Attributes:
        name: the ``[freshness.NAME]`` name.
        target_kind: ``workflow`` or ``pipeline``.
        target: its registered name.
        fresh_within: seconds.
        severity: of the DEADLINE_MISSED alert.
    """

    name: str
    target_kind: Literal["workflow", "pipeline"]
    target: str
    fresh_within: float
    severity: Severity = Severity.ERROR

    @property
    def key(self) -> str:
        """The ``deadlines.deadline_key`` of this rule."""
        return f"freshness:{self.name}"


def freshness_rules(host: Host) -> list[Freshness]:
    """The ``[freshness.NAME]`` tables of the host's configuration, checked: a ConfigError
    names the table and the key for an unknown key, a bad duration or severity, or a target
    that is not registered."""
    rules = []
    for name, table in sorted(host.config.freshness.items()):
        rules.append(_rule(host, name, table))
    return rules


def _rule(host: Host, name: str, table: Mapping[str, Any]) -> Freshness:
    path = f"freshness.{name}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_KEYS))}"
        )
    kinds = [kind for kind in ("workflow", "pipeline") if kind in table]
    if len(kinds) != 1:
        raise ConfigError(f"{path}: give exactly one of workflow or pipeline")
    kind: Literal["workflow", "pipeline"] = "workflow" if kinds[0] == "workflow" else "pipeline"
    target = table[kind]
    registry = host.registries.workflows if kind == "workflow" else host.registries.pipelines
    if not isinstance(target, str) or target not in registry:
        known = ", ".join(registry.names()) or "none"
        raise ConfigError(
            f"{path}.{kind} = {target!r}: not a registered {kind}; registered: {known}"
        )
    if "fresh_within" not in table:
        raise ConfigError(f"{path}.fresh_within: required (a duration like 36h)")
    try:
        seconds = parse_duration(table["fresh_within"])
    except ValueError as exc:
        raise ConfigError(f"{path}.fresh_within = {table['fresh_within']!r}: {exc}") from None
    if seconds is None or seconds <= 0:
        raise ConfigError(f"{path}.fresh_within = {table['fresh_within']!r}: must be positive")
    try:
        severity = Severity.parse(table.get("severity", "ERROR"))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}.severity = {table.get('severity')!r}: {exc}") from None
    return Freshness(name, kind, target, seconds, severity)
