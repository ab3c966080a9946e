"""WorkManifest: how far each partition of a domain has come, stage by stage (``core_manifest``).

A domain declares its stages in order (``INGESTED`` < ``NORMALIZED`` < ``AGGREGATED``), which
gives each a rank. Pipelines record the stage they reached for a partition (a week, a tier...)
with row counts and metrics, and ask whether a partition is already at least at a stage, which
is how a re-run of finished work is skipped. Reaching a stage again (a forced re-run) removes
the partition's later stages, so they run again rather than stand on replaced data::

    manifest = WorkManifest(host.storage, "otc", stages=("INGESTED", "NORMALIZED"))
    manifest.advance_to("2025-12-26", "INGESTED", row_count=1200, metrics={"files": 3})
    manifest.is_at_least("2025-12-26", "INGESTED")   # True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.types import utc_now

__all__ = ["ManifestEntry", "WorkManifest", "partition_text"]

_table = schema.core_manifest

#: A partition is text ("2025-12-26") or a mapping ({"week_ending": ..., "tier": ...}).
PartitionKey = str | Mapping[str, Any]


def partition_text(partition: PartitionKey) -> str:
    """The stored form of a partition key: the text itself, or sorted compact JSON."""
    if isinstance(partition, str):
        return partition
    return json.dumps(json_safe(dict(partition)), sort_keys=True, separators=(",", ":"))


@attrs.frozen(kw_only=True)
class ManifestEntry:
    """One stage reached by one partition."""

    domain: str
    partition_key: str
    stage: str
    rank: int
    row_count: int | None
    metrics: dict[str, Any]
    execution_id: str | None
    batch_id: str | None
    updated_at: datetime | None


class WorkManifest:
    """The stages reached by the partitions of one domain.

    Re-doing a stage invalidates the stages after it: advancing a partition to a stage (again)
    deletes its rows for every higher-ranked stage, so a forced re-ingest makes the checks and
    summaries built on the old data run again instead of being skipped as done.

    Args:
        storage: the host's storage adapter.
        domain: the domain (``otc``).
        stages: the domain's stages in order; a stage's rank is its position, from 1. When
            empty, ranks come from ``advance_to(..., rank=)`` (1 by default).
        execution_id, batch_id: recorded on every stage this object advances.
    """

    def __init__(
        self,
        storage: DatabaseAdapter,
        domain: str,
        *,
        stages: Sequence[str] = (),
        execution_id: str | None = None,
        batch_id: str | None = None,
    ) -> None:
        self.storage = storage
        self.domain = domain
        self.stages = tuple(stages)
        self.execution_id = execution_id
        self.batch_id = batch_id

    def rank_of(self, stage: str) -> int | None:
        """The rank of ``stage`` among the declared stages; None when none are declared."""
        if not self.stages:
            return None
        if stage not in self.stages:
            raise SpineError(
                f"manifest {self.domain!r}: unknown stage {stage!r}; "
                f"stages: {', '.join(self.stages)}",
                category=ErrorCategory.VALIDATION,
                context={"domain": self.domain, "stage": stage},
            )
        return self.stages.index(stage) + 1

    def advance_to(
        self,
        partition: PartitionKey,
        stage: str,
        *,
        row_count: int | None = None,
        metrics: Mapping[str, Any] | None = None,
        rank: int | None = None,
        execution_id: str | None = None,
    ) -> ManifestEntry:
        """Record that ``partition`` reached ``stage``; reaching it again updates the row.

        The partition's stages ranked above ``stage`` are removed in the same transaction:
        they were built on the output this stage just replaced.
        """
        declared = self.rank_of(stage)
        if declared is not None and rank is not None and rank != declared:
            raise SpineError(
                f"manifest {self.domain!r}: stage {stage!r} has rank {declared}, not {rank}",
                category=ErrorCategory.VALIDATION,
            )
        row = {
            "domain_name": self.domain,
            "partition_key": partition_text(partition),
            "stage": stage,
            "stage_rank": declared or rank or 1,
            "row_count": row_count,
            "metrics": json_safe(dict(metrics or {})),
            "execution_id": execution_id or self.execution_id,
            "batch_id": self.batch_id,
            "updated_at": utc_now(),
        }
        with self.storage.transaction():
            self.storage.upsert(_table.name, [row], key=["domain_name", "partition_key", "stage"])
            # The later stages were built from what this stage produced before: they are stale.
            self.storage.execute(
                sa.delete(_table).where(
                    _table.c.domain_name == self.domain,
                    _table.c.partition_key == row["partition_key"],
                    _table.c.stage_rank > row["stage_rank"],
                )
            )
        entry = self.get(partition, stage)
        assert entry is not None  # just written
        return entry

    def get(self, partition: PartitionKey, stage: str) -> ManifestEntry | None:
        """The row for ``stage`` of ``partition``, if reached."""
        rows = self.storage.query(
            self._select(partition).where(_table.c.stage == stage),
        )
        return _entry(rows[0]) if rows else None

    def has_stage(self, partition: PartitionKey, stage: str) -> bool:
        """Whether ``partition`` has reached exactly ``stage`` (at some time)."""
        return self.get(partition, stage) is not None

    def latest(self, partition: PartitionKey) -> ManifestEntry | None:
        """The highest-ranked stage ``partition`` has reached; the most recent among equals."""
        rows = self.storage.query(
            self._select(partition)
            .order_by(_table.c.stage_rank.desc(), _table.c.updated_at.desc())
            .limit(1)
        )
        return _entry(rows[0]) if rows else None

    def is_at_least(self, partition: PartitionKey, stage: str) -> bool:
        """Whether ``partition`` has reached ``stage`` or a stage ranked above it."""
        rank = self.rank_of(stage)
        if rank is None:
            reached = self.get(partition, stage)
            if reached is None:
                return False
            rank = reached.rank
        latest = self.latest(partition)
        return latest is not None and latest.rank >= rank

    def entries(self, partition: PartitionKey | None = None) -> list[ManifestEntry]:
        """Every stage reached in this domain (or by one partition), by partition then rank."""
        statement = sa.select(_table).where(_table.c.domain_name == self.domain)
        if partition is not None:
            statement = statement.where(_table.c.partition_key == partition_text(partition))
        statement = statement.order_by(_table.c.partition_key, _table.c.stage_rank)
        return [_entry(row) for row in self.storage.query(statement)]

    def _select(self, partition: PartitionKey) -> sa.Select[Any]:
        return sa.select(_table).where(
            _table.c.domain_name == self.domain,
            _table.c.partition_key == partition_text(partition),
        )


def _entry(row: Mapping[str, Any]) -> ManifestEntry:
    return ManifestEntry(
        domain=row["domain_name"],
        partition_key=row["partition_key"],
        stage=row["stage"],
        rank=row["stage_rank"],
        row_count=row["row_count"],
        metrics=dict(row["metrics"] or {}),
        execution_id=row["execution_id"],
        batch_id=row["batch_id"],
        updated_at=row["updated_at"],
    )
