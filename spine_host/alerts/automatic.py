"""The alerts spine raises by itself, from its event hooks (the ``builtin.alerts`` plugin):

- a workflow run that ends FAILED, PARTIAL, TIMED_OUT or CRASHED;
- a pipeline execution that ends FAILED, TIMED_OUT or CRASHED, when it is not a workflow's step
  (the workflow's own alert covers those);
- a MISSED schedule fire;
- a recovery notice (INFO) when a workflow or pipeline whose last alert was a failure succeeds.

Severity comes from the error's category (``TRANSIENT`` is a WARNING, ``STORAGE`` CRITICAL...);
a crash is CRITICAL. The dedup key is the workflow or pipeline, so repeats of one failing job
are throttled together and a ticketing channel keeps one incident per job. A run reaped as
CRASHED alerts once: ``spine_run_finished`` fires only in the process whose reaping ended it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spine_host.alerts.alert import Alert, domain_of
from spine_host.errors import ErrorCategory
from spine_host.severity import Severity
from spine_host.storage import schema

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["on_run_finished", "on_schedule_fired"]

log = logging.getLogger(__name__)

_FAILED_RUN = {"FAILED", "PARTIAL", "TIMED_OUT", "CRASHED"}
_FAILED_EXECUTION = {"FAILED", "TIMED_OUT", "CRASHED"}


def on_run_finished(host: Host, run: Any) -> None:
    """Raise the failure alert or the recovery notice for a finished run, if any."""
    if hasattr(run, "workflow"):
        kind, name, failed_states = "workflow", run.workflow, _FAILED_RUN
        error = run.error
    elif hasattr(run, "pipeline") and not str(run.triggered_by or "").startswith("workflow:"):
        kind, name, failed_states = "pipeline", run.pipeline, _FAILED_EXECUTION
        error = run.error.to_dict() if run.error is not None else None
    else:
        return
    status = str(run.status)
    dedup_key = f"{kind}:{name}"
    run_id = run.run_id
    if status in failed_states:
        host.alerts.raise_alert(_failure(kind, name, status, run_id, error, dedup_key, run))
    elif status == "COMPLETED" and _last_was_failure(host, dedup_key):
        host.alerts.raise_alert(
            Alert(
                severity=Severity.INFO,
                title=f"{kind} {name} recovered",
                message=f"run {run_id} completed after earlier failures",
                source=dedup_key,
                domain=domain_of(name),
                run_id=run_id,
                metadata={"run_kind": kind, "status": status},
                dedup_key=dedup_key,
                recovery=True,
            )
        )


def on_schedule_fired(host: Host, fire: Any) -> None:
    """Raise a WARNING for a MISSED fire."""
    if str(fire.status) != "MISSED":
        return
    nominal = fire.nominal_time.isoformat()
    host.alerts.raise_alert(
        Alert(
            severity=Severity.WARNING,
            title=f"schedule {fire.schedule_name} missed its fire at {nominal}",
            message=fire.reason or "no scheduler ran it in time",
            source=f"schedule:{fire.schedule_name}",
            metadata={"nominal_time": nominal, "fired_by": fire.fired_by},
            dedup_key=f"schedule:{fire.schedule_name}:missed",
        )
    )


def _failure(
    kind: str,
    name: str,
    status: str,
    run_id: str,
    error: dict[str, Any] | None,
    dedup_key: str,
    run: Any,
) -> Alert:
    category = (error or {}).get("category")
    severity = Severity.CRITICAL if status == "CRASHED" else _severity(category)
    message = (error or {}).get("message") or f"the {kind} ended {status}"
    failed_steps = _failed_steps(run)
    if failed_steps:
        message = f"failed step(s): {', '.join(failed_steps)}. {message}"
    return Alert(
        severity=severity,
        title=f"{kind} {name} {status}",
        message=message,
        source=dedup_key,
        domain=domain_of(name),
        run_id=run_id,
        error_category=category,
        metadata={
            "run_kind": kind,
            "status": status,
            "triggered_by": getattr(run, "triggered_by", None),
            "failed_steps": failed_steps,
        },
        dedup_key=dedup_key,
    )


def _severity(category: str | None) -> Severity:
    try:
        return ErrorCategory(category).severity if category else Severity.ERROR
    except ValueError:
        return Severity.ERROR


def _failed_steps(run: Any) -> list[str]:
    latest = getattr(run, "latest_attempts", None)
    if latest is None:
        return []
    return sorted(
        name
        for name, attempt in latest().items()
        if str(attempt.status) in ("FAILED", "TIMED_OUT", "CRASHED")
    )


def _last_was_failure(host: Host, dedup_key: str) -> bool:
    """Whether the latest alert raised for ``dedup_key`` reported a failure (not a recovery)."""
    alerts = schema.alerts
    try:
        rows = host.storage.query(
            sa.select(alerts.c.details)
            .where(alerts.c.dedup_key == dedup_key)
            .order_by(alerts.c.created_at.desc())
            .limit(1)
        )
    except Exception as exc:  # no alert tables yet: nothing failed that we know of
        log.debug("recovery check for %s skipped: %s", dedup_key, exc)
        return False
    if not rows:
        return False
    details = rows[0]["details"] or {}
    return not details.get("recovery", False)
