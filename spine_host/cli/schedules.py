"""``spine schedules list|next``: the schedules plugins and ``spine.toml`` define; when they fire.

Both commands read definitions only; nothing here fires a schedule or touches the database.
Every schedule is validated first (``validate_schedules``), so a bad one is an error (exit 2)
naming it rather than a listing that hides it.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table, format_params, format_time
from spine_host.printable import quoted

if TYPE_CHECKING:
    from collections.abc import Iterator

    from spine_host.host import Host
    from spine_host.orchestration.schedule import Schedule
    from spine_host.orchestration.schedule_ledger import ScheduleState
    from spine_host.redaction import Redactor

__all__ = ["schedules_group"]


@click.group("schedules", cls=SpineCommandGroup)
def schedules_group() -> None:
    """List, inspect and operate schedules: next fires, history, run-now, pause, backfill."""


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """Every schedule: what it runs, when, in which zone, and how misses and overlaps go."""
    host = state.host()
    schedules = _schedules(host)
    states = _states(host)
    if as_json:
        emit_json(
            [
                {
                    **host.config.redactor.redact_data(item.to_dict()),
                    "from": _origin_of(host, item),
                    **_state_dict(states.get(item.name)),
                    "deadline_state": _deadline_state(host, item, bool(states)),
                }
                for item in schedules
            ]
        )
        return
    rows = [
        (
            schedule.name,
            f"{schedule.target_kind} {schedule.target}",
            schedule.trigger,
            schedule.timezone,
            _catchup(schedule),
            schedule.overlap,
            list(schedule.after),
            _state(schedule, states.get(schedule.name)),
            _last(states.get(schedule.name)),
            _deadline(host, schedule, bool(states)),
            _origin_of(host, schedule),
        )
        for schedule in schedules
    ]
    emit_table(
        [
            "NAME",
            "TARGET",
            "TRIGGER",
            "ZONE",
            "CATCH-UP",
            "OVERLAP",
            "AFTER",
            "STATE",
            "LAST FIRE (UTC)",
            "DEADLINE",
            "FROM",
        ],
        rows,
        empty="no schedules: register one in a plugin (spine_register_schedules) "
        "or add [schedules.NAME] to spine.toml",
    )


@schedules_group.command("next")
@click.argument("name", required=False)
@click.option(
    "--count", default=10, show_default=True, type=click.IntRange(min=1), help="How many fires."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
# The moment to count from; "now" by default. Hidden: it exists so tests and support can ask
# "what fires after this moment?" without moving the clock.
@click.option("--after", "after_text", hidden=True, help="ISO date/time to count from (UTC).")
@pass_state
def next_command(
    state: CliState, name: str | None, count: int, as_json: bool, after_text: str | None
) -> None:
    """The next nominal fire times, in local time (with its UTC offset) and in UTC, with the
    parameters each run would get.

    With NAME, that schedule's next COUNT fires; without, the next COUNT fires of all enabled
    schedules together, in time order.
    """
    schedules = _schedules(state.host())
    redactor = state.host().config.redactor
    after = _parse_after(after_text)
    if name is not None:
        chosen = [_named(schedules, name)]
        if not chosen[0].enabled and not as_json:
            click.echo(f"note: {name} is disabled; these are the times it would fire", err=True)
    else:
        paused = {name for name, known in _states(state.host()).items() if known.paused}
        chosen = [s for s in schedules if s.enabled and s.name not in paused]
    fires = list(islice(heapq.merge(*(_fires(schedule, after) for schedule in chosen)), count))
    if as_json:
        emit_json([_fire_dict(schedule, instant, redactor) for instant, _, schedule in fires])
        return
    rows = [
        (
            schedule.name,
            _local_time(schedule, instant),
            schedule.timezone,
            format_time(instant),
            format_params(_params(schedule, instant, redactor)),
        )
        for instant, _, schedule in fires
    ]
    emit_table(
        ["SCHEDULE", "LOCAL", "ZONE", "UTC", "PARAMS"],
        rows,
        empty="no enabled schedules" if name is None else f"{name} never fires again",
    )


# -- helpers ------------------------------------------------------------------------------------


def _schedules(host: Host) -> list[Schedule]:
    from spine_host.orchestration.schedule_sources import validate_schedules

    return validate_schedules(host)


def _named(schedules: list[Schedule], name: str) -> Schedule:
    from spine_host.errors import ConfigError

    for schedule in schedules:
        if schedule.name == name:
            return schedule
    known = ", ".join(schedule.name for schedule in schedules) or "none"
    raise ConfigError(f"no schedule named {quoted(name)}; known: {known}")


def _parse_after(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date/time such as 2026-03-01T12:00", param_hint="--after"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fires(schedule: Schedule, after: datetime) -> Iterator[tuple[datetime, str, Schedule]]:
    from spine_host.orchestration.fire_times import iter_fire_times

    # For heapq.merge: schedules firing at one instant are ordered by name (names are unique,
    # so the unorderable Schedule itself is never compared).
    for instant in iter_fire_times(schedule, after):
        yield instant, schedule.name, schedule


def _local_time(schedule: Schedule, instant: datetime) -> str:
    local = instant.astimezone(schedule.zone)
    return f"{local:%a %Y-%m-%d %H:%M:%S} {_offset(local)}"


def _offset(moment: datetime) -> str:
    """``-05:00``: the UTC offset as people write it."""
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:5]}"


def _fire_dict(schedule: Schedule, instant: datetime, redactor: Redactor) -> dict[str, Any]:
    local = instant.astimezone(schedule.zone)
    return {
        "schedule": schedule.name,
        "local": local.isoformat(),
        "timezone": schedule.timezone,
        "utc_offset": _offset(local),
        "utc": instant.isoformat(),
        "params": _params(schedule, instant, redactor),
    }


def _params(schedule: Schedule, instant: datetime, redactor: Redactor) -> dict[str, Any]:
    """The parameters the run for this fire would get, secrets masked."""
    masked: dict[str, Any] = redactor.redact_data(schedule.params_for(instant))
    return masked


def _states(host: Host) -> dict[str, ScheduleState]:
    """What the database knows of each schedule (paused, last fire); empty before any
    scheduler or schedule command has written it, or before ``spine db upgrade``."""
    from spine_host.errors import SpineError
    from spine_host.orchestration.schedule_ledger import ScheduleLedger

    database_missing = getattr(host.storage, "database_missing", None)
    if callable(database_missing) and database_missing() is not None:
        return {}  # reading would create the SQLite file
    try:
        return ScheduleLedger(host.storage).states()
    except SpineError:
        return {}


def _deadline(host: Host, schedule: Schedule, recorded: bool) -> str:
    """``4h: on time`` / ``1h: missed`` / ``-``: the deadline and where it stands."""
    from spine_host.orchestration.schedule import format_interval

    if schedule.deadline is None:
        return "-"
    state = _deadline_state(host, schedule, recorded)
    return (
        f"{format_interval(schedule.deadline)}: {state}"
        if state
        else format_interval(schedule.deadline)
    )


def _deadline_state(host: Host, schedule: Schedule, recorded: bool) -> str | None:
    """on time, due soon, missed, recovered; None without a deadline or without records."""
    from spine_host.errors import SpineError
    from spine_host.orchestration.deadlines import DeadlineWatch
    from spine_host.orchestration.schedule_ledger import ScheduleLedger

    if schedule.deadline is None or not recorded:
        return None
    watch = DeadlineWatch(
        host, lambda: {schedule.name: schedule}, [], ScheduleLedger(host.storage), "cli"
    )
    try:
        return watch.state(schedule, datetime.now(UTC))
    except SpineError:
        return None


def _state(schedule: Schedule, known: ScheduleState | None) -> str:
    if not schedule.enabled:
        return "disabled"
    return "paused" if known is not None and known.paused else "enabled"


def _last(known: ScheduleState | None) -> str | None:
    if known is None or known.last_fire_at is None:
        return None
    return " ".join(part for part in (format_time(known.last_fire_at), known.last_outcome) if part)


def _state_dict(known: ScheduleState | None) -> dict[str, Any]:
    return {
        "paused": bool(known and known.paused),
        "last_fire_at": format_iso(known.last_fire_at if known else None),
        "last_outcome": known.last_outcome if known else None,
        "next_fire_at": format_iso(known.next_fire_at if known else None),
    }


def format_iso(moment: datetime | None) -> str | None:
    """An aware datetime as ISO 8601, or None."""
    return moment.isoformat() if moment is not None else None


def _catchup(schedule: Schedule) -> str:
    if schedule.catchup == "all":
        return f"all (max {schedule.catchup_limit})"
    return schedule.catchup


def _origin_of(host: Host, schedule: Schedule) -> str:
    from spine_host.orchestration.schedule_sources import schedule_origin

    return schedule_origin(host, schedule)
