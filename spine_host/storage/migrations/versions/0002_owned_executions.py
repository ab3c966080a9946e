"""Executions get an owner, a heartbeat and their partition; step attempts say why they skipped.

Needed for reaping crashed pipeline runs, one runner per partition, and fencing (issue 9).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import UtcDateTime

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the columns and their indexes."""
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("partition_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UtcDateTime(), nullable=True))
    op.create_index(
        op.f("ix_executions_status_heartbeat_at"),
        "executions",
        ["status", "heartbeat_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_executions_pipeline_partition_key_status"),
        "executions",
        ["pipeline", "partition_key", "status"],
        unique=False,
    )
    with op.batch_alter_table("workflow_steps") as batch:
        batch.add_column(sa.Column("skip_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("workflow_steps") as batch:
        batch.drop_column("skip_reason")
    op.drop_index(op.f("ix_executions_pipeline_partition_key_status"), table_name="executions")
    op.drop_index(op.f("ix_executions_status_heartbeat_at"), table_name="executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
        batch.drop_column("partition_key")
