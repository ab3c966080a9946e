"""``Schedule``: when a workflow or pipeline runs, with which parameters, how misses are handled.

A schedule is a value, validated when it is built: a bad cron expression, an unknown time zone,
both or neither of ``cron``/``interval`` or of ``workflow``/``pipeline`` is a ``ConfigError``
naming the schedule and the value. Schedules reach the host three ways, all checked alike:

    Schedule("otc.weekly", workflow="otc.weekly_refresh", cron="0 6 * * WED",
             timezone="America/New_York")                    # in a spine_register_schedules hook
    @register_schedule("otc.weekly", workflow=..., cron=...)  # on a params(logical_date) function
    [schedules.otc_weekly] workflow = ... cron = ...           # in spine.toml

``schedule_sources.validate_schedules(host)`` gathers them and checks what needs the whole set:
registered targets, ``after`` names that exist and form no cycle. APScheduler is imported only
when a cron expression is checked, never when this module is imported.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from spine_host._module_scan import collect_defined
from spine_host.errors import ConfigError
from spine_host.severity import Severity

if TYPE_CHECKING:
    from spine_host.registry import RegisterNamed

__all__ = [
    "Catchup",
    "Overlap",
    "ParamsFunction",
    "Schedule",
    "format_interval",
    "parse_duration",
    "register_schedule",
    "register_schedules",
]

Catchup = Literal["none", "latest", "all"]
Overlap = Literal["skip", "queue", "allow"]
#: Parameters computed from the logical fire time (an aware datetime in the schedule's zone).
ParamsFunction = Callable[[datetime], Mapping[str, Any]]

_CATCHUP = ("none", "latest", "all")
_OVERLAP = ("skip", "queue", "allow")
_ON_AFTER_TIMEOUT = ("skip", "run")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+")
_DURATION_EXPECTED = "expected seconds or a duration like 90s, 30m, 1h30m or 1d"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(value: float | str | None) -> float | None:
    """Seconds from a number or from ``"90s"``, ``"30m"``, ``"1h30m"``, ``"1d"``, ``"1w"``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{_DURATION_EXPECTED}, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = value.strip() if isinstance(value, str) else ""
    if _NUMBER.fullmatch(text):
        return float(text)
    if _DURATION.fullmatch(text):
        return sum(
            float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text)
        )
    raise ValueError(f"{_DURATION_EXPECTED}, got {value!r}")


def _severity(value: str | int | Severity) -> Severity:
    return Severity.parse(value)


def _seconds(value: float | str) -> float:
    seconds = parse_duration(value)
    assert seconds is not None  # __attrs_pre_init__ refused None
    return seconds


@attrs.frozen
class Schedule:
    """A named trigger for one workflow or pipeline.

    Attributes:
        name: the schedule's name, unique across plugins and ``spine.toml``.
        workflow: the workflow it runs; exactly one of ``workflow`` and ``pipeline``.
        pipeline: the pipeline it runs.
        params: a mapping whose string values may use the logical fire time
            (``"{logical_date:%Y-%m-%d}"``), or a function ``params(logical_date) -> mapping``.
        cron: a 5-field crontab expression; exactly one of ``cron`` and ``interval``. Day-of-week
            is written with names (``WED``, ``MON-FRI``): numbers mean different days in crontab
            and in APScheduler 3, so they are refused.
        interval: whole seconds between fires (at least 1), or ``"30m"``, ``"1h"``, ``"1h30m"``;
            counted from the Unix epoch in UTC, so every replica computes the same nominal times.
        timezone: the IANA zone ``cron`` is read in; ``"UTC"`` by default.
        catchup: what to do with fires missed while no scheduler ran: ``none`` (record them
            missed), ``latest`` (run the latest, record the rest missed), ``all`` (run each).
        catchup_limit: under ``all``, at most this many missed fires run; older ones are missed.
        misfire_grace: seconds after its nominal time that a fire still counts as on time.
        overlap: a fire while the previous run is still going: ``skip``, ``queue`` or ``allow``.
        after: schedules whose run for the same logical time must have succeeded first.
        after_timeout: seconds to wait for them; None waits until this schedule's next fire.
        on_after_timeout: when the wait times out: ``skip`` the run or ``run`` it anyway.
        enabled: a disabled schedule is listed but never fires.
        deadline: seconds (or ``"4h"``) after each nominal fire time by which its run must have
            SUCCEEDED; past it, one DEADLINE_MISSED alert per logical time. None: no deadline.
        deadline_severity: the severity of that alert (ERROR by default).
        module: where a ``@register_schedule`` function was defined (for ``register_schedules``).
    """

    name: str
    workflow: str | None = attrs.field(default=None, kw_only=True)
    pipeline: str | None = attrs.field(default=None, kw_only=True)
    params: Mapping[str, Any] | ParamsFunction = attrs.field(
        factory=dict, kw_only=True, eq=False, repr=False
    )
    cron: str | None = attrs.field(default=None, kw_only=True)
    interval: float | None = attrs.field(default=None, kw_only=True, converter=parse_duration)
    timezone: str = attrs.field(default="UTC", kw_only=True)
    catchup: Catchup = attrs.field(default="latest", kw_only=True)
    catchup_limit: int = attrs.field(default=100, kw_only=True)
    misfire_grace: float = attrs.field(default=60.0, kw_only=True, converter=_seconds)
    overlap: Overlap = attrs.field(default="skip", kw_only=True)
    after: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=tuple)
    after_timeout: float | None = attrs.field(default=None, kw_only=True, converter=parse_duration)
    on_after_timeout: Literal["skip", "run"] = attrs.field(default="skip", kw_only=True)
    enabled: bool = attrs.field(default=True, kw_only=True)
    deadline: float | None = attrs.field(default=None, kw_only=True, converter=parse_duration)
    deadline_severity: Severity = attrs.field(
        default=Severity.ERROR, kw_only=True, converter=_severity
    )
    module: str | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)

    def __attrs_pre_init__(self, name: object, **options: Any) -> None:
        # Raw values the converters would mangle or reject without naming the schedule.
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a schedule needs a non-empty string name, got {name!r}")
        if isinstance(options.get("after"), str):
            _invalid(name, "after", options["after"], "expected a list of schedule names")
        if "misfire_grace" in options and options["misfire_grace"] is None:
            _invalid(name, "misfire_grace", None, _DURATION_EXPECTED)
        if "deadline_severity" in options:
            try:
                Severity.parse(options["deadline_severity"])
            except (ValueError, TypeError) as exc:
                _invalid(name, "deadline_severity", options["deadline_severity"], str(exc))
        for field in ("interval", "misfire_grace", "after_timeout", "deadline"):
            try:
                parse_duration(options.get(field))
            except ValueError:
                _invalid(name, field, options[field], _DURATION_EXPECTED)

    def __attrs_post_init__(self) -> None:
        _check_choice(self, "workflow", "pipeline", "a target")
        _check_choice(self, "cron", "interval", "a trigger")
        _check_zone(self)
        if self.cron is not None:
            _check_cron(self.name, self.cron, self.zone)
        if self.interval is not None and (self.interval < 1 or self.interval % 1):
            # Nominal times are whole seconds: that is the claim key's precision everywhere.
            _invalid(self.name, "interval", self.interval, "expected whole seconds, at least 1s")
        for field, allowed in [
            ("catchup", _CATCHUP),
            ("overlap", _OVERLAP),
            ("on_after_timeout", _ON_AFTER_TIMEOUT),
        ]:
            if getattr(self, field) not in allowed:
                _invalid(self.name, field, getattr(self, field), f"expected {_one_of(allowed)}")
        if type(self.catchup_limit) is not int or self.catchup_limit < 1:
            _invalid(self.name, "catchup_limit", self.catchup_limit, "expected an integer >= 1")
        if self.misfire_grace < 0:
            _invalid(self.name, "misfire_grace", self.misfire_grace, "must not be negative")
        if not all(isinstance(other, str) and other for other in self.after):
            _invalid(self.name, "after", list(self.after), "expected a list of schedule names")
        if self.deadline is not None and self.deadline <= 0:
            _invalid(self.name, "deadline", self.deadline, "must be positive")
        if not isinstance(self.enabled, bool):
            _invalid(self.name, "enabled", self.enabled, "expected true or false")
        _check_params(self)

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def target_kind(self) -> Literal["workflow", "pipeline"]:
        """Whether the schedule runs a workflow or a pipeline."""
        return "workflow" if self.workflow is not None else "pipeline"

    @property
    def target(self) -> str:
        """The name of the workflow or pipeline it runs."""
        target = self.workflow if self.workflow is not None else self.pipeline
        assert target is not None  # __attrs_post_init__ guarantees exactly one
        return target

    @property
    def trigger(self) -> str:
        """The trigger as people write it: ``cron 0 6 * * WED`` or ``every 1h30m``."""
        if self.cron is not None:
            return f"cron {self.cron}"
        return f"every {format_interval(self.interval or 0)}"

    def params_for(self, logical_date: datetime) -> dict[str, Any]:
        """The run's parameters for one logical fire time (naive datetimes are read as UTC).

        Templates and functions see the logical time in the schedule's zone, so a Wednesday
        06:00 New York fire has ``logical_date`` Wednesday, whatever the date in UTC.
        """
        if logical_date.tzinfo is None:
            logical_date = logical_date.replace(tzinfo=UTC)
        local = logical_date.astimezone(self.zone)
        if callable(self.params):
            result = self.params(local)
            if not isinstance(result, Mapping):
                raise ConfigError(
                    f"schedule {self.name!r}: params({local.isoformat()}) returned "
                    f"{type(result).__name__}, expected a mapping"
                )
            return dict(result)
        return {key: _fill(self.name, key, value, local) for key, value in self.params.items()}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description; a params function shows as its dotted name."""
        params: Any = (
            {"function": _qualified_name(self.params)}
            if callable(self.params)
            else dict(self.params)
        )
        data = {field.name: getattr(self, field.name) for field in attrs.fields(Schedule)}
        data.pop("module")
        return {
            **data,
            "params": params,
            "after": list(self.after),
            "target": self.target,
            "deadline_severity": self.deadline_severity.name,
        }


def register_schedule(
    name: str,
    *,
    workflow: str | None = None,
    pipeline: str | None = None,
    **options: Any,
) -> Callable[[ParamsFunction], Schedule]:
    """Describe a ``params(logical_date)`` function as a schedule; return the ``Schedule``.

    Like ``@register_pipeline`` it registers nothing globally: hand the result to the host in
    ``spine_register_schedules`` (``register(schedule)`` or ``register_schedules``). ``options``
    are ``Schedule``'s other fields (``cron``, ``timezone``, ``catchup``...). A schedule with
    fixed params needs no function: build ``Schedule(...)`` directly.
    """

    def decorate(fn: ParamsFunction) -> Schedule:
        if not callable(fn):
            raise TypeError(f"@register_schedule({name!r}) decorates a params function, not {fn!r}")
        return Schedule(
            name,
            workflow=workflow,
            pipeline=pipeline,
            params=fn,
            module=getattr(fn, "__module__", None),
            **options,
        )

    return decorate


def register_schedules(
    register: RegisterNamed[Schedule], *sources: types.ModuleType | Iterable[Schedule]
) -> int:
    """Register every schedule defined in the given modules (or listed in iterables).

    From a module, a ``@register_schedule`` schedule is taken only by the module it was defined
    in; a ``Schedule(...)`` held in a module variable is taken by any module holding it (each
    object is registered once per call). Returns how many were registered.
    """
    count = 0
    for schedule in collect_defined(sources, _schedule_of):
        register(schedule)
        count += 1
    return count


def _schedule_of(value: Any, module: types.ModuleType) -> bool:
    return isinstance(value, Schedule) and value.module in (None, module.__name__)


def format_interval(seconds: float) -> str:
    """``1h30m``, ``45s``, ``2d``: an interval as people write it."""
    parts = []
    remainder = seconds
    for unit in ("w", "d", "h", "m"):
        count, remainder = divmod(remainder, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{int(count)}{unit}")
    if remainder or not parts:
        parts.append(f"{remainder:g}s")
    return "".join(parts)


# -- helpers ------------------------------------------------------------------------------------


def _invalid(name: str, field: str, value: object, reason: str) -> NoReturn:
    raise ConfigError(
        f"schedule {name!r}: {field} {value!r}: {reason}",
        context={"schedule": name, "field": field, "value": value, "reason": reason},
    )


def _one_of(choices: tuple[str, ...]) -> str:
    return f"{', '.join(choices[:-1])} or {choices[-1]}"


def _check_choice(schedule: Schedule, first: str, second: str, what: str) -> None:
    given = [field for field in (first, second) if getattr(schedule, field) is not None]
    if len(given) != 1:
        both = " and ".join(f"{field}={getattr(schedule, field)!r}" for field in given)
        raise ConfigError(
            f"schedule {schedule.name!r} needs {what}: exactly one of {first} or {second}, "
            + (f"got both {both}" if given else "got neither"),
            context={"schedule": schedule.name},
        )
    value = getattr(schedule, given[0])
    if given[0] != "interval" and (not isinstance(value, str) or not value.strip()):
        _invalid(schedule.name, given[0], value, "expected a non-empty string")


def _check_zone(schedule: Schedule) -> None:
    try:
        ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        _invalid(
            schedule.name,
            "timezone",
            schedule.timezone,
            "not a known IANA time zone (e.g. UTC, America/New_York, Europe/London)",
        )


def _check_cron(name: str, expression: str, zone: ZoneInfo) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone=zone)
    except ValueError as exc:
        _invalid(name, "cron", expression, f"not a valid crontab expression ({exc})")
    day_of_week = expression.split()[4]
    if any(character.isdigit() for character in day_of_week):
        # crontab counts 0 = Sunday, APScheduler 3 counts 0 = Monday: a number would silently
        # fire on the wrong day, a name cannot.
        _invalid(
            name,
            "cron",
            expression,
            "days of the week as numbers are ambiguous (crontab: 0 = Sunday, APScheduler 3: "
            "0 = Monday); write names instead (SUN, MON-FRI, WED)",
        )


def _check_params(schedule: Schedule) -> None:
    if callable(schedule.params):
        return
    if not isinstance(schedule.params, Mapping):
        _invalid(schedule.name, "params", schedule.params, "expected a mapping or a function")
        return
    sample = datetime(2000, 1, 1, tzinfo=schedule.zone)
    for key, value in schedule.params.items():
        _fill(schedule.name, key, value, sample)


def _fill(name: str, key: str, value: Any, logical_date: datetime) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return value.format_map({"logical_date": logical_date})
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        _invalid(
            name,
            f"params.{key}",
            value,
            f"not a valid template ({type(exc).__name__}: {exc}); "
            "use {logical_date:%Y-%m-%d} and write a literal brace as {{ or }}",
        )


def _qualified_name(fn: object) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{qualname}" if module else qualname
