"""Every table of DESIGN §7: pipelines, workflows, schedules, alerts and locks.

Written out table by table (not generated from schema.py at run time), so this revision keeps
creating the same schema after schema.py moves on; a test checks the two agree.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import JsonDocument, UtcDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; everywhere else a surrogate key is BIGINT.
SURROGATE_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every spine table and index."""
    op.create_table(
        "alert_channels",
        sa.Column("channel_name", sa.String(length=200), nullable=False),
        sa.Column("channel_type", sa.String(length=100), nullable=False),
        sa.Column("min_severity", sa.String(length=20), nullable=True),
        sa.Column("domains", JsonDocument(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", JsonDocument(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_name", name=op.f("pk_alert_channels")),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("alert_source", sa.String(length=200), nullable=True),
        sa.Column("domain_name", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("error_category", sa.String(length=20), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("details", JsonDocument(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_created_at"), "alerts", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_alerts_dedup_key_created_at"), "alerts", ["dedup_key", "created_at"], unique=False
    )
    op.create_index(op.f("ix_alerts_run_id"), "alerts", ["run_id"], unique=False)
    if not _table_exists("core_locks"):
        op.create_table(
            "core_locks",
            sa.Column("lock_name", sa.String(length=200), nullable=False),
            sa.Column("holder", sa.String(length=200), nullable=True),
            sa.Column("acquired_at", UtcDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("lock_name", name=op.f("pk_core_locks")),
        )
    op.create_table(
        "core_manifest",
        sa.Column("manifest_id", SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("domain_name", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=400), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("stage_rank", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("metrics", JsonDocument(), nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("manifest_id", name=op.f("pk_core_manifest")),
        sa.UniqueConstraint(
            "domain_name",
            "partition_key",
            "stage",
            name=op.f("uq_core_manifest_domain_name_partition_key_stage"),
        ),
    )
    op.create_table(
        "core_quality",
        sa.Column("check_id", SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("pipeline", sa.String(length=200), nullable=True),
        sa.Column("domain_name", sa.String(length=200), nullable=True),
        sa.Column("partition_key", sa.String(length=400), nullable=True),
        sa.Column("check_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actual", JsonDocument(), nullable=True),
        sa.Column("expected", JsonDocument(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("details", JsonDocument(), nullable=True),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("check_id", name=op.f("pk_core_quality")),
    )
    op.create_index(
        op.f("ix_core_quality_execution_id"), "core_quality", ["execution_id"], unique=False
    )
    op.create_index(
        op.f("ix_core_quality_status_checked_at"),
        "core_quality",
        ["status", "checked_at"],
        unique=False,
    )
    op.create_table(
        "core_rejects",
        sa.Column("reject_id", SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("pipeline", sa.String(length=200), nullable=True),
        sa.Column("domain_name", sa.String(length=200), nullable=True),
        sa.Column("partition_key", sa.String(length=400), nullable=True),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("reason_code", sa.String(length=100), nullable=False),
        sa.Column("reason_detail", sa.Text(), nullable=True),
        sa.Column("raw_record", sa.Text(), nullable=True),
        sa.Column("source_locator", sa.String(length=1000), nullable=True),
        sa.Column("line_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("reject_id", name=op.f("pk_core_rejects")),
    )
    op.create_index(
        op.f("ix_core_rejects_execution_id_reason_code"),
        "core_rejects",
        ["execution_id", "reason_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_core_rejects_reason_code_created_at"),
        "core_rejects",
        ["reason_code", "created_at"],
        unique=False,
    )
    op.create_table(
        "executions",
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("params", JsonDocument(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("parent_execution_id", sa.String(length=64), nullable=True),
        sa.Column("triggered_by", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("result_data", JsonDocument(), nullable=True),
        sa.Column("error", JsonDocument(), nullable=True),
        sa.Column("error_category", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_executions")),
    )
    op.create_index(op.f("ix_executions_batch_id"), "executions", ["batch_id"], unique=False)
    op.create_index(
        op.f("ix_executions_idempotency_key"), "executions", ["idempotency_key"], unique=True
    )
    op.create_index(
        op.f("ix_executions_parent_execution_id"),
        "executions",
        ["parent_execution_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_executions_pipeline_created_at"),
        "executions",
        ["pipeline", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_executions_status_created_at"),
        "executions",
        ["status", "created_at"],
        unique=False,
    )
    op.create_table(
        "schedule_runs",
        sa.Column("schedule_run_id", SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("schedule_name", sa.String(length=200), nullable=False),
        sa.Column("nominal_fire_at", UtcDateTime(), nullable=False),
        sa.Column("logical_date", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("error", JsonDocument(), nullable=True),
        sa.PrimaryKeyConstraint("schedule_run_id", name=op.f("pk_schedule_runs")),
        sa.UniqueConstraint(
            "schedule_name",
            "nominal_fire_at",
            name=op.f("uq_schedule_runs_schedule_name_nominal_fire_at"),
        ),
    )
    op.create_index(op.f("ix_schedule_runs_run_id"), "schedule_runs", ["run_id"], unique=False)
    op.create_index(
        op.f("ix_schedule_runs_status_nominal_fire_at"),
        "schedule_runs",
        ["status", "nominal_fire_at"],
        unique=False,
    )
    op.create_table(
        "schedules",
        sa.Column("schedule_name", sa.String(length=200), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("params", JsonDocument(), nullable=True),
        sa.Column("cron_expression", sa.String(length=200), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("catchup", sa.String(length=20), nullable=False),
        sa.Column("catchup_limit", sa.Integer(), nullable=True),
        sa.Column("misfire_grace_seconds", sa.Integer(), nullable=True),
        sa.Column("overlap_policy", sa.String(length=20), nullable=True),
        sa.Column("after_schedules", JsonDocument(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("schedule_name", name=op.f("pk_schedules")),
    )
    op.create_table(
        "workflow_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("workflow", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("params", JsonDocument(), nullable=True),
        sa.Column("outputs", JsonDocument(), nullable=True),
        sa.Column("error", JsonDocument(), nullable=True),
        sa.Column("error_category", sa.String(length=20), nullable=True),
        sa.Column("triggered_by", sa.String(length=200), nullable=True),
        sa.Column("parent_run_id", sa.String(length=64), nullable=True),
        sa.Column("schedule_name", sa.String(length=200), nullable=True),
        sa.Column("logical_date", UtcDateTime(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=True),
        sa.Column("steps_total", sa.Integer(), nullable=False),
        sa.Column("steps_completed", sa.Integer(), nullable=False),
        sa.Column("steps_failed", sa.Integer(), nullable=False),
        sa.Column("steps_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_in", sa.BigInteger(), nullable=True),
        sa.Column("rows_out", sa.BigInteger(), nullable=True),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_workflow_runs")),
    )
    op.create_index(
        op.f("ix_workflow_runs_parent_run_id"), "workflow_runs", ["parent_run_id"], unique=False
    )
    op.create_index(
        op.f("ix_workflow_runs_schedule_name_logical_date"),
        "workflow_runs",
        ["schedule_name", "logical_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_workflow_runs_started_at"), "workflow_runs", ["started_at"], unique=False
    )
    op.create_index(
        op.f("ix_workflow_runs_status_heartbeat_at"),
        "workflow_runs",
        ["status", "heartbeat_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_workflow_runs_status_started_at"),
        "workflow_runs",
        ["status", "started_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_workflow_runs_workflow_status_started_at"),
        "workflow_runs",
        ["workflow", "status", "started_at"],
        unique=False,
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("delivery_id", SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("channel_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.String(length=500), nullable=True),
        sa.Column("response", JsonDocument(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.alert_id"],
            name=op.f("fk_alert_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(
        op.f("ix_alert_deliveries_alert_id"), "alert_deliveries", ["alert_id"], unique=False
    )
    op.create_index(
        op.f("ix_alert_deliveries_channel_name_created_at"),
        "alert_deliveries",
        ["channel_name", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_alert_deliveries_status_next_attempt_at"),
        "alert_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "execution_events",
        sa.Column("event_id", SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("details", JsonDocument(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.execution_id"],
            name=op.f("fk_execution_events_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_execution_events")),
    )
    op.create_index(
        op.f("ix_execution_events_execution_id_occurred_at"),
        "execution_events",
        ["execution_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "workflow_steps",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("step_name", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("params", JsonDocument(), nullable=True),
        sa.Column("outputs", JsonDocument(), nullable=True),
        sa.Column("error", JsonDocument(), nullable=True),
        sa.Column("error_category", sa.String(length=20), nullable=True),
        sa.Column("rows_in", sa.BigInteger(), nullable=True),
        sa.Column("rows_out", sa.BigInteger(), nullable=True),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.run_id"],
            name=op.f("fk_workflow_steps_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "step_name", "attempt", name=op.f("pk_workflow_steps")),
    )
    op.create_index(
        op.f("ix_workflow_steps_status_started_at"),
        "workflow_steps",
        ["status", "started_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop every spine table (and its data)."""
    op.drop_table("workflow_steps")
    op.drop_table("execution_events")
    op.drop_table("alert_deliveries")
    op.drop_table("workflow_runs")
    op.drop_table("schedules")
    op.drop_table("schedule_runs")
    op.drop_table("executions")
    op.drop_table("core_rejects")
    op.drop_table("core_quality")
    op.drop_table("core_manifest")
    op.drop_table("core_locks")
    op.drop_table("alerts")
    op.drop_table("alert_channels")


def _table_exists(name: str) -> bool:
    # The adapters create core_locks on first lock() when migrations have not run yet.
    if op.get_context().as_sql:
        return False
    return sa.inspect(op.get_bind()).has_table(name)
