"""Remote attempts: which worker claimed an attempt, and its heartbeat.

``workflow_steps``: ``worker`` (the process that claimed the attempt, ``host:pid:nonce``),
``claimed_at`` and ``heartbeat_at``, written by a worker of a remote executor (spine-celery)
running the attempt. The runner decides an attempt whose heartbeat went stale CRASHED; a
redelivered message of an attempt already claimed does nothing (issue 15).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spine_host.storage.types import UtcDateTime

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the claim columns."""
    # Plain ADD COLUMN (no batch copy): every dialect has it, and offline --sql works.
    op.add_column("workflow_steps", sa.Column("worker", sa.String(length=200), nullable=True))
    op.add_column("workflow_steps", sa.Column("claimed_at", UtcDateTime(), nullable=True))
    op.add_column("workflow_steps", sa.Column("heartbeat_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("workflow_steps") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("claimed_at")
        batch.drop_column("worker")
