"""Deadlines: one row per missed (deadline, logical time), claimed by inserting it.

Needed for DEADLINE_MISSED alerts raised exactly once across scheduler replicas (issue 12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import UtcDateTime

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_SURROGATE_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the table and its index."""
    op.create_table(
        "deadlines",
        sa.Column("deadline_id", _SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("deadline_key", sa.String(length=200), nullable=False),
        sa.Column("logical_time", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("alert_id", sa.String(length=64), nullable=True),
        sa.Column("raised_by", sa.String(length=200), nullable=True),
        sa.Column("raised_at", UtcDateTime(), nullable=False),
        sa.Column("recovered_at", UtcDateTime(), nullable=True),
        sa.Column("met_by_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("deadline_id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint(
            "deadline_key", "logical_time", name=op.f("uq_deadlines_deadline_key_logical_time")
        ),
    )
    op.create_index(
        op.f("ix_deadlines_status_deadline_key"),
        "deadlines",
        ["status", "deadline_key"],
        unique=False,
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index(op.f("ix_deadlines_status_deadline_key"), table_name="deadlines")
    op.drop_table("deadlines")
