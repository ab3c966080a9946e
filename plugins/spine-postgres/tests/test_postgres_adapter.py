"""PostgresAdapter on a real PostgreSQL server: binary COPY, locks, pool recovery, connect failures.

The behaviour every storage adapter shares is covered by the conformance suite
(test_postgres_conformance.py); this file covers what is specific to PostgreSQL.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from spine_postgres.adapter import PostgresAdapter, advisory_lock_key

from spine_host import ConfigError, ErrorCategory, Host, SpineError
from spine_host.storage import schema
from spine_host.testing.postgres import temporary_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def adapter(postgres_url: str) -> Iterator[PostgresAdapter]:
    adapter = PostgresAdapter(postgres_url, pool_size=2, max_overflow=2)
    yield adapter
    adapter.close()


@pytest.fixture
def table(adapter: PostgresAdapter) -> Iterator[str]:
    """A fresh table with a bigint after an int, so COPY type inference would go wrong."""
    name = f"pg_copy_{uuid.uuid4().hex[:8]}"
    adapter.execute(
        f"CREATE TABLE {name} (id int PRIMARY KEY, big bigint, amount numeric(12, 2), "
        "label text, at timestamptz)"
    )
    yield name
    adapter.execute(f"DROP TABLE {name}")


# -- binary COPY ----------------------------------------------------------------------------------


def test_bulk_insert_goes_through_copy_for_dicts_and_arrow(
    adapter: PostgresAdapter, table: str
) -> None:
    # A trigger sees the top-level statement that fired it: COPY, not INSERT.
    adapter.execute(f"CREATE TABLE {table}_seen (statement text)")
    adapter.execute(
        f"CREATE FUNCTION {table}_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {table}_seen VALUES (current_query()); RETURN NEW; END $$"
    )
    adapter.execute(
        f"CREATE TRIGGER {table}_record BEFORE INSERT ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_record()"
    )

    adapter.bulk_insert(table, [{"id": 1, "big": 1}])
    adapter.bulk_insert(table, [pa.record_batch({"id": pa.array([2], pa.int32())})])

    seen = adapter.query(f"SELECT statement FROM {table}_seen")
    assert [row["statement"].split()[0] for row in seen] == ["COPY", "COPY"]
    assert all("FORMAT BINARY" in row["statement"] for row in seen)
    adapter.execute(f"DROP TABLE {table}_seen")


def test_bulk_insert_keeps_a_large_bigint_after_small_ones(
    adapter: PostgresAdapter, table: str
) -> None:
    # psycopg without declared COPY types fixes the column's binary type from the first row.
    rows = [{"id": i, "big": i} for i in range(1, 4)] + [{"id": 4, "big": 2**40}]

    assert adapter.bulk_insert(table, rows) == 4

    stored = adapter.query(f"SELECT id, big FROM {table} ORDER BY id")
    assert [row["big"] for row in stored] == [1, 2, 3, 2**40]


def test_arrow_bulk_insert_keeps_a_large_bigint_after_small_ones(
    adapter: PostgresAdapter, table: str
) -> None:
    batch = pa.record_batch(
        {
            "id": pa.array([1, 2, 3], pa.int32()),
            "big": pa.array([1, 2, 2**40], pa.int64()),
            "amount": pa.array([Decimal("1.50"), None, Decimal("-2.25")], pa.decimal128(12, 2)),
        }
    )

    assert adapter.bulk_insert(table, [batch]) == 3

    stored = adapter.query(f"SELECT big, amount FROM {table} ORDER BY id")
    assert stored == [
        {"big": 1, "amount": Decimal("1.50")},
        {"big": 2, "amount": None},
        {"big": 2**40, "amount": Decimal("-2.25")},
    ]


def test_arrow_bulk_insert_of_a_batch_larger_than_a_chunk(postgres_url: str, table: str) -> None:
    small_chunks = PostgresAdapter(postgres_url, chunk_size=1000)
    batch = pa.record_batch(
        {"id": pa.array(range(2500), pa.int32()), "label": [f"row {i}" for i in range(2500)]}
    )
    try:
        assert small_chunks.bulk_insert(table, batch) == 2500
        counted = small_chunks.query(f"SELECT count(*) AS n, max(label) AS last FROM {table}")
    finally:
        small_chunks.close()
    assert counted == [{"n": 2500, "last": "row 999"}]


def test_many_chunks_of_mixed_shapes_stream_in_order_through_few_copies(
    postgres_url: str, table: str
) -> None:
    """Runs of chunks with one shape share a COPY; every row arrives, none twice."""
    small_chunks = PostgresAdapter(postgres_url, chunk_size=100)
    rows: list[object] = [{"id": i, "big": 2**40 + i} for i in range(250)]
    rows += [{"id": i, "label": f"row {i}"} for i in range(250, 400)]  # other columns
    rows.append(pa.record_batch({"id": pa.array(range(400, 650), pa.int32())}))
    rows.append(pa.record_batch({"id": pa.array(range(650, 700), pa.int32())}))
    rows += [{"id": i, "big": i} for i in range(700, 760)]
    try:
        assert small_chunks.bulk_insert(table, rows) == 760
        found = small_chunks.query(
            f"SELECT count(*) AS n, count(DISTINCT id) AS ids, max(big) AS big, "
            f"count(label) AS labels FROM {table}"
        )
    finally:
        small_chunks.close()
    assert found == [{"n": 760, "ids": 760, "big": 2**40 + 249, "labels": 150}]


def test_a_bad_value_deep_in_a_multi_chunk_load_names_its_row_and_loads_nothing(
    postgres_url: str, table: str
) -> None:
    small_chunks = PostgresAdapter(postgres_url, chunk_size=100)
    rows = [{"id": i, "at": datetime(2025, 1, 1, tzinfo=UTC)} for i in range(350)]
    rows[333] = {"id": 333, "at": datetime(2025, 1, 1)}  # naive: refused for timestamptz
    try:
        with pytest.raises(SpineError, match="row 334, column at") as raised:
            small_chunks.bulk_insert(table, rows)
        assert raised.value.category is ErrorCategory.VALIDATION
        assert small_chunks.query(f"SELECT count(*) AS n FROM {table}") == [{"n": 0}]
    finally:
        small_chunks.close()


@pytest.mark.parametrize("as_arrow", [False, True], ids=["dicts", "arrow"])
def test_an_int_beyond_integer_deep_in_a_load_is_refused_not_wrapped(
    postgres_url: str, table: str, as_arrow: bool
) -> None:
    """psycopg's binary int4 dumper would send 2**31 as -2**31: the load refuses it instead."""
    small_chunks = PostgresAdapter(postgres_url, chunk_size=100)
    ids = list(range(350))
    ids[333] = 2**31 + 12345
    rows: Any = [{"id": i} for i in ids]
    if as_arrow:
        rows = pa.table({"id": pa.array(ids, pa.int64())})
    try:
        with pytest.raises(SpineError, match="row 334, column id") as raised:
            small_chunks.bulk_insert(table, rows)
        assert raised.value.category is ErrorCategory.VALIDATION
        assert str(2**31 + 12345) not in raised.value.message  # never the value itself
        assert small_chunks.query(f"SELECT count(*) AS n FROM {table}") == [{"n": 0}]
    finally:
        small_chunks.close()


def test_arrow_timestamps_without_zone_are_stored_as_utc(
    adapter: PostgresAdapter, table: str
) -> None:
    batch = pa.record_batch(
        {"id": pa.array([1], pa.int32()), "at": pa.array([datetime(2025, 3, 30, 1, 30)])}
    )

    adapter.bulk_insert(table, [batch])

    (row,) = adapter.query(f"SELECT at FROM {table}")
    assert row["at"] == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


def test_a_value_of_the_wrong_type_names_the_row_and_column(
    adapter: PostgresAdapter, table: str
) -> None:
    rows = [
        {"id": 1, "at": datetime(2025, 1, 1, tzinfo=UTC)},
        {"id": 2, "at": datetime(2025, 1, 1)},
    ]

    with pytest.raises(SpineError) as raised:
        adapter.bulk_insert(table, rows)

    assert raised.value.category is ErrorCategory.VALIDATION
    assert "row 2, column at" in raised.value.message
    assert adapter.query(f"SELECT count(*) AS n FROM {table}") == [{"n": 0}]


def test_copy_writes_enum_and_domain_columns(adapter: PostgresAdapter) -> None:
    suffix = uuid.uuid4().hex[:8]
    adapter.execute(f"CREATE TYPE pg_mood_{suffix} AS ENUM ('calm', 'busy')")
    adapter.execute(f"CREATE DOMAIN pg_positive_{suffix} AS bigint CHECK (VALUE > 0)")
    adapter.execute(
        f"CREATE TABLE pg_typed_{suffix} (mood pg_mood_{suffix}, size pg_positive_{suffix})"
    )

    adapter.bulk_insert(f"pg_typed_{suffix}", [{"mood": "busy", "size": 2**40}])

    assert adapter.query(f"SELECT mood::text AS mood, size FROM pg_typed_{suffix}") == [
        {"mood": "busy", "size": 2**40}
    ]


def test_bulk_insert_fills_python_side_defaults_of_spine_tables(postgres_url: str) -> None:
    # COPY bypasses SQLAlchemy, so created_at (default=utc_now, NOT NULL) must be supplied.
    with temporary_database(postgres_url) as private_url:
        adapter = PostgresAdapter(private_url)
        try:
            schema.core_rejects.create(adapter.engine)
            before = datetime.now(UTC)
            adapter.bulk_insert(
                "core_rejects",
                [{"stage": "parse", "reason_code": "BAD_DATE", "line_number": 2**40}],
            )
            (row,) = adapter.query("SELECT reason_code, line_number, created_at FROM core_rejects")
        finally:
            adapter.close()
    assert row["reason_code"] == "BAD_DATE"
    assert row["line_number"] == 2**40
    assert before - timedelta(seconds=1) <= row["created_at"] <= datetime.now(UTC)


# -- locks ----------------------------------------------------------------------------------------


def test_lock_excludes_a_second_holder_until_released(adapter: PostgresAdapter) -> None:
    name = f"lock-{uuid.uuid4()}"
    second_acquired = threading.Event()

    def second_holder() -> None:
        with adapter.lock(name):
            second_acquired.set()

    with adapter.lock(name):
        thread = threading.Thread(target=second_holder)
        thread.start()
        assert not second_acquired.wait(0.5)
    assert second_acquired.wait(5)
    thread.join(5)


def test_lock_is_released_when_the_block_raises(
    adapter: PostgresAdapter, postgres_url: str
) -> None:
    name = f"lock-{uuid.uuid4()}"
    with pytest.raises(RuntimeError), adapter.lock(name):
        raise RuntimeError("step failed")

    with psycopg.connect(postgres_url) as other:
        acquired = other.execute(
            "SELECT pg_try_advisory_xact_lock(%s)", (advisory_lock_key(name),)
        ).fetchone()
    assert acquired == (True,)


def test_lock_keys_are_stable_signed_64_bit() -> None:
    key = advisory_lock_key("otc.weekly_refresh")
    assert key == advisory_lock_key("otc.weekly_refresh")
    assert key != advisory_lock_key("otc.daily_refresh")
    assert -(2**63) <= key < 2**63


# -- pool recovery and connection failures ----------------------------------------------------


def test_terminated_connection_is_transient_and_the_pool_recovers(
    adapter: PostgresAdapter, postgres_url: str, table: str
) -> None:
    def insert_after_the_backend_is_killed() -> None:
        with adapter.transaction():
            adapter.execute(f"INSERT INTO {table} (id) VALUES (1)")
            (row,) = adapter.query("SELECT pg_backend_pid() AS pid")
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
            adapter.execute(f"INSERT INTO {table} (id) VALUES (2)")

    with pytest.raises(SpineError) as raised:
        insert_after_the_backend_is_killed()

    assert raised.value.category is ErrorCategory.TRANSIENT
    assert raised.value.retryable is True
    assert adapter.execute(f"INSERT INTO {table} (id) VALUES (3)") == 1
    assert adapter.query(f"SELECT id FROM {table}") == [{"id": 3}]


def test_idle_pooled_connections_killed_by_the_server_are_replaced(
    adapter: PostgresAdapter, postgres_url: str
) -> None:
    (row,) = adapter.query("SELECT pg_backend_pid() AS pid")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))

    # pool_pre_ping notices the dead connection on checkout: the caller sees no error.
    (after,) = adapter.query("SELECT pg_backend_pid() AS pid")
    assert after["pid"] != row["pid"]


def test_refused_connection_fails_fast_naming_the_server_not_the_password() -> None:
    adapter = PostgresAdapter("postgresql://spine:s3cret-pw@127.0.0.1:1/spine")
    started = time.monotonic()

    with pytest.raises(SpineError) as raised:
        adapter.query("SELECT 1")

    assert time.monotonic() - started < 5
    assert raised.value.category is ErrorCategory.TRANSIENT
    assert "127.0.0.1:1" in raised.value.message
    assert "s3cret-pw" not in str(raised.value.to_dict())


def test_a_server_that_never_answers_fails_within_connect_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks
        port = silent.getsockname()[1]
        adapter = PostgresAdapter(
            f"postgresql://spine:s3cret-pw@127.0.0.1:{port}/spine", connect_timeout=2
        )
        started = time.monotonic()
        with pytest.raises(SpineError) as raised:
            adapter.query("SELECT 1")
        elapsed = time.monotonic() - started

    assert elapsed < 8
    assert raised.value.category is ErrorCategory.TIMEOUT
    assert f"127.0.0.1:{port}" in raised.value.message
    assert "s3cret-pw" not in str(raised.value.to_dict())


def test_statement_timeout_option_cancels_slow_statements(postgres_url: str) -> None:
    adapter = PostgresAdapter(postgres_url, statement_timeout=0.1)
    try:
        with pytest.raises(SpineError) as raised:
            adapter.query("SELECT pg_sleep(2)")
    finally:
        adapter.close()
    assert raised.value.category is ErrorCategory.TIMEOUT


# -- configuration and registration -----------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"pool_size": 0}, "storage.pool_size"),
        ({"pool_size": "5"}, "storage.pool_size"),
        ({"pool_sise": 5}, "pool_sise"),
    ],
)
def test_bad_storage_options_name_the_option(options: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        PostgresAdapter("postgresql://spine@127.0.0.1/spine", **options)


def test_urls_for_other_drivers_are_refused() -> None:
    with pytest.raises(ConfigError, match="psycopg2") as raised:
        PostgresAdapter("postgresql+psycopg2://spine:pw1234@127.0.0.1/spine")
    assert "pw1234" not in raised.value.message


def test_host_opens_postgresql_urls_with_this_plugin(postgres_url: str) -> None:
    host = Host(load_entrypoints=True, storage_url=postgres_url, environ={})
    try:
        assert isinstance(host.storage, PostgresAdapter)
        assert host.storage.dialect == "postgresql"
        assert host.storage.query("SELECT 41 + 1 AS answer") == [{"answer": 42}]
    finally:
        host.close()
