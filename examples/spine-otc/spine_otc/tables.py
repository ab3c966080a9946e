"""The OTC domain's own tables (spine's tables live in spine_host.storage.schema)."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "venue_summary", "weekly_volume"]

metadata = sa.MetaData()

weekly_volume = sa.Table(
    "otc_weekly_volume",
    metadata,
    sa.Column("week_ending", sa.Date(), primary_key=True),
    sa.Column("symbol", sa.String(20), primary_key=True),
    sa.Column("venue", sa.String(20), primary_key=True),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("issue_name", sa.String(200), nullable=False),
    sa.Column("trade_count", sa.BigInteger(), nullable=False),
    sa.Column("share_volume", sa.BigInteger(), nullable=False),
    sa.Column("execution_id", sa.String(64), nullable=False),
)

venue_summary = sa.Table(
    "otc_venue_summary",
    metadata,
    sa.Column("week_ending", sa.Date(), primary_key=True),
    sa.Column("venue", sa.String(20), primary_key=True),
    sa.Column("symbols", sa.Integer(), nullable=False),
    sa.Column("trade_count", sa.BigInteger(), nullable=False),
    sa.Column("share_volume", sa.BigInteger(), nullable=False),
    sa.Column("execution_id", sa.String(64), nullable=False),
)
