"""The OTC tables: weekly volume per symbol and venue, and the venue summary.

Revision ID: otc_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "otc_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create both tables, or adopt them where an earlier spine-otc created them itself."""
    existing = set(sa.inspect(op.get_bind()).get_table_names()) if not _offline() else set()
    if "otc_weekly_volume" not in existing:
        _create_weekly_volume()
    if "otc_venue_summary" not in existing:
        _create_venue_summary()


def _offline() -> bool:
    from alembic import context

    return context.is_offline_mode()


def _create_weekly_volume() -> None:
    op.create_table(
        "otc_weekly_volume",
        sa.Column("week_ending", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("venue", sa.String(20), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("issue_name", sa.String(200), nullable=False),
        sa.Column("trade_count", sa.BigInteger(), nullable=False),
        sa.Column("share_volume", sa.BigInteger(), nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("week_ending", "symbol", "venue"),
    )


def _create_venue_summary() -> None:
    op.create_table(
        "otc_venue_summary",
        sa.Column("week_ending", sa.Date(), nullable=False),
        sa.Column("venue", sa.String(20), nullable=False),
        sa.Column("symbols", sa.Integer(), nullable=False),
        sa.Column("trade_count", sa.BigInteger(), nullable=False),
        sa.Column("share_volume", sa.BigInteger(), nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("week_ending", "venue"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("otc_venue_summary")
    op.drop_table("otc_weekly_volume")
