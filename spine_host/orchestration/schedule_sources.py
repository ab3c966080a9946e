"""The schedules a host knows, checked as a whole: plugins' and ``spine.toml``'s together.

A ``Schedule`` checks itself when built (cron, zone, policies). What needs every schedule at
once lives here: ``[schedules.NAME]`` tables turned into schedules with errors naming the TOML
path, ``after`` names that must exist and form no cycle, targets that must be registered, and
one name defined in two places.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from spine_host.errors import ConfigError
from spine_host.orchestration.schedule import Schedule

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["check_after_cycles", "schedule_origin", "schedules_from_config", "validate_schedules"]


def schedules_from_config(config_tables: Mapping[str, Mapping[str, Any]]) -> list[Schedule]:
    """Build ``spine.toml``'s ``[schedules.NAME]`` tables; errors name ``schedules.NAME.key``."""
    schedules = []
    for name, table in config_tables.items():
        path = f"schedules.{name}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path} = {table!r}: expected a table")
        for key, value in table.items():
            expected = _CONFIG_KEYS.get(key)
            if expected is None:
                raise ConfigError(
                    f"{path}.{key}: unknown key; allowed keys: {', '.join(sorted(_CONFIG_KEYS))}"
                )
            kinds, what = expected
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise ConfigError(f"{path}.{key} = {value!r}: expected {what}")
        try:
            schedules.append(Schedule(name, **table))
        except ConfigError as exc:
            field = exc.context.get("field")
            if field is None:
                raise
            raise ConfigError(
                f"{path}.{field} = {exc.context['value']!r}: {exc.context['reason']}",
                context=exc.context,
            ) from exc
    return schedules


def check_after_cycles(schedules: Iterable[Schedule]) -> None:
    """Refuse an ``after`` naming an unknown schedule, or ``after`` links forming a cycle."""
    by_name = {schedule.name: schedule for schedule in schedules}
    for schedule in by_name.values():
        for other in schedule.after:
            if other not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                _refuse(schedule.name, "after", other, f"not a known schedule; known: {known}")
    order = graphlib.TopologicalSorter({s.name: s.after for s in by_name.values()})
    try:
        order.prepare()
    except graphlib.CycleError as exc:
        # CycleError lists the cycle backwards (each node is followed by one it waits for).
        cycle = list(reversed(exc.args[1]))
        raise ConfigError(
            f"schedules wait for each other in a cycle: {' -> '.join(cycle)} "
            f"(each waits, through after, for the next)",
            context={"cycle": cycle},
        ) from None


def schedule_origin(host: Host, schedule: Schedule) -> str:
    """Where a schedule is defined: the plugin that registered it, or ``spine.toml``."""
    claim = host.registries.schedules.winner(schedule.name)
    return claim.provider if claim is not None else "spine.toml"


def validate_schedules(host: Host) -> list[Schedule]:
    """Every schedule the host knows (plugins and ``spine.toml``), checked as a whole.

    Raises ``ConfigError`` for a bad ``[schedules.NAME]`` table, a name defined twice, a
    registered object that is not a ``Schedule``, a target that is not registered, or an
    ``after`` that is unknown or circular. Returns the schedules sorted by name.
    """
    registry = host.registries.schedules
    schedules: list[Schedule] = []
    for name in registry.names():
        schedule: object = registry.get(name)
        if not isinstance(schedule, Schedule):
            provider = registry.winner(name)
            raise ConfigError(
                f"schedule {name!r} from plugin {provider.provider if provider else '?'} is a "
                f"{type(schedule).__name__}, expected spine_host.Schedule"
            )
        schedules.append(schedule)
    for schedule in schedules_from_config(host.config.schedules):
        claim = registry.winner(schedule.name)
        if claim is not None:
            raise ConfigError(
                f"schedule {schedule.name!r} is defined both in spine.toml and by plugin "
                f"{claim.provider}; rename one of them"
            )
        schedules.append(schedule)
    for schedule in schedules:
        targets = host.registries.workflows if schedule.workflow else host.registries.pipelines
        if schedule.target not in targets:
            known = ", ".join(targets.names()) or "none"
            _refuse(
                schedule.name,
                schedule.target_kind,
                schedule.target,
                f"not a registered {schedule.target_kind}; registered: {known}",
            )
    check_after_cycles(schedules)
    return sorted(schedules, key=lambda schedule: schedule.name)


# -- helpers ------------------------------------------------------------------------------------

_TEXT = ((str,), "a string")
_DURATION_VALUE = ((int, float, str), "seconds or a duration like 30m")
# key -> (accepted TOML types, what to say when it is something else)
_CONFIG_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "workflow": _TEXT,
    "pipeline": _TEXT,
    "cron": _TEXT,
    "interval": _DURATION_VALUE,
    "timezone": _TEXT,
    "params": ((dict,), "a table of parameters"),
    "catchup": _TEXT,
    "catchup_limit": ((int,), "an integer"),
    "misfire_grace": _DURATION_VALUE,
    "overlap": _TEXT,
    "after": ((list,), "a list of schedule names"),
    "after_timeout": _DURATION_VALUE,
    "on_after_timeout": _TEXT,
    "enabled": ((bool,), "true or false"),
    "deadline": _DURATION_VALUE,
    "deadline_severity": _TEXT,
}


def _refuse(name: str, field: str, value: object, reason: str) -> NoReturn:
    # Worded as Schedule's own errors, so every schedule problem reads the same.
    raise ConfigError(
        f"schedule {name!r}: {field} {value!r}: {reason}",
        context={"schedule": name, "field": field, "value": value, "reason": reason},
    )
