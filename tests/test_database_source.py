"""The builtin database source against real SQLite files and a real PostgreSQL (issue 4, item 4)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spine_host.config import load_config
from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.host import Host
from spine_host.sources.database import DatabaseSource, DatabaseSourceConfig
from spine_host.storage.adapter import DatabaseAdapter

BASE_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
BIG_ROWS = 100_000


@pytest.fixture(scope="module")
def pg(postgres_url: str) -> Iterator[DatabaseAdapter]:
    """A PostgreSQL adapter built through the installed spine-postgres plugin."""
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    adapter = host.open_storage(postgres_url)
    yield adapter
    adapter.close()
    host.close()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[DatabaseAdapter]:
    """A SQLite file database built through the builtin storage plugin."""
    host = Host(load_entrypoints=False, storage_url="sqlite://", environ={})
    adapter = host.open_storage(f"sqlite:///{tmp_path / 'data.db'}")
    yield adapter
    adapter.close()
    host.close()


def table_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def source(adapter: DatabaseAdapter, **options: Any) -> DatabaseSource:
    return DatabaseSource("db", DatabaseSourceConfig(url="sqlite://", **options), adapter=adapter)


@pytest.fixture(scope="module")
def big_table(pg: DatabaseAdapter) -> str:
    """100,000 rows inserted in shuffled key order, so key order is not insertion order."""
    name = table_name()
    pg.execute(
        f"CREATE TABLE {name} (id integer PRIMARY KEY, updated_at timestamptz NOT NULL, "
        "payload text NOT NULL)"
    )
    ids = list(range(1, BIG_ROWS + 1))
    random.Random(4).shuffle(ids)
    pg.bulk_insert(
        name,
        (
            {"id": i, "updated_at": BASE_TIME + dt.timedelta(seconds=i), "payload": f"row {i}"}
            for i in ids
        ),
    )
    return name


# -- acceptance 4 ------------------------------------------------------------------------------


def test_pages_of_1000_return_every_row_once_in_key_order(
    pg: DatabaseAdapter, big_table: str
) -> None:
    reader = source(pg, table=big_table, key="id", page_size=1000)

    pages = list(reader.batches(batch_size=1000))

    assert len(pages) == 100
    assert all(page.num_rows == 1000 for page in pages)
    ids = [value for page in pages for value in page.column("id").to_pylist()]
    assert ids == list(range(1, BIG_ROWS + 1))


def test_fetch_reports_rows_pages_and_the_newest_watermark(
    pg: DatabaseAdapter, big_table: str
) -> None:
    result = source(pg, table=big_table, key="id", watermark="updated_at").fetch()

    assert result.ok, result.error
    assert result.row_count == BIG_ROWS
    assert result.metadata is not None
    assert result.metadata.extra["pages"] == 100
    assert result.metadata.extra["watermark"] == BASE_TIME + dt.timedelta(seconds=BIG_ROWS)


def test_since_returns_only_newer_rows(pg: DatabaseAdapter, big_table: str) -> None:
    reader = source(pg, table=big_table, key="id", watermark="updated_at")
    since = BASE_TIME + dt.timedelta(seconds=BIG_ROWS - 1500)

    result = reader.fetch({"since": since})

    assert result.ok, result.error
    rows = result.rows()
    assert [row["id"] for row in rows] == list(range(BIG_ROWS - 1499, BIG_ROWS + 1))
    assert all(row["updated_at"] > since for row in rows)
    assert result.metadata is not None
    assert result.metadata.extra["since"] == since


def test_since_as_iso_text_compares_as_a_timestamp(pg: DatabaseAdapter, big_table: str) -> None:
    reader = source(pg, table=big_table, key="id", watermark="updated_at")
    since = (BASE_TIME + dt.timedelta(seconds=BIG_ROWS - 10)).isoformat()

    assert [row["id"] for row in reader.stream({"since": since})] == list(
        range(BIG_ROWS - 9, BIG_ROWS + 1)
    )


def test_the_next_run_passes_the_recorded_watermark_and_reads_only_new_rows(
    pg: DatabaseAdapter,
) -> None:
    name = table_name()
    pg.execute(f"CREATE TABLE {name} (id integer PRIMARY KEY, version integer NOT NULL)")
    pg.bulk_insert(name, [{"id": i, "version": i} for i in range(1, 6)])
    reader = source(pg, table=name, key="id", watermark="version", page_size=2)
    first = reader.fetch()
    assert first.metadata is not None

    unchanged = reader.fetch(previous=first.metadata)
    pg.bulk_insert(name, [{"id": 6, "version": 6}, {"id": 7, "version": 7}])
    again = reader.fetch({"since": first.metadata.extra["watermark"]}, previous=first.metadata)

    assert unchanged.ok
    assert unchanged.changed is False
    assert unchanged.rows() == []
    assert again.changed is True
    assert [row["id"] for row in again.rows()] == [6, 7]
    assert again.metadata is not None
    assert again.metadata.extra["watermark"] == 7


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("DROP TABLE x", "DROP"),
        ("SELECT 1; DELETE FROM x", "DELETE FROM x"),
        ("WITH gone AS (DELETE FROM x RETURNING *) SELECT * FROM gone", "DELETE"),
        ("SELECT * INTO copy_of_x FROM x", "INTO"),
        ("SELECT * FROM x FOR UPDATE", "FOR UPDATE"),
    ],
)
def test_anything_but_a_single_select_is_refused(query: str, refused: str) -> None:
    with pytest.raises(ValueError, match="refused") as caught:
        DatabaseSourceConfig(url="sqlite://", query=query, key="id")

    assert refused in str(caught.value)


def test_a_refused_query_in_spine_toml_is_a_config_error_naming_it(
    tmp_path: Path, sqlite: DatabaseAdapter
) -> None:
    sqlite.execute("CREATE TABLE x (id integer PRIMARY KEY)")
    sqlite.execute("INSERT INTO x VALUES (1)")
    config = tmp_path / "spine.toml"
    config.write_text(
        f'[sources.bad]\ntype = "database"\nurl = "sqlite:///{tmp_path / "data.db"}"\n'
        'query = "SELECT 1 AS id; DELETE FROM x"\nkey = "id"\n'
    )
    host = Host(config=load_config(config), load_entrypoints=False, environ={})

    with pytest.raises(ConfigError, match=r"sources\.bad\.query.*more than one statement"):
        host.source("bad")
    assert sqlite.query("SELECT count(*) AS n FROM x") == [{"n": 1}]


@pytest.mark.parametrize(
    "name", ["t; drop table t", "t--", "a.b.c", "x)", '"t"', "1t", "s.t; DELETE FROM t"]
)
def test_table_names_that_are_not_identifiers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not a table name"):
        DatabaseSourceConfig(url="sqlite://", table=name)


def test_column_names_that_are_not_identifiers_are_refused() -> None:
    with pytest.raises(ValueError, match="is not a column name"):
        DatabaseSourceConfig(url="sqlite://", table="t", key=["id", "id) OR (1=1"])
    with pytest.raises(ValueError, match="is not a column name"):
        DatabaseSourceConfig(url="sqlite://", table="t", watermark="v; drop table t")


def test_composite_keys_page_in_key_order(pg: DatabaseAdapter) -> None:
    name = table_name()
    pg.execute(f"CREATE TABLE {name} (day date, seq integer, qty integer, PRIMARY KEY (day, seq))")
    rows = [
        {"day": dt.date(2025, 1, day), "seq": seq, "qty": day * 10 + seq}
        for day in (3, 1, 2)
        for seq in (2, 1, 3)
    ]
    pg.bulk_insert(name, rows)

    reader = source(pg, table=name, key=["day", "seq"], page_size=2)
    pages = list(reader.batches())

    assert [page.num_rows for page in pages] == [2, 2, 2, 2, 1]
    got = [(row["day"], row["seq"]) for page in pages for row in page.to_pylist()]
    assert got == sorted((row["day"], row["seq"]) for row in rows)


def test_the_primary_key_is_the_default_key(sqlite: DatabaseAdapter) -> None:
    sqlite.execute("CREATE TABLE trades (a integer, b text, PRIMARY KEY (b, a))")
    sqlite.executemany(
        "INSERT INTO trades VALUES (:a, :b)", [{"a": 2, "b": "x"}, {"a": 1, "b": "y"}]
    )

    result = source(sqlite, table="trades", page_size=1).fetch()

    assert result.rows() == [{"a": 2, "b": "x"}, {"a": 1, "b": "y"}]
    assert result.metadata is not None
    assert result.metadata.extra == {"key": ["b", "a"], "pages": 2}


def test_a_query_is_paged_as_a_subquery(pg: DatabaseAdapter, big_table: str) -> None:
    reader = source(
        pg,
        query=f"SELECT id, payload, 'a:b %' AS note FROM {big_table} -- a comment\n"
        "WHERE id % 1000 = 0;",
        key="id",
        page_size=30,
    )

    rows = list(reader.stream())

    assert [row["id"] for row in rows] == list(range(1000, BIG_ROWS + 1, 1000))
    assert rows[0] == {"id": 1000, "payload": "row 1000", "note": "a:b %"}


def test_a_query_with_a_watermark_reads_only_newer_rows(sqlite: DatabaseAdapter) -> None:
    sqlite.execute("CREATE TABLE events (id integer PRIMARY KEY, at text)")
    sqlite.executemany(
        "INSERT INTO events VALUES (:id, :at)",
        [{"id": i, "at": f"2025-01-0{i}"} for i in range(1, 6)],
    )
    reader = source(
        sqlite,
        query="WITH e AS (SELECT id, at FROM events) SELECT * FROM e",
        key="id",
        watermark="at",
        since="2025-01-03",
    )

    result = reader.fetch()

    assert result.rows() == [{"id": 4, "at": "2025-01-04"}, {"id": 5, "at": "2025-01-05"}]


def test_a_missing_table_is_a_failed_not_found_result(
    pg: DatabaseAdapter, sqlite: DatabaseAdapter
) -> None:
    for adapter in (pg, sqlite):
        for reader in (
            source(adapter, table="no_such_table", key="id"),
            source(adapter, query="SELECT * FROM no_such_table", key="id"),
        ):
            result = reader.fetch()
            assert not result.ok
            assert result.error is not None
            assert result.error.category is ErrorCategory.NOT_FOUND, result.error
            assert "no_such_table" in result.error.message


def test_unknown_key_columns_are_a_validation_failure(sqlite: DatabaseAdapter) -> None:
    sqlite.execute("CREATE TABLE t (id integer PRIMARY KEY, v text)")

    result = source(sqlite, table="t", key="nope").fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.VALIDATION
    assert "nope" in result.error.message
    assert "id, v" in result.error.message


def test_a_key_that_repeats_is_refused_instead_of_skipping_rows(sqlite: DatabaseAdapter) -> None:
    sqlite.execute("CREATE TABLE t (id integer PRIMARY KEY, grp integer)")
    sqlite.executemany("INSERT INTO t VALUES (:id, :grp)", [{"id": i, "grp": 1} for i in range(4)])

    result = source(sqlite, table="t", key="grp").fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.VALIDATION
    assert "unique" in result.error.message


@pytest.mark.parametrize("backend", ["sqlite", "pg"])
def test_a_key_that_repeats_across_a_page_boundary_is_refused(
    backend: str, request: pytest.FixtureRequest
) -> None:
    adapter: DatabaseAdapter = request.getfixturevalue(backend)
    name = table_name()
    adapter.execute(f"CREATE TABLE {name} (day integer, v text)")
    adapter.executemany(
        f"INSERT INTO {name} VALUES (:day, :v)",
        [{"day": 1, "v": "a"}, {"day": 2, "v": "b"}, {"day": 2, "v": "c"}, {"day": 3, "v": "d"}],
    )

    result = source(adapter, table=name, key="day", page_size=2).fetch()

    assert result.error is not None, result.rows()
    assert result.error.category is ErrorCategory.VALIDATION
    assert "key column(s) day are not unique: value 2 repeats" in result.error.message


@pytest.mark.parametrize("backend", ["sqlite", "pg"])
def test_a_key_that_holds_null_is_refused_instead_of_skipping_rows(
    backend: str, request: pytest.FixtureRequest
) -> None:
    adapter: DatabaseAdapter = request.getfixturevalue(backend)
    name = table_name()
    adapter.execute(f"CREATE TABLE {name} (day integer, v text)")
    days = [1, None, 2, 3, None]
    adapter.executemany(
        f"INSERT INTO {name} VALUES (:day, :v)",
        [{"day": d, "v": str(i)} for i, d in enumerate(days)],
    )
    expected = "key column(s) day hold NULL; keyset paging would skip those rows"

    for reader in (
        source(adapter, table=name, key="day", page_size=2),
        source(adapter, query=f"SELECT day, v FROM {name}", key="day", page_size=2),
    ):
        result = reader.fetch()

        assert result.error is not None, result.rows()
        assert result.error.category is ErrorCategory.VALIDATION
        assert expected in result.error.message
        with pytest.raises(SpineError, match="hold NULL"):
            list(reader.batches())


def test_a_null_key_outside_the_since_window_does_not_fail_the_read(
    pg: DatabaseAdapter,
) -> None:
    name = table_name()
    pg.execute(f"CREATE TABLE {name} (day integer, version integer NOT NULL)")
    pg.executemany(
        f"INSERT INTO {name} VALUES (:day, :version)",
        [{"day": None, "version": 1}, {"day": 2, "version": 2}, {"day": 3, "version": 3}],
    )
    reader = source(pg, table=name, key="day", watermark="version", page_size=1)

    assert [row["day"] for row in reader.fetch({"since": 1}).rows()] == [2, 3]
    assert reader.fetch().error is not None


def test_a_composite_key_that_repeats_across_a_page_boundary_is_refused(
    sqlite: DatabaseAdapter,
) -> None:
    sqlite.execute("CREATE TABLE t (day integer, seq integer, v text)")
    sqlite.executemany(
        "INSERT INTO t VALUES (:day, :seq, :v)",
        [
            {"day": 1, "seq": 1, "v": "a"},
            {"day": 1, "seq": 2, "v": "b"},
            {"day": 1, "seq": 2, "v": "c"},
            {"day": 2, "seq": 1, "v": "d"},
        ],
    )

    result = source(sqlite, table="t", key=["day", "seq"], page_size=2).fetch()

    assert result.error is not None, result.rows()
    assert "key column(s) day, seq are not unique: value (1, 2) repeats" in result.error.message


def test_a_repeat_on_a_later_page_is_refused_before_that_page_is_returned(
    sqlite: DatabaseAdapter,
) -> None:
    sqlite.execute("CREATE TABLE t (day integer, v text)")
    days = [1, 2, 3, 4, 4, 5]
    sqlite.executemany(
        "INSERT INTO t VALUES (:day, :v)", [{"day": d, "v": str(i)} for i, d in enumerate(days)]
    )
    reader = source(sqlite, table="t", key="day", page_size=2)

    pages = reader.batches()
    first = next(pages)

    assert first.column("day").to_pylist() == [1, 2]
    with pytest.raises(SpineError, match="value 4 repeats"):
        next(pages)


def test_a_unique_key_filling_pages_exactly_reads_every_row_once(sqlite: DatabaseAdapter) -> None:
    sqlite.execute("CREATE TABLE t (id integer PRIMARY KEY)")
    sqlite.executemany("INSERT INTO t VALUES (:id)", [{"id": i} for i in range(1, 7)])

    result = source(sqlite, table="t", page_size=3).fetch()

    assert [row["id"] for row in result.rows()] == [1, 2, 3, 4, 5, 6]
    assert result.metadata is not None
    assert result.metadata.extra["pages"] == 2


def test_unknown_parameters_fail_as_validation(sqlite: DatabaseAdapter) -> None:
    result = source(sqlite, table="t", key="id").fetch({"table": "other"})

    assert result.error is not None
    assert result.error.category is ErrorCategory.VALIDATION


@pytest.mark.shipped_plugins  # the postgresql scheme comes with spine-postgres
def test_the_password_never_appears_in_metadata_or_errors() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    config = DatabaseSourceConfig(
        url="postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2",
        table="t",
        key="id",
    )
    reader = DatabaseSource.from_host(host, "remote", config)

    result = reader.fetch()

    assert result.error is not None
    assert result.error.retryable is True
    assert result.metadata is not None
    shown = f"{result.error.message} {result.error.to_dict()} {result.metadata.uri} {config!r}"
    assert "s3cret-pw" not in shown
    assert "127.0.0.1" in result.metadata.uri
    host.close()


def test_from_host_opens_the_configured_url(tmp_path: Path) -> None:
    data = f"sqlite:///{tmp_path / 'other.db'}"
    host = Host(load_entrypoints=False, storage_url="sqlite://", environ={})
    writer = host.open_storage(data)
    writer.execute("CREATE TABLE t (id integer PRIMARY KEY)")
    writer.execute("INSERT INTO t VALUES (1), (2)")
    reader = DatabaseSource.from_host(host, "other", DatabaseSourceConfig(url=data, table="t"))

    assert [row["id"] for row in reader.stream()] == [1, 2]
    reader.close()
    writer.close()
    host.close()


def test_from_host_shares_the_hosts_storage_for_its_own_url(spine_host: Host) -> None:
    spine_host.storage.execute("CREATE TABLE t (id integer PRIMARY KEY)")
    spine_host.storage.execute("INSERT INTO t VALUES (7)")
    reader = DatabaseSource.from_host(
        spine_host, "own", DatabaseSourceConfig(url="sqlite://", table="t")
    )

    assert reader.fetch().rows() == [{"id": 7}]
    reader.close()  # must not close the host's in-memory database
    assert spine_host.storage.query("SELECT id FROM t") == [{"id": 7}]


def test_without_an_adapter_or_host_the_read_fails_as_config() -> None:
    result = DatabaseSource("db", DatabaseSourceConfig(url="sqlite://", table="t")).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.CONFIG


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id FROM t;",
        "select ';DROP TABLE t' AS s, \"delete\" FROM t /* ; DELETE FROM t */ -- ; drop",
        "WITH recent AS (SELECT * FROM t) SELECT * FROM recent",
        "SELECT $$ ; DELETE FROM t $$ AS body, coalesce(comment, '') FROM t",
        "(SELECT id FROM t)",
    ],
)
def test_select_statements_with_tricky_text_are_accepted(query: str) -> None:
    config = DatabaseSourceConfig(url="sqlite://", query=query, key="id")

    assert config.query == query
