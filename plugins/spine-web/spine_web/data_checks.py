"""The rejects and quality pages: counts per partition, and the latest records behind them.

Both pages filter by domain, partition, and by a run (the executions of its attempts) or one
execution; the counts are ``GROUP BY`` queries, the records the latest ``limit`` rows. With a
run or an execution the ``execution_id`` indexes serve both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.pipelines.quality import QualityRecord
from spine_host.pipelines.quality import record_from_row as quality_from_row
from spine_host.pipelines.rejects import RejectRecord
from spine_host.pipelines.rejects import record_from_row as reject_from_row
from spine_host.storage import schema
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = [
    "DataFilters",
    "PartitionCount",
    "count_quality",
    "count_rejects",
    "latest_quality",
    "latest_rejects",
]

_rejects = schema.core_rejects
_quality = schema.core_quality

#: Records listed under the counts.
RECORD_LIMIT = 100
#: Count rows shown.
COUNT_LIMIT = 500


@attrs.frozen(kw_only=True)
class DataFilters:
    """Which rejects or checks to show: a domain, a partition, and some executions."""

    domain: str | None = None
    partition: str | None = None
    #: Executions to keep (a run's, or one); None keeps every execution.
    execution_ids: Sequence[str] | None = None


@attrs.frozen(kw_only=True)
class PartitionCount:
    """How many rejects (by reason code) or checks (by status) one partition has."""

    domain: str | None
    partition: str | None
    key: str
    count: int


def count_rejects(storage: SqlAlchemyAdapter, filters: DataFilters) -> list[PartitionCount]:
    """Rejects per (domain, partition, reason code), most first."""
    return _counts(storage, _rejects, _rejects.c.reason_code, filters)


def count_quality(storage: SqlAlchemyAdapter, filters: DataFilters) -> list[PartitionCount]:
    """Checks per (domain, partition, status), most first."""
    return _counts(storage, _quality, _quality.c.status, filters)


def latest_rejects(
    storage: SqlAlchemyAdapter, filters: DataFilters, *, limit: int = RECORD_LIMIT
) -> list[RejectRecord]:
    """The latest rejects matching ``filters``, newest first."""
    statement = (
        sa.select(_rejects)
        .where(*_conditions(_rejects, filters))
        .order_by(_rejects.c.created_at.desc(), _rejects.c.reject_id.desc())
        .limit(limit)
    )
    return [reject_from_row(row) for row in storage.query(statement)]


def latest_quality(
    storage: SqlAlchemyAdapter, filters: DataFilters, *, limit: int = RECORD_LIMIT
) -> list[QualityRecord]:
    """The latest check results matching ``filters``, newest first."""
    statement = (
        sa.select(_quality)
        .where(*_conditions(_quality, filters))
        .order_by(_quality.c.checked_at.desc(), _quality.c.check_id.desc())
        .limit(limit)
    )
    return [quality_from_row(row) for row in storage.query(statement)]


def _counts(
    storage: SqlAlchemyAdapter, table: sa.Table, key: sa.Column[Any], filters: DataFilters
) -> list[PartitionCount]:
    count = sa.func.count().label("found")
    statement = (
        sa.select(table.c.domain_name, table.c.partition_key, key.label("counted"), count)
        .where(*_conditions(table, filters))
        .group_by(table.c.domain_name, table.c.partition_key, key)
        .order_by(count.desc(), table.c.domain_name, table.c.partition_key, key)
        .limit(COUNT_LIMIT)
    )
    return [
        PartitionCount(
            domain=row["domain_name"],
            partition=row["partition_key"],
            key=row["counted"],
            count=int(row["found"]),
        )
        for row in storage.query(statement)
    ]


def _conditions(table: sa.Table, filters: DataFilters) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if filters.domain:
        found.append(table.c.domain_name == filters.domain)
    if filters.partition:
        found.append(table.c.partition_key == filters.partition)
    if filters.execution_ids is not None:
        found.append(table.c.execution_id.in_(list(filters.execution_ids) or [""]))
    return found
