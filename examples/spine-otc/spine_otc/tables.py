"""The OTC domain's own tables (spine's tables live in spine_host.storage.schema).

``spine db upgrade`` creates them through the revision scripts in ``spine_otc/migrations``
(registered by ``spine_register_tables`` in the entry module); this metadata is what the
pipelines query and what the scripts must build (a test compares them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from spine_host.storage.plugin_tables import PluginTables

__all__ = ["OTC_TABLES", "metadata", "otc_tables", "venue_summary", "weekly_volume"]

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


def otc_tables() -> PluginTables:
    """The tables as spine_register_tables registers them: created by the revision scripts."""
    from spine_host.storage.plugin_tables import PluginTables, migrations_path

    return PluginTables("otc", metadata, migrations=migrations_path("spine_otc"))


#: What ``spine_register_tables`` registers (lazily: SQLAlchemy is imported only when used).
OTC_TABLES = otc_tables()
