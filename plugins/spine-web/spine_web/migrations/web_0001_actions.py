"""The web_actions table: the audit log of actions taken from the dashboard.

Revision ID: web_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import UtcDateTime

revision = "web_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_SURROGATE_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``web_actions`` and its indexes."""
    op.create_table(
        "web_actions",
        sa.Column("action_id", _SURROGATE_KEY, autoincrement=True, nullable=False),
        sa.Column("action_name", sa.String(20), nullable=False),
        sa.Column("target_kind", sa.String(20), nullable=False),
        sa.Column("target_name", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("client_address", sa.String(100), nullable=True),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("action_id"),
    )
    op.create_index("ix_web_actions_requested_at", "web_actions", ["requested_at"])
    op.create_index(
        "ix_web_actions_target", "web_actions", ["target_kind", "target_name", "requested_at"]
    )


def downgrade() -> None:
    """Drop ``web_actions``."""
    op.drop_index("ix_web_actions_target", table_name="web_actions")
    op.drop_index("ix_web_actions_requested_at", table_name="web_actions")
    op.drop_table("web_actions")
