"""``spine schedules run-now|pause|resume|history|backfill``: what operators do to schedules.

These write to ``schedules`` and ``schedule_runs`` (the scheduler's truth), so a running
``spine scheduler run`` sees a pause at its next fire, and a run-now or backfill is in the same
history as every other fire.
"""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import click

from spine_host.cli.context import CliState, pass_state
from spine_host.cli.output import emit_json, emit_table, format_duration, format_time
from spine_host.cli.schedules import schedules_group
from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.schedule import Schedule
    from spine_host.orchestration.schedule_fire import Fire
    from spine_host.orchestration.schedule_ledger import ScheduleLedger

__all__: list[str] = []


@schedules_group.command("run-now")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def run_now_command(state: CliState, name: str, as_json: bool) -> None:
    """Run NAME's target once now, in the foreground, recorded in the schedule's history.

    The run gets the parameters of a fire at this moment. It does not wait for an overlapping
    run or for ``after``; exit 1 when it does not succeed.
    """
    from spine_host.orchestration.liveness import new_owner
    from spine_host.orchestration.schedule_fire import FireStatus

    host, schedule, ledger = _prepared(state, name)
    claimed = ledger.claim_run_now(schedule, new_owner())
    if claimed is None:
        raise SpineError(
            f"schedule {name} was fired at this instant already; try again",
            category=ErrorCategory.VALIDATION,
        )
    fire = _carried(host, ledger, schedule, claimed)
    _report([fire], as_json)
    if fire.status is not FireStatus.SUCCEEDED:
        raise SystemExit(1)


@schedules_group.command("pause")
@click.argument("name")
@pass_state
def pause_command(state: CliState, name: str) -> None:
    """Stop NAME from firing (its fires while paused are not run and not missed)."""
    _set_paused(state, name, paused=True)
    click.echo(f"{name} paused; `spine schedules resume {name}` to fire it again")


@schedules_group.command("resume")
@click.argument("name")
@pass_state
def resume_command(state: CliState, name: str) -> None:
    """Let NAME fire again, from its next fire time (nothing from the pause is caught up)."""
    _set_paused(state, name, paused=False)
    click.echo(f"{name} resumed")


@schedules_group.command("history")
@click.argument("name")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many fires."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def history_command(state: CliState, name: str, limit: int, as_json: bool) -> None:
    """NAME's recorded fires, newest first: outcome, reason, and the run each started."""
    _, _, ledger = _prepared(state, name, sync=False)
    _report(ledger.history(name, limit=limit), as_json, empty=f"{name} has not fired yet")


@schedules_group.command("deadlines")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def deadlines_command(state: CliState, as_json: bool) -> None:
    """Missed deadlines and stale freshness rules, newest first: why, and the run that met it."""
    import sqlalchemy as sa

    from spine_host.orchestration.deadline_ledger import DeadlineLedger
    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema

    host = state.host()
    require_tables(host.storage, [schema.deadlines])
    keys = host.storage.query(sa.select(schema.deadlines.c.deadline_key).distinct())
    ledger = DeadlineLedger(host.storage)
    rows = sorted(
        (row for key in keys for row in ledger.rows(key["deadline_key"]).values()),
        key=lambda row: row.logical_time,
        reverse=True,
    )
    if as_json:
        emit_json([row.to_dict() for row in rows])
        return
    emit_table(
        ["DEADLINE", "LOGICAL TIME (UTC)", "DUE (UTC)", "STATUS", "MET BY", "REASON"],
        [
            (
                row.deadline_key,
                format_time(row.logical_time),
                format_time(row.due_at),
                row.status,
                row.met_by_run_id,
                row.reason,
            )
            for row in rows
        ],
        empty="no missed deadlines",
    )


@schedules_group.command("backfill")
@click.argument("name")
@click.option(
    "--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day."
)
@click.option(
    "--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day (included)."
)
@click.option("--dry-run", is_flag=True, help="List what would run; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def backfill_command(
    state: CliState, name: str, start: datetime, end: datetime, dry_run: bool, as_json: bool
) -> None:
    """Run each fire of NAME from --from to --to (days in the schedule's zone) once.

    Fire times that already succeeded (or are running) are skipped and listed as such;
    failed, skipped and missed ones run again. Exit 1 when any run does not succeed.
    """
    from spine_host.orchestration.fire_times import iter_fire_times
    from spine_host.orchestration.liveness import new_owner
    from spine_host.orchestration.schedule_fire import BACKFILL, Fire, FireStatus
    from spine_host.storage.types import utc_now

    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    host, schedule, ledger = _prepared(state, name, sync=not dry_run)
    first = datetime.combine(start.date(), time(), schedule.zone)
    last = datetime.combine(end.date() + timedelta(days=1), time(), schedule.zone)
    now = utc_now()
    if last > now:
        last = now  # a fire in the future is the scheduler's to run, not a backfill's
    times = []
    for nominal in iter_fire_times(schedule, first - timedelta(microseconds=1)):
        if nominal >= last:
            break
        times.append(nominal)
    recorded = ledger.fires_between(name, first, last) if times else {}
    todo = []
    done: list[Fire] = []
    for nominal in times:
        existing = recorded.get(nominal)
        if existing is not None and (
            existing.status is FireStatus.SUCCEEDED or existing.status.open
        ):
            done.append(existing)
        else:
            todo.append((nominal, existing))
    if not as_json and done:
        click.echo(
            f"{len(done)} of {len(times)} fire time(s) already "
            f"{'succeeded or running' if any(f.status.open for f in done) else 'succeeded'}: "
            "skipped",
            err=True,
        )
    if dry_run:
        rows = [_plan_row(schedule, nominal, "run") for nominal, _ in todo]
        rows += [
            _plan_row(schedule, fire.nominal_time, f"skip: {fire.status.value}") for fire in done
        ]
        _emit_plan(sorted(rows), as_json)
        return
    owner = new_owner()
    results: list[Fire] = []
    if todo:
        with click.progressbar(
            todo,
            label=f"backfilling {name}",
            file=sys.stderr,
            show_pos=True,
            item_show_func=_progress_label,
        ) as progress:
            for nominal, existing in progress:
                claimed_at = utc_now()
                fire: Fire | None
                if existing is None:
                    candidate = Fire(
                        schedule_name=name,
                        nominal_time=nominal,
                        status=FireStatus.CLAIMED,
                        fired_by=BACKFILL,
                        logical_date=nominal.astimezone(schedule.zone).isoformat(),
                        claimed_by=owner,
                        claimed_at=claimed_at,
                    )
                    won = ledger.claim([candidate])
                    fire = won[0] if won else None
                else:
                    fire = ledger.reclaim(
                        existing, owner=owner, now=claimed_at, reason=None, fired_by=BACKFILL
                    )
                if fire is None:
                    continue  # claimed meanwhile by a scheduler: it runs it
                results.append(_carried(host, ledger, schedule, fire))
    if as_json:
        emit_json(
            {
                "ran": [fire.to_dict() for fire in results],
                "skipped": [fire.to_dict() for fire in done],
            }
        )
    else:
        if not todo:
            click.echo(f"nothing to backfill: every fire of {name} in the range already ran")
        else:
            _report(results, as_json=False)
    if any(fire.status is not FireStatus.SUCCEEDED for fire in results):
        raise SystemExit(1)


# -- helpers ------------------------------------------------------------------------------------


def _prepared(
    state: CliState, name: str, *, sync: bool = True
) -> tuple[Host, Schedule, ScheduleLedger]:
    """The host, the schedule ``name`` (validated with all others) and the ledger."""
    from spine_host.cli.schedules import _named, _origin_of, _schedules
    from spine_host.orchestration.schedule_ledger import ScheduleLedger
    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema
    from spine_host.storage.types import utc_now

    host = state.host()
    schedules = _schedules(host)
    schedule = _named(schedules, name)
    require_tables(host.storage, [schema.schedules, schema.schedule_runs])
    ledger = ScheduleLedger(host.storage, host.config.redactor)
    if sync:
        origins = {s.name: _origin_of(host, s) for s in schedules}
        ledger.sync(schedules, origins, now=utc_now())
    return host, schedule, ledger


def _carried(host: Host, ledger: ScheduleLedger, schedule: Schedule, fire: Fire) -> Fire:
    import threading

    from spine_host.orchestration.fire_runner import FireRunner
    from spine_host.orchestration.heartbeat import Heartbeat
    from spine_host.storage.types import utc_now

    runner = FireRunner(
        host,
        ledger,
        lambda: {schedule.name: schedule},
        clock=utc_now,
        stopping=threading.Event(),
    )
    assert fire.claimed_by is not None  # claimed by this command
    heartbeat = Heartbeat(
        lambda: ledger.heartbeat(fire.claimed_by or "", now=utc_now()),
        fire.claimed_by,
        label="schedule fire",
    ).start()
    try:
        return runner.carry(schedule, fire, wait=False)
    finally:
        heartbeat.stop()


def _set_paused(state: CliState, name: str, *, paused: bool) -> None:
    from spine_host.storage.types import utc_now

    _, _, ledger = _prepared(state, name)
    ledger.set_paused(name, paused, now=utc_now())


def _report(fires: list[Fire], as_json: bool, empty: str = "") -> None:
    if as_json:
        emit_json([fire.to_dict() for fire in fires])
        return
    rows = [
        (
            format_time(fire.nominal_time),
            fire.status.value,
            fire.fired_by,
            fire.target_id,
            _duration(fire),
            fire.reason,
        )
        for fire in fires
    ]
    emit_table(["FIRE TIME (UTC)", "STATUS", "BY", "RUN", "TOOK", "REASON"], rows, empty=empty)


def _progress_label(item: tuple[datetime, Fire | None] | None) -> str | None:
    return format_time(item[0]) if item is not None else None


def _duration(fire: Fire) -> str | None:
    if fire.started_at is None or fire.finished_at is None:
        return None
    return format_duration((fire.finished_at - fire.started_at).total_seconds())


def _plan_row(schedule: Schedule, nominal: datetime, action: str) -> tuple[Any, ...]:
    local = nominal.astimezone(schedule.zone)
    return (format_time(nominal), f"{local:%a %Y-%m-%d %H:%M %Z}", action)


def _emit_plan(rows: list[tuple[Any, ...]], as_json: bool) -> None:
    if as_json:
        emit_json([{"utc": row[0], "local": row[1], "action": row[2]} for row in rows])
        return
    emit_table(["FIRE TIME (UTC)", "LOCAL", "ACTION"], rows, empty="no fire times in the range")
