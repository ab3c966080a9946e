"""The builtin SQLite adapter: the storage conformance suite on a file, plus SQLite specifics."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import spine_host.builtins.sqlite as sqlite_builtin
from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.host import Host
from spine_host.plugins import BUILTIN_PLUGINS
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.migrations import upgrade
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.testing.conformance import StorageAdapterSuite


def make_host(url: str) -> Host:
    """A host with the builtins, whether or not builtin.sqlite is listed in BUILTIN_PLUGINS yet."""
    listed = any(name == "builtin.sqlite" for name, _ in BUILTIN_PLUGINS)
    return Host(
        plugins=[] if listed else [sqlite_builtin],
        load_entrypoints=False,
        storage_url=url,
        environ={},
    )


def abandoned_block(storage: DatabaseAdapter, statement: str) -> None:
    """Run ``statement`` in a transaction block that then raises."""
    with storage.transaction():
        storage.execute(statement)
        raise RuntimeError("abandon the block")


class TestSqliteAdapter(StorageAdapterSuite):
    """The conformance suite on a SQLite file, opened through the host's scheme registry."""

    @pytest.fixture
    def adapter(self, tmp_path: Path) -> Iterator[SqlAlchemyAdapter]:
        host = make_host(f"sqlite:///{tmp_path / 'suite.db'}")
        storage = host.storage
        assert isinstance(storage, SqlAlchemyAdapter)
        try:
            yield storage
        finally:
            host.close()


@pytest.fixture
def file_host(tmp_path: Path) -> Iterator[Host]:
    host = make_host(f"sqlite:///{tmp_path / 'spine.db'}")
    try:
        yield host
    finally:
        host.close()


def test_a_file_database_uses_wal_foreign_keys_and_a_busy_timeout(file_host: Host) -> None:
    storage = file_host.storage
    assert storage.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert storage.query("PRAGMA foreign_keys")[0]["foreign_keys"] == 1
    assert storage.query("PRAGMA busy_timeout")[0]["timeout"] == 30_000


def test_committed_rows_survive_a_later_rollback_on_disk(file_host: Host, tmp_path: Path) -> None:
    """The origin's bug: execute() never committed, so a later rollback erased it."""
    storage = file_host.storage
    storage.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    storage.execute("INSERT INTO notes (id, body) VALUES (1, 'kept')")
    with pytest.raises(RuntimeError, match="abandon"):
        abandoned_block(storage, "INSERT INTO notes (id, body) VALUES (2, 'rolled back')")
    # A plain sqlite3 connection, outside spine entirely, sees exactly the committed row.
    with sqlite3.connect(tmp_path / "spine.db") as raw:
        assert raw.execute("SELECT id, body FROM notes").fetchall() == [(1, "kept")]


def test_in_memory_database_is_shared_by_every_call_and_thread() -> None:
    host = make_host("sqlite://")
    try:
        storage = host.storage
        storage.execute("CREATE TABLE shared (id INTEGER PRIMARY KEY)")
        storage.execute("INSERT INTO shared (id) VALUES (1)")
        seen: list[int] = []
        thread = threading.Thread(
            target=lambda: seen.append(len(storage.query("SELECT id FROM shared")))
        )
        thread.start()
        thread.join(10)
        assert seen == [1]
    finally:
        host.close()


def test_in_memory_lock_makes_another_thread_wait() -> None:
    host = make_host("sqlite://")
    storage = host.storage
    order: list[str] = []
    holding = threading.Event()

    def other() -> None:
        holding.wait(10)
        with storage.lock("job"):
            order.append("other")

    thread = threading.Thread(target=other)
    thread.start()
    with storage.lock("job"):
        holding.set()
        thread.join(0.3)
        order.append("first")
    thread.join(10)
    host.close()
    assert order == ["first", "other"]


def test_spine_tables_read_back_aware_utc_timestamps_and_json(file_host: Host) -> None:
    storage = file_host.storage
    upgrade(storage)
    started = datetime(2025, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)
    storage.bulk_insert(
        "executions",
        [
            {
                "execution_id": "e1",
                "pipeline": "otc.load",
                "status": "COMPLETED",
                "params": {"week": "2025-01-03", "tiers": [1, 2]},
                "started_at": started,
            }
        ],
    )
    import sqlalchemy as sa

    row = storage.query(sa.select(schema.executions))[0]
    assert row["started_at"] == started
    assert row["started_at"].tzinfo is not None
    assert row["created_at"].tzinfo is not None  # filled by the column default
    assert row["params"] == {"week": "2025-01-03", "tiers": [1, 2]}
    assert row["attempts"] == 0


def test_a_naive_timestamp_is_refused_for_spine_tables(file_host: Host) -> None:
    storage = file_host.storage
    upgrade(storage)
    with pytest.raises(SpineError) as raised:
        storage.bulk_insert(
            "executions",
            [{"execution_id": "e1", "pipeline": "p", "status": "S", "started_at": datetime.now()}],
        )
    assert raised.value.category is ErrorCategory.VALIDATION
    assert "naive datetime" in raised.value.message


def test_upsert_refreshes_updated_at(file_host: Host) -> None:
    storage = file_host.storage
    upgrade(storage)
    early = datetime(2020, 1, 1, tzinfo=UTC)
    row = {
        "domain_name": "otc",
        "partition_key": "2025-01-03",
        "stage": "LOADED",
        "stage_rank": 1,
        "updated_at": early,
    }
    storage.upsert("core_manifest", [row], key=["domain_name", "partition_key", "stage"])
    changed = {key: value for key, value in row.items() if key != "updated_at"}
    storage.upsert(
        "core_manifest", [{**changed, "row_count": 10}], ["domain_name", "partition_key", "stage"]
    )
    import sqlalchemy as sa

    rows = storage.query(sa.select(schema.core_manifest))
    assert len(rows) == 1
    assert rows[0]["row_count"] == 10
    assert rows[0]["updated_at"] > early


def test_a_column_of_a_newer_schema_says_to_run_db_upgrade(file_host: Host) -> None:
    file_host.storage.execute("CREATE TABLE workflow_steps (run_id TEXT)")  # an older shape
    with pytest.raises(SpineError) as raised:
        file_host.storage.query("SELECT worker FROM workflow_steps")
    assert "older than this spine-host" in raised.value.message
    assert "spine db upgrade" in raised.value.message


def test_a_missing_spine_table_says_to_run_db_upgrade(file_host: Host) -> None:
    with pytest.raises(SpineError) as raised:
        file_host.storage.query("SELECT * FROM workflow_runs")
    assert raised.value.category is ErrorCategory.STORAGE
    assert "spine db upgrade" in raised.value.message


def test_a_locked_database_is_transient(tmp_path: Path) -> None:
    host = make_host(f"sqlite:///{tmp_path / 'locked.db'}")
    host.config.storage.options["busy_timeout_ms"] = 50
    storage = host.open_storage(host.config.storage.url, busy_timeout_ms=50)
    storage.execute("CREATE TABLE t (id INTEGER)")
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(SpineError) as raised:
            storage.execute("INSERT INTO t (id) VALUES (1)")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        storage.close()
        host.close()
    assert raised.value.category is ErrorCategory.TRANSIENT
    assert raised.value.retryable


def test_the_classify_hook_maps_sqlite_errors_raised_anywhere() -> None:
    host = make_host("sqlite://")
    try:
        error = host.classify(sqlite3.IntegrityError("UNIQUE constraint failed: t.id"))
        assert (error.category, error.retryable) == (ErrorCategory.STORAGE, False)
        locked = host.classify(sqlite3.OperationalError("database is locked"))
        assert locked.category is ErrorCategory.TRANSIENT
        assert host.classify(KeyError("x")).category is ErrorCategory.INTERNAL
    finally:
        host.close()


def test_an_unknown_scheme_names_it_and_the_installed_storage_plugins() -> None:
    host = make_host("sqlite://")
    try:
        with pytest.raises(ConfigError) as raised:
            host.open_storage("oracle://scott:tiger@db.example:1521/orcl")
    finally:
        host.close()
    message = raised.value.message
    assert "'oracle'" in message
    assert "sqlite" in message
    assert "builtin.sqlite" in message or "spine_host.builtins.sqlite" in message
    assert "tiger" not in message


def test_a_bad_option_is_a_config_error(tmp_path: Path) -> None:
    host = make_host(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(ConfigError, match="chunk_size"):
            host.open_storage("sqlite://", chunk_size=0)
        with pytest.raises(ConfigError, match="synchronous"):
            host.open_storage("sqlite://", synchronous="SOMETIMES")
    finally:
        host.close()


def test_lock_works_again_after_a_block_that_created_the_lock_table_rolled_back(
    file_host: Host,
) -> None:
    storage = file_host.storage
    with pytest.raises(RuntimeError), storage.lock("first"):
        raise RuntimeError("roll back the block, lock table included")
    with storage.lock("second"):
        pass
    assert [row["lock_name"] for row in storage.query("SELECT lock_name FROM core_locks")] == [
        "second"
    ]


def test_the_portable_upsert_fallback_updates_and_inserts(file_host: Host) -> None:
    """Dialects without ON CONFLICT (and without a plugin override) get update-or-insert."""
    import sqlalchemy as sa

    from spine_host.storage.statements import update_or_insert

    storage = file_host.storage
    assert isinstance(storage, SqlAlchemyAdapter)
    storage.execute("CREATE TABLE prices (symbol TEXT PRIMARY KEY, price INTEGER)")
    storage.execute("INSERT INTO prices (symbol, price) VALUES ('AAA', 1)")
    prices = sa.Table("prices", sa.MetaData(), autoload_with=storage.engine)
    with storage.connection() as connection:
        count = update_or_insert(
            connection,
            prices,
            [{"symbol": "AAA", "price": 2}, {"symbol": "BBB", "price": 3}, {"symbol": "CCC"}],
            ["symbol"],
        )
    assert count == 3
    rows = storage.query("SELECT symbol, price FROM prices ORDER BY symbol")
    assert rows == [
        {"symbol": "AAA", "price": 2},
        {"symbol": "BBB", "price": 3},
        {"symbol": "CCC", "price": None},
    ]
