"""Deadlines: alert when expected work has not succeeded in time, including when nothing ran.

Two kinds, both checked by the scheduler service on its own timer, against the database's
record of runs (so a scheduler started after a deadline passed still raises it, once):

- a schedule's ``deadline``: the fire for nominal time T must have SUCCEEDED by T + deadline.
  Missed, whatever the reason (paused, no scheduler running, still running, failed, skipped,
  waiting for ``after``): one DEADLINE_MISSED alert naming what is known. When that fire later
  succeeds: one recovery notice, and the row names the run that met it.
- a ``[freshness.NAME]`` rule: some run of a workflow or pipeline must have COMPLETED within
  ``fresh_within``. Stale: one alert per staleness (keyed by the moment it went stale); a success
  recovers it.

Exactly once across replicas: each (deadline, logical time) is claimed by inserting its
``deadlines`` row; only the replica whose insert succeeds raises the alert, and only the one
whose MISSED -> RECOVERED update succeeds sends the recovery notice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from spine_host.alerts.alert import Alert, domain_of
from spine_host.orchestration.deadline_ledger import RECOVERED, DeadlineLedger
from spine_host.orchestration.fire_times import last_fire_times
from spine_host.orchestration.schedule_fire import Fire, FireStatus
from spine_host.severity import Severity
from spine_host.storage import schema

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.freshness import Freshness
    from spine_host.orchestration.schedule import Schedule
    from spine_host.orchestration.schedule_ledger import ScheduleLedger, ScheduleState

__all__ = ["DEADLINE_MISSED", "DeadlineWatch"]

log = logging.getLogger(__name__)

#: ``Alert.metadata["kind"]`` of a missed deadline.
DEADLINE_MISSED = "DEADLINE_MISSED"
_LOOKBACK = timedelta(days=7)  # how far back missed deadlines are still raised
_MOST_PER_CHECK = 200  # logical times looked at per schedule per check
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DeadlineWatch:
    """Checks deadlines and freshness rules and raises their alerts.

    Args:
        host: storage and the alert router.
        schedules: the schedules by name (those with a ``deadline`` are checked).
        freshness: the ``[freshness.NAME]`` rules.
        ledger: the schedule ledger (fires, states).
        owner: who raises (recorded in ``deadlines.raised_by``).
    """

    def __init__(
        self,
        host: Host,
        schedules: Callable[[], dict[str, Schedule]],
        freshness: list[Freshness],
        ledger: ScheduleLedger,
        owner: str,
    ) -> None:
        self.host = host
        self.schedules = schedules
        self.freshness = freshness
        self.ledger = ledger
        self.owner = owner
        self.deadlines = DeadlineLedger(host.storage)

    def check(self, now: datetime) -> list[Alert]:
        """Raise what is due at ``now``: missed deadlines, stale rules, recoveries."""
        raised: list[Alert] = []
        states = self.ledger.states()
        for schedule in self.schedules().values():
            if schedule.deadline is None or not schedule.enabled:
                continue
            state = states.get(schedule.name)
            if state is not None:
                raised += self._check_schedule(schedule, state, now)
        for rule in self.freshness:
            raised += self._check_freshness(rule, now)
        return raised

    def state(self, schedule: Schedule, now: datetime) -> str:
        """``missed``, ``recovered``, ``due soon``, ``on time`` or ``-`` (no deadline)."""
        if schedule.deadline is None:
            return "-"
        key = f"schedule:{schedule.name}"
        if self.deadlines.open_missed(key):
            return "missed"
        deadline = timedelta(seconds=schedule.deadline)
        pending = last_fire_times(schedule, now, 1, after=now - deadline)
        if pending:
            fire = self.ledger.fire(schedule.name, pending[0])
            if fire is None or fire.status is not FireStatus.SUCCEEDED:
                return "due soon" if pending[0] + deadline - now < deadline / 4 else "on time"
        latest = self.deadlines.latest(key)
        if latest is not None and latest.status == RECOVERED:
            return "recovered"
        return "on time"

    # -- schedules -----------------------------------------------------------------------------

    def _check_schedule(
        self, schedule: Schedule, state: ScheduleState, now: datetime
    ) -> list[Alert]:
        key = f"schedule:{schedule.name}"
        deadline = timedelta(seconds=schedule.deadline or 0)
        first_seen = state.created_at or now
        floor = max(first_seen, now - _LOOKBACK - deadline)
        due = last_fire_times(schedule, now - deadline, _MOST_PER_CHECK, after=floor)
        raised = []
        if due:
            known = self.deadlines.rows(key, since=due[0])
            fires = self.ledger.fires_between(schedule.name, due[0], due[-1])
            for nominal in due:
                fire = fires.get(nominal)
                if nominal in known or (fire is not None and fire.status is FireStatus.SUCCEEDED):
                    continue
                reason = _why(fire, state)
                if self.deadlines.claim(
                    key,
                    nominal,
                    due_at=nominal + deadline,
                    reason=reason,
                    owner=self.owner,
                    now=now,
                ):
                    raised.append(self._missed(schedule, nominal, nominal + deadline, fire, reason))
        for row in self.deadlines.open_missed(key):
            fire = self.ledger.fire(schedule.name, row.logical_time)
            if fire is None or fire.status is not FireStatus.SUCCEEDED:
                continue
            if self.deadlines.recover(key, row.logical_time, met_by=fire.target_id, now=now):
                raised.append(self._met_late(schedule, row.logical_time, row.due_at, fire))
        return raised

    def _missed(
        self,
        schedule: Schedule,
        nominal: datetime,
        due_at: datetime,
        fire: Fire | None,
        reason: str,
    ) -> Alert:
        local = _local(schedule, nominal)
        alert = Alert(
            severity=schedule.deadline_severity,
            title=f"deadline missed: schedule {schedule.name} for {local}",
            message=(
                f"{schedule.target_kind} {schedule.target} for {local} was expected to succeed "
                f"by {_utc(due_at)}; {reason}"
            ),
            source=f"schedule:{schedule.name}",
            domain=domain_of(schedule.target),
            run_id=fire.target_id if fire is not None else None,
            metadata={
                "kind": DEADLINE_MISSED,
                "deadline_key": f"schedule:{schedule.name}",
                "logical_time": nominal.isoformat(),
                "due_at": due_at.isoformat(),
                "reason": reason,
                "run_kind": schedule.target_kind,
            },
            dedup_key=f"deadline:schedule:{schedule.name}:{nominal.isoformat()}",
        )
        return self._raise(alert, f"schedule:{schedule.name}", nominal)

    def _met_late(
        self, schedule: Schedule, nominal: datetime, due_at: datetime, fire: Fire
    ) -> Alert:
        local = _local(schedule, nominal)
        finished = fire.finished_at or due_at
        alert = Alert(
            severity=Severity.INFO,
            title=f"deadline met late: schedule {schedule.name} for {local}",
            message=(
                f"{schedule.target_kind} {schedule.target} for {local} succeeded at "
                f"{_utc(finished)}, {_span(finished - due_at)} after its deadline"
            ),
            source=f"schedule:{schedule.name}",
            domain=domain_of(schedule.target),
            run_id=fire.target_id,
            metadata={"kind": "DEADLINE_RECOVERED", "logical_time": nominal.isoformat()},
            dedup_key=f"deadline:schedule:{schedule.name}:{nominal.isoformat()}",
            recovery=True,
        )
        return self._raise(alert, None, None)

    # -- freshness -----------------------------------------------------------------------------

    def _check_freshness(self, rule: Freshness, now: datetime) -> list[Alert]:
        within = timedelta(seconds=rule.fresh_within)
        last = self._last_success(rule)
        if last is not None and now - last[0] <= within:
            return self._freshened(rule, last, now)
        stale_since = last[0] + within if last is not None else _EPOCH
        if last is None:
            reason = "it never succeeded"
        else:
            reason = (
                f"its last success was {_utc(last[0])} (run {last[1]}), {_span(now - last[0])} ago"
            )
        if not self.deadlines.claim(
            rule.key, stale_since, due_at=stale_since, reason=reason, owner=self.owner, now=now
        ):
            return []
        alert = Alert(
            severity=rule.severity,
            title=f"deadline missed: {rule.target_kind} {rule.target} not fresh",
            message=(
                f"{rule.target_kind} {rule.target} should have succeeded within the last "
                f"{_span(within)} (freshness {rule.name}); {reason}"
            ),
            source=rule.key,
            domain=domain_of(rule.target),
            metadata={
                "kind": DEADLINE_MISSED,
                "deadline_key": rule.key,
                "logical_time": stale_since.isoformat(),
                "reason": reason,
            },
            dedup_key=f"deadline:{rule.key}:{stale_since.isoformat()}",
        )
        return [self._raise(alert, rule.key, stale_since)]

    def _freshened(self, rule: Freshness, last: tuple[datetime, str], now: datetime) -> list[Alert]:
        raised = []
        for row in self.deadlines.open_missed(rule.key):
            if not self.deadlines.recover(rule.key, row.logical_time, met_by=last[1], now=now):
                continue
            alert = Alert(
                severity=Severity.INFO,
                title=f"{rule.target_kind} {rule.target} fresh again",
                message=f"run {last[1]} succeeded at {_utc(last[0])} (freshness {rule.name})",
                source=rule.key,
                domain=domain_of(rule.target),
                run_id=last[1],
                metadata={"kind": "DEADLINE_RECOVERED"},
                dedup_key=f"deadline:{rule.key}:{row.logical_time.isoformat()}",
                recovery=True,
            )
            raised.append(self._raise(alert, None, None))
        return raised

    def _last_success(self, rule: Freshness) -> tuple[datetime, str] | None:
        if rule.target_kind == "workflow":
            table, name, ident = schema.workflow_runs, "workflow", "run_id"
        else:
            table, name, ident = schema.executions, "pipeline", "execution_id"
        rows = self.host.storage.query(
            sa.select(table.c.finished_at, table.c[ident])
            .where(table.c[name] == rule.target, table.c.status == "COMPLETED")
            .where(table.c.finished_at.is_not(None))
            .order_by(table.c.finished_at.desc())
            .limit(1)
        )
        if not rows:
            return None
        return rows[0]["finished_at"], rows[0][ident]

    # -- raising -------------------------------------------------------------------------------

    def _raise(self, alert: Alert, key: str | None, logical_time: datetime | None) -> Alert:
        self.host.alerts.raise_alert(alert)
        if key is not None and logical_time is not None:
            self.deadlines.set_alert(key, logical_time, alert.alert_id)
        log.warning("%s", alert.title)
        return alert


def _why(fire: Fire | None, state: ScheduleState) -> str:
    """What is known about a fire that did not succeed in time."""
    if fire is None:
        return "schedule paused" if state.paused else "it never fired (no scheduler ran it)"
    detail = f": {fire.reason}" if fire.reason else ""
    if fire.status is FireStatus.RUNNING:
        since = fire.started_at or fire.claimed_at
        run = f" (run {fire.target_id})" if fire.target_id else ""
        return f"running since {_utc(since)}{run}" if since else f"running{run}"
    if fire.status is FireStatus.CLAIMED:
        claimed = f" since {_utc(fire.claimed_at)}" if fire.claimed_at else ""
        return f"claimed{claimed} but not started (waiting for after or an overlapping run)"
    return f"{fire.status.value.lower()}{detail}"


def _local(schedule: Schedule, nominal: datetime) -> str:
    return nominal.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M %Z")


def _utc(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "?"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(abs(seconds), 3600)
    minutes = rest // 60
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest % 60:02d}s"
