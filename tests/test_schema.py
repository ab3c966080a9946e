"""spine's tables (storage/schema.py): portable names and types, and the indexes queries need."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import registry

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage import schema
from spine_host.storage.migrations import upgrade
from spine_host.storage.sqlite import SqliteAdapter
from spine_host.storage.types import JsonDocument, UtcDateTime

DESIGN_TABLES = {
    "core_manifest",
    "core_rejects",
    "core_quality",
    "executions",
    "execution_events",
    "workflow_runs",
    "workflow_steps",
    "schedules",
    "schedule_runs",
    "alerts",
    "alert_deliveries",
    "alert_channels",
}
# Reserved somewhere (SQL standard, DB2, PostgreSQL) even when one dialect would not quote it.
RESERVED = {"user", "timestamp", "key", "value", "order", "group", "domain", "partition", "result"}
# DB2's dialect (ibm_db_sa) is installed with spine-db2.
DIALECTS = ["sqlite", "postgresql", pytest.param("ibm_db_sa", marks=pytest.mark.shipped_plugins)]


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteAdapter]:
    adapter = SqliteAdapter(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade(adapter)
    try:
        yield adapter
    finally:
        adapter.close()


def test_every_design_table_is_defined_plus_the_lock_table() -> None:
    # deadlines: issue 12 (missed deadlines claimed once across scheduler replicas);
    # workflow_step_logs: issue 14 (what each attempt of a step logged).
    assert set(schema.metadata.tables) == DESIGN_TABLES | {
        "core_locks",
        "deadlines",
        "workflow_step_logs",
    }


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_no_identifier_needs_quoting(dialect_name: str) -> None:
    preparer = registry.load(dialect_name)().identifier_preparer
    names = [
        name
        for table in schema.metadata.tables.values()
        for name in [table.name, *table.c.keys(), *(str(index.name) for index in table.indexes)]
    ]
    assert [name for name in names if preparer.quote(name) != name] == []
    assert [name for name in names if name in RESERVED] == []


def test_every_timestamp_is_utc_and_every_indexed_string_has_a_length() -> None:
    for table in schema.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, sa.DateTime | UtcDateTime):
                assert isinstance(column.type, UtcDateTime), f"{table.name}.{column.name}"
        indexed = {c for index in table.indexes for c in index.columns} | set(table.primary_key)
        indexed |= {
            c
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint)
            for c in constraint.columns
        }
        for column in indexed:
            if isinstance(column.type, sa.String):
                assert column.type.length, f"{table.name}.{column.name} needs a length"


def _unique_keys(table: sa.Table) -> list[list[str]]:
    keys = [[c.name for c in index.columns] for index in table.indexes if index.unique]
    keys += [
        [c.name for c in constraint.columns]
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    ]
    return keys


def _index_keys(table: sa.Table) -> list[list[str]]:
    return [[c.name for c in index.columns] for index in table.indexes] + _unique_keys(table)


@pytest.mark.parametrize(
    ("table", "columns", "unique"),
    [
        (schema.workflow_runs, ["workflow", "status", "started_at"], False),
        (schema.workflow_runs, ["status", "started_at"], False),
        (schema.workflow_runs, ["started_at"], False),
        (schema.schedule_runs, ["schedule_name", "nominal_fire_at"], True),
        (schema.alerts, ["dedup_key", "created_at"], False),
        (schema.core_manifest, ["domain_name", "partition_key", "stage"], True),
        (schema.executions, ["idempotency_key"], True),
        (schema.executions, ["parent_execution_id"], False),
        (schema.executions, ["batch_id"], False),
        (schema.core_rejects, ["execution_id", "reason_code"], False),
    ],
)
def test_the_queries_later_features_run_have_an_index(
    table: sa.Table, columns: list[str], unique: bool
) -> None:
    assert columns in (_unique_keys(table) if unique else _index_keys(table))


def test_failed_runs_since_is_answered_from_an_index(storage: SqliteAdapter) -> None:
    plan = storage.query(
        "EXPLAIN QUERY PLAN SELECT run_id FROM workflow_runs "
        "WHERE status = 'FAILED' AND started_at >= '2025-01-01' ORDER BY started_at DESC"
    )
    details = " ".join(str(row["detail"]) for row in plan)
    assert "USING INDEX ix_workflow_runs_status_started_at" in details


def test_a_schedule_fire_can_be_claimed_only_once_whatever_the_zone(
    storage: SqliteAdapter,
) -> None:
    fire = datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
    storage.bulk_insert(
        "schedule_runs",
        [{"schedule_name": "otc", "nominal_fire_at": fire, "status": "CLAIMED"}],
    )
    same_instant = fire.astimezone(timezone(timedelta(hours=-5)))
    with pytest.raises(SpineError) as raised:
        storage.bulk_insert(
            "schedule_runs",
            [{"schedule_name": "otc", "nominal_fire_at": same_instant, "status": "CLAIMED"}],
        )
    assert (raised.value.category, raised.value.retryable) == (ErrorCategory.STORAGE, False)


def test_timestamps_come_back_as_the_same_instant_in_utc(storage: SqliteAdapter) -> None:
    local = datetime(2025, 11, 2, 1, 30, tzinfo=timezone(timedelta(hours=-4)))
    storage.bulk_insert(
        "alerts",
        [{"alert_id": "a1", "severity": "ERROR", "title": "t", "created_at": local}],
    )
    created = storage.query(sa.select(schema.alerts.c.created_at))[0]["created_at"]
    assert created == local
    assert created.utcoffset() == timedelta(0)


@pytest.mark.shipped_plugins
def test_json_is_text_on_db2_and_native_elsewhere() -> None:
    document = JsonDocument()
    db2 = registry.load("ibm_db_sa")()
    assert document.process_bind_param({"a": [1, "x"]}, db2) == '{"a": [1, "x"]}'
    assert document.process_result_value('{"a": [1, "x"]}', db2) == {"a": [1, "x"]}
    compiled = sa.schema.CreateTable(schema.alerts).compile(dialect=db2)
    assert "details CLOB" in str(compiled)
    postgres = sa.schema.CreateTable(schema.alerts).compile(dialect=registry.load("postgresql")())
    assert "details JSONB" in str(postgres)
    assert "created_at TIMESTAMP WITH TIME ZONE" in str(postgres)


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_a_reflected_timestamp_without_zone_is_sent_naive_utc_on_every_dialect(
    dialect_name: str,
) -> None:
    dialect = registry.load(dialect_name)()
    column = UtcDateTime(naive_is_utc=True, timezone=False)
    local = datetime(2024, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert column.process_bind_param(local, dialect) == datetime(2024, 1, 1, 12, 0)
    assert column.process_bind_param(datetime(2024, 1, 1, 12, 0), dialect) == datetime(
        2024, 1, 1, 12, 0
    )
    assert column.process_result_value(datetime(2024, 1, 1, 12, 0), dialect) == datetime(
        2024, 1, 1, 12, 0, tzinfo=UTC
    )
    table = sa.Table("t", sa.MetaData(), sa.Column("at", column))
    assert "WITH TIME ZONE" not in str(sa.schema.CreateTable(table).compile(dialect=dialect))


def test_a_reflected_timestamptz_is_sent_aware_utc_on_postgresql() -> None:
    postgres = registry.load("postgresql")()
    column = UtcDateTime(naive_is_utc=True, timezone=True)
    local = datetime(2024, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))

    sent = column.process_bind_param(local, postgres)

    assert sent == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert sent is not None
    assert sent.utcoffset() == timedelta(0)
    assert column.process_bind_param(datetime(2024, 1, 1, 12), postgres) == sent
    table = sa.Table("t", sa.MetaData(), sa.Column("at", column))
    assert "TIMESTAMP WITH TIME ZONE" in str(sa.schema.CreateTable(table).compile(dialect=postgres))


def test_spine_timestamps_still_refuse_naive_values() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UtcDateTime().process_bind_param(datetime(2024, 1, 1), registry.load("sqlite")())
