"""Step logs and run cancellation.

``workflow_step_logs``: what each attempt of a step logged (``spine runs logs``), keyed by the
attempt and a sequence number within it. ``workflow_runs``: ``cancel_requested_at``,
``cancel_requested_by`` and ``cancel_reason``, written by ``spine runs cancel`` and read by the
runner driving the run at each heartbeat (issue 14).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import UtcDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the log table; add the cancellation columns."""
    op.create_table(
        "workflow_step_logs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("step_name", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("logged_at", UtcDateTime(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("logger", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.run_id"],
            name=op.f("fk_workflow_step_logs_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "step_name", "attempt", "seq", name=op.f("pk_workflow_step_logs")
        ),
    )
    # Plain ADD COLUMN (no batch copy): every dialect has it, and offline --sql works.
    op.add_column("workflow_runs", sa.Column("cancel_requested_at", UtcDateTime(), nullable=True))
    op.add_column(
        "workflow_runs", sa.Column("cancel_requested_by", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "workflow_runs", sa.Column("cancel_reason", sa.String(length=1000), nullable=True)
    )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("workflow_runs") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancel_requested_by")
        batch.drop_column("cancel_requested_at")
    op.drop_table("workflow_step_logs")
