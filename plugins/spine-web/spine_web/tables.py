"""The table spine-web owns: ``web_actions``, one row per action asked for from the dashboard.

``spine db upgrade`` creates it through the revision scripts in ``spine_web/migrations``; this
metadata is what :mod:`spine_web.audit` reads and writes, and what the scripts must build.
"""

from __future__ import annotations

import sqlalchemy as sa

from spine_host.api import PluginTables, migrations_path
from spine_host.storage.types import UtcDateTime

__all__ = ["WEB_TABLES", "metadata", "web_actions", "web_tables"]

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; everywhere else a surrogate key is BIGINT.
_SurrogateKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

web_actions = sa.Table(
    "web_actions",
    metadata,
    sa.Column("action_id", _SurrogateKey, primary_key=True, autoincrement=True),
    # resume, retry, cancel, run-now, pause, unpause
    sa.Column("action_name", sa.String(20), nullable=False),
    # run or schedule, and its id or name
    sa.Column("target_kind", sa.String(20), nullable=False),
    sa.Column("target_name", sa.String(200), nullable=False),
    # web:<user or token id>, and the client's address
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("client_address", sa.String(100)),
    sa.Column("requested_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime()),
    # STARTED while background work goes on; then DONE, REFUSED, ERROR or the run's status
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("detail", sa.String(1000)),
    # The run the action created (retry, run-now) or worked on (resume, cancel).
    sa.Column("run_id", sa.String(64)),
    sa.Index("ix_web_actions_requested_at", "requested_at"),
    sa.Index("ix_web_actions_target", "target_kind", "target_name", "requested_at"),
)


def web_tables() -> PluginTables:
    """The tables as ``spine_register_tables`` registers them: built by the revision scripts."""
    return PluginTables("web", metadata, migrations=migrations_path("spine_web"))


#: What the entry module registers (``register.lazy("web", "spine_web.tables:WEB_TABLES")``).
WEB_TABLES = web_tables()
