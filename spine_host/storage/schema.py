"""Every table spine keeps, defined once (DESIGN §7), as SQLAlchemy Core metadata.

The migrations in ``spine_host/storage/migrations`` create exactly these tables; a test compares
the two on SQLite and PostgreSQL. Rules that keep the schema portable to SQLite, PostgreSQL and
DB2:

- every timestamp is :class:`~spine_host.storage.types.UtcDateTime` (aware UTC in Python);
- JSON goes in :class:`~spine_host.storage.types.JsonDocument`;
- indexed text is ``String(n)`` with an explicit length (DB2 needs one, and limits index keys to
  about 1 KB, so composite keys stay well below that);
- no column is named with a reserved word (``user``, ``timestamp``, ``key``, ``value``,
  ``order``, ``group``, ``domain``, ``partition``...), so no dialect has to quote one;
- identifiers are ids spine generates (``String(64)``: uuid4 hex or ULID), except the surrogate
  ``BigInteger`` keys of append-only tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from spine_host.storage.types import JsonDocument, UtcDateTime, utc_now

__all__ = [
    "ID_LENGTH",
    "NAME_LENGTH",
    "alert_channels",
    "alert_deliveries",
    "alerts",
    "core_locks",
    "core_manifest",
    "core_quality",
    "core_rejects",
    "deadlines",
    "execution_events",
    "executions",
    "metadata",
    "schedule_runs",
    "schedules",
    "workflow_runs",
    "workflow_step_logs",
    "workflow_steps",
]

#: Length of generated ids (execution, run, alert ids).
ID_LENGTH = 64
#: Length of names people choose (pipelines, workflows, schedules, channels, checks).
NAME_LENGTH = 200
_STATUS_LENGTH = 20
_CATEGORY_LENGTH = 20

#: Naming convention so constraint names are stable across dialects and migrations.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY; everywhere else a surrogate key is BIGINT.
_SurrogateKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _surrogate_key(name: str) -> sa.Column[int]:
    return sa.Column(name, _SurrogateKey, primary_key=True, autoincrement=True)


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", UtcDateTime(), nullable=False, default=utc_now)


# -- pipelines (issue 5) ------------------------------------------------------------------------

core_manifest = sa.Table(
    "core_manifest",
    metadata,
    _surrogate_key("manifest_id"),
    sa.Column("domain_name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("partition_key", sa.String(400), nullable=False),
    sa.Column("stage", sa.String(100), nullable=False),
    sa.Column("stage_rank", sa.Integer(), nullable=False),
    sa.Column("row_count", sa.BigInteger()),
    sa.Column("metrics", JsonDocument()),
    sa.Column("execution_id", sa.String(ID_LENGTH)),
    sa.Column("batch_id", sa.String(ID_LENGTH)),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False, default=utc_now, onupdate=utc_now),
    sa.UniqueConstraint("domain_name", "partition_key", "stage"),
)

core_rejects = sa.Table(
    "core_rejects",
    metadata,
    _surrogate_key("reject_id"),
    sa.Column("execution_id", sa.String(ID_LENGTH)),
    sa.Column("pipeline", sa.String(NAME_LENGTH)),
    sa.Column("domain_name", sa.String(NAME_LENGTH)),
    sa.Column("partition_key", sa.String(400)),
    sa.Column("stage", sa.String(100), nullable=False),
    sa.Column("reason_code", sa.String(100), nullable=False),
    sa.Column("reason_detail", sa.Text()),
    sa.Column("raw_record", sa.Text()),
    sa.Column("source_locator", sa.String(1000)),
    sa.Column("line_number", sa.BigInteger()),
    _created_at(),
    sa.Index(None, "execution_id", "reason_code"),
    sa.Index(None, "reason_code", "created_at"),
)

core_quality = sa.Table(
    "core_quality",
    metadata,
    _surrogate_key("check_id"),
    sa.Column("execution_id", sa.String(ID_LENGTH)),
    sa.Column("pipeline", sa.String(NAME_LENGTH)),
    sa.Column("domain_name", sa.String(NAME_LENGTH)),
    sa.Column("partition_key", sa.String(400)),
    sa.Column("check_name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("actual", JsonDocument()),
    sa.Column("expected", JsonDocument()),
    sa.Column("message", sa.Text()),
    sa.Column("details", JsonDocument()),
    sa.Column("checked_at", UtcDateTime(), nullable=False, default=utc_now),
    sa.Index(None, "execution_id"),
    sa.Index(None, "status", "checked_at"),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("execution_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("pipeline", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("params", JsonDocument()),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    # Unique where set. DB2 allows one NULL per unique index unless EXCLUDE NULL KEYS is added.
    sa.Column("idempotency_key", sa.String(255)),
    sa.Column("batch_id", sa.String(ID_LENGTH)),
    sa.Column("parent_execution_id", sa.String(ID_LENGTH)),
    sa.Column("triggered_by", sa.String(NAME_LENGTH)),
    sa.Column("attempts", sa.Integer(), nullable=False, default=0),
    _created_at(),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
    # "result" is reserved in DB2.
    sa.Column("result_data", JsonDocument()),
    sa.Column("error", JsonDocument()),
    sa.Column("error_category", sa.String(_CATEGORY_LENGTH)),
    # The partition the run works on (pipelines with a manifest stage): one runner at a time.
    sa.Column("partition_key", sa.String(NAME_LENGTH)),
    # Who runs it (host:pid:...) and when it last said so: the reaper reads both.
    sa.Column("owner", sa.String(NAME_LENGTH)),
    sa.Column("heartbeat_at", UtcDateTime()),
    sa.Index(None, "idempotency_key", unique=True),
    sa.Index(None, "parent_execution_id"),
    sa.Index(None, "batch_id"),
    sa.Index(None, "pipeline", "created_at"),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "status", "heartbeat_at"),
    sa.Index(None, "pipeline", "partition_key", "status"),
)

execution_events = sa.Table(
    "execution_events",
    metadata,
    _surrogate_key("event_id"),
    sa.Column(
        "execution_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("executions.execution_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_type", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("attempt", sa.Integer()),
    sa.Column("occurred_at", UtcDateTime(), nullable=False, default=utc_now),
    sa.Column("message", sa.Text()),
    sa.Column("details", JsonDocument()),
    sa.Index(None, "execution_id", "occurred_at"),
)

# -- workflows (issue 6) ------------------------------------------------------------------------

workflow_runs = sa.Table(
    "workflow_runs",
    metadata,
    sa.Column("run_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("workflow", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("params", JsonDocument()),
    sa.Column("outputs", JsonDocument()),
    sa.Column("error", JsonDocument()),
    sa.Column("error_category", sa.String(_CATEGORY_LENGTH)),
    sa.Column("triggered_by", sa.String(NAME_LENGTH)),
    sa.Column("parent_run_id", sa.String(ID_LENGTH)),
    sa.Column("schedule_name", sa.String(NAME_LENGTH)),
    sa.Column("logical_date", UtcDateTime()),
    # Who runs it (host:pid) and when it last said so: crash detection reads both.
    sa.Column("owner", sa.String(NAME_LENGTH)),
    sa.Column("heartbeat_at", UtcDateTime()),
    sa.Column("steps_total", sa.Integer(), nullable=False, default=0),
    sa.Column("steps_completed", sa.Integer(), nullable=False, default=0),
    sa.Column("steps_failed", sa.Integer(), nullable=False, default=0),
    sa.Column("steps_skipped", sa.Integer(), nullable=False, default=0),
    sa.Column("rows_in", sa.BigInteger()),
    sa.Column("rows_out", sa.BigInteger()),
    sa.Column("rows_rejected", sa.BigInteger()),
    _created_at(),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
    # A cancellation asked for (``spine runs cancel``): when, by whom, why (migration 0005).
    # Written only by the request; the runner driving the run reads it at each heartbeat.
    sa.Column("cancel_requested_at", UtcDateTime()),
    sa.Column("cancel_requested_by", sa.String(NAME_LENGTH)),
    sa.Column("cancel_reason", sa.String(1000)),
    # list_runs(workflow, status, since) and get_failed_runs(since) (status = 'FAILED').
    sa.Index(None, "workflow", "status", "started_at"),
    sa.Index(None, "status", "started_at"),
    sa.Index(None, "started_at"),
    sa.Index(None, "status", "heartbeat_at"),
    sa.Index(None, "parent_run_id"),
    sa.Index(None, "schedule_name", "logical_date"),
)

workflow_steps = sa.Table(
    "workflow_steps",
    metadata,
    sa.Column(
        "run_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("workflow_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step_name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("attempt", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("pipeline", sa.String(NAME_LENGTH)),
    sa.Column("execution_id", sa.String(ID_LENGTH)),
    sa.Column("params", JsonDocument()),
    sa.Column("outputs", JsonDocument()),
    sa.Column("error", JsonDocument()),
    sa.Column("error_category", sa.String(_CATEGORY_LENGTH)),
    sa.Column("rows_in", sa.BigInteger()),
    sa.Column("rows_out", sa.BigInteger()),
    sa.Column("rows_rejected", sa.BigInteger()),
    # Why a SKIPPED attempt did not run: "stage reached", "condition", "upstream failed".
    sa.Column("skip_reason", sa.String(500)),
    _created_at(),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
    # A remote executor's worker claims the attempt and heartbeats it (migration 0006).
    sa.Column("worker", sa.String(NAME_LENGTH)),
    sa.Column("claimed_at", UtcDateTime()),
    sa.Column("heartbeat_at", UtcDateTime()),
    sa.Index(None, "status", "started_at"),
)

workflow_step_logs = sa.Table(
    "workflow_step_logs",
    metadata,
    # What each attempt of a step logged (migration 0005), bounded and redacted when captured.
    sa.Column(
        "run_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("workflow_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step_name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("attempt", sa.Integer(), primary_key=True),
    # Order within the attempt, from 1.
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("logged_at", UtcDateTime(), nullable=False),
    sa.Column("level", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("logger", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
)

# -- scheduler (DESIGN §10) ---------------------------------------------------------------------

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("schedule_name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("target_kind", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("target", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("params", JsonDocument()),
    sa.Column("cron_expression", sa.String(NAME_LENGTH)),
    sa.Column("interval_seconds", sa.Integer()),
    sa.Column("time_zone", sa.String(64), nullable=False, default="UTC"),
    sa.Column("catchup", sa.String(_STATUS_LENGTH), nullable=False, default="latest"),
    sa.Column("catchup_limit", sa.Integer()),
    sa.Column("misfire_grace_seconds", sa.Integer()),
    sa.Column("overlap_policy", sa.String(_STATUS_LENGTH)),
    sa.Column("after_schedules", JsonDocument()),
    sa.Column("enabled", sa.Boolean(), nullable=False, default=True),
    sa.Column("origin", sa.String(NAME_LENGTH)),
    # Operator state (migration 0003): pause, and the instant before which nothing is caught up
    # (first seen, resumed, re-enabled), so a pause or a new schedule is not a run of misses.
    sa.Column("paused", sa.Boolean(), nullable=False, default=False),
    sa.Column("catchup_from", UtcDateTime()),
    sa.Column("next_fire_at", UtcDateTime()),
    sa.Column("last_fire_at", UtcDateTime()),
    sa.Column("last_outcome", sa.String(_STATUS_LENGTH)),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False, default=utc_now, onupdate=utc_now),
)

schedule_runs = sa.Table(
    "schedule_runs",
    metadata,
    _surrogate_key("schedule_run_id"),
    sa.Column("schedule_name", sa.String(NAME_LENGTH), nullable=False),
    # The claim: one row per (schedule, nominal fire time in UTC), whatever the replica count.
    sa.Column("nominal_fire_at", UtcDateTime(), nullable=False),
    sa.Column("logical_date", sa.String(32)),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("reason", sa.String(NAME_LENGTH)),
    sa.Column("claimed_by", sa.String(NAME_LENGTH)),
    sa.Column("claimed_at", UtcDateTime(), nullable=False, default=utc_now),
    sa.Column("run_id", sa.String(ID_LENGTH)),
    sa.Column("execution_id", sa.String(ID_LENGTH)),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
    sa.Column("error", JsonDocument()),
    # The claiming replica refreshes it while the fire is open (migration 0003).
    sa.Column("heartbeat_at", UtcDateTime()),
    # What made it: schedule (on time), catch-up, run-now, backfill (migration 0003).
    sa.Column("fired_by", sa.String(_STATUS_LENGTH)),
    sa.UniqueConstraint("schedule_name", "nominal_fire_at"),
    sa.Index(None, "status", "nominal_fire_at"),
    sa.Index(None, "schedule_name", "status"),
    sa.Index(None, "run_id"),
)

deadlines = sa.Table(
    "deadlines",
    metadata,
    _surrogate_key("deadline_id"),
    # ``schedule:NAME`` (the run for a logical time must succeed by nominal + deadline) or
    # ``freshness:NAME`` (some run must have succeeded within fresh_within). Migration 0004.
    sa.Column("deadline_key", sa.String(NAME_LENGTH), nullable=False),
    # The claim: one row per (deadline, logical time), whatever the replica count.
    sa.Column("logical_time", UtcDateTime(), nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("alert_id", sa.String(ID_LENGTH)),
    sa.Column("raised_by", sa.String(NAME_LENGTH)),
    sa.Column("raised_at", UtcDateTime(), nullable=False),
    sa.Column("recovered_at", UtcDateTime()),
    # The run (or execution) that finally met it.
    sa.Column("met_by_run_id", sa.String(ID_LENGTH)),
    sa.UniqueConstraint("deadline_key", "logical_time"),
    sa.Index(None, "status", "deadline_key"),
)

# -- alerts (DESIGN §11) ------------------------------------------------------------------------

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("severity", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("message", sa.Text()),
    sa.Column("alert_source", sa.String(NAME_LENGTH)),
    sa.Column("domain_name", sa.String(NAME_LENGTH)),
    sa.Column("run_id", sa.String(ID_LENGTH)),
    sa.Column("error_category", sa.String(_CATEGORY_LENGTH)),
    sa.Column("dedup_key", sa.String(255)),
    sa.Column("details", JsonDocument()),
    _created_at(),
    sa.Index(None, "dedup_key", "created_at"),
    sa.Index(None, "created_at"),
    sa.Index(None, "run_id"),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    _surrogate_key("delivery_id"),
    sa.Column(
        "alert_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("alerts.alert_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("channel_name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("status", sa.String(_STATUS_LENGTH), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, default=0),
    sa.Column("last_error", sa.Text()),
    sa.Column("external_ref", sa.String(500)),
    sa.Column("response", JsonDocument()),
    _created_at(),
    sa.Column("delivered_at", UtcDateTime()),
    sa.Column("next_attempt_at", UtcDateTime()),
    sa.Index(None, "alert_id"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "channel_name", "created_at"),
)

alert_channels = sa.Table(
    "alert_channels",
    metadata,
    sa.Column("channel_name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("channel_type", sa.String(100), nullable=False),
    sa.Column("min_severity", sa.String(_STATUS_LENGTH)),
    sa.Column("domains", JsonDocument()),
    sa.Column("enabled", sa.Boolean(), nullable=False, default=True),
    # Configuration with secrets masked: what people see, never what is sent.
    sa.Column("settings", JsonDocument()),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False, default=utc_now, onupdate=utc_now),
)

# -- coordination -------------------------------------------------------------------------------

core_locks = sa.Table(
    "core_locks",
    metadata,
    sa.Column("lock_name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("holder", sa.String(NAME_LENGTH)),
    sa.Column("acquired_at", UtcDateTime()),
)
