"""Schedules get operator state; schedule fires get a heartbeat.

``schedules``: ``paused``, ``catchup_from`` (nothing before it is caught up: the schedule was
new, paused or disabled then), ``next_fire_at``, ``last_fire_at``, ``last_outcome``.
``schedule_runs``: ``heartbeat_at`` (the claiming replica is alive), ``fired_by`` (schedule,
catch-up, run-now, backfill) and an index for "open
fires of this schedule" (overlap checks). Needed by the scheduler service (issue 10).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import UtcDateTime

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the columns and the index."""
    # Plain ADD COLUMN (no batch copy): every dialect has it, and offline --sql works.
    op.add_column(
        "schedules", sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("schedules", sa.Column("catchup_from", UtcDateTime(), nullable=True))
    op.add_column("schedules", sa.Column("next_fire_at", UtcDateTime(), nullable=True))
    op.add_column("schedules", sa.Column("last_fire_at", UtcDateTime(), nullable=True))
    op.add_column("schedules", sa.Column("last_outcome", sa.String(length=20), nullable=True))
    op.add_column("schedule_runs", sa.Column("heartbeat_at", UtcDateTime(), nullable=True))
    op.add_column("schedule_runs", sa.Column("fired_by", sa.String(length=20), nullable=True))
    op.create_index(
        op.f("ix_schedule_runs_schedule_name_status"),
        "schedule_runs",
        ["schedule_name", "status"],
        unique=False,
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(op.f("ix_schedule_runs_schedule_name_status"), table_name="schedule_runs")
    with op.batch_alter_table("schedule_runs") as batch:
        batch.drop_column("fired_by")
        batch.drop_column("heartbeat_at")
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("last_outcome")
        batch.drop_column("last_fire_at")
        batch.drop_column("next_fire_at")
        batch.drop_column("catchup_from")
        batch.drop_column("paused")
