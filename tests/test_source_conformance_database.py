"""The database source passes SourceSuite on SQLite and PostgreSQL, over a table and a query."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from spine_host.host import Host
from spine_host.sources.database import DatabaseSource, DatabaseSourceConfig
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.testing.conformance.sources import SourceSuite

ROWS: list[dict[str, Any]] = [
    {"id": 1, "week_ending": dt.date(2025, 12, 19), "symbol": "AAPL", "price": 1.5},
    {"id": 2, "week_ending": dt.date(2025, 12, 19), "symbol": "MSFT", "price": 2.25},
    {"id": 3, "week_ending": dt.date(2025, 12, 26), "symbol": "ZZZ", "price": 0.5},
]


class DatabaseSourceSuite(SourceSuite):
    """Shared fixtures; subclasses give the adapter and how the source reads the table."""

    options: dict[str, Any] = {}

    @pytest.fixture
    def adapter(self) -> DatabaseAdapter:
        raise NotImplementedError

    @pytest.fixture
    def table(self, adapter: DatabaseAdapter) -> str:
        name = f"otc_{uuid.uuid4().hex[:12]}"
        adapter.execute(
            f"CREATE TABLE {name} (id integer PRIMARY KEY, week_ending date NOT NULL, "
            "symbol varchar(10) NOT NULL, price double precision NOT NULL)"
        )
        adapter.bulk_insert(name, ROWS)
        return name

    def config(self, table: str) -> DatabaseSourceConfig:
        return DatabaseSourceConfig(url="sqlite://", table=table, key="id", page_size=2)

    @pytest.fixture
    def source(self, adapter: DatabaseAdapter, table: str) -> DatabaseSource:
        return DatabaseSource("otc", self.config(table), adapter=adapter)

    @pytest.fixture
    def expected_rows(self) -> list[dict[str, Any]]:
        return ROWS

    @pytest.fixture
    def missing_source(self, adapter: DatabaseAdapter) -> DatabaseSource:
        return DatabaseSource("gone", self.config("no_such_table"), adapter=adapter)

    @pytest.fixture
    def mutate(self, adapter: DatabaseAdapter, table: str) -> Callable[[], None]:
        return lambda: adapter.execute(f"UPDATE {table} SET price = 9.75 WHERE id = 2")


class WatermarkedQuerySuite(DatabaseSourceSuite):
    """A query with a watermark: unchanged is answered by the database, without a read."""

    def config(self, table: str) -> DatabaseSourceConfig:
        return DatabaseSourceConfig(
            url="sqlite://",
            query=f"SELECT id, week_ending, symbol, price FROM {table}",
            key="id",
            watermark="id",
            page_size=2,
        )

    @pytest.fixture
    def mutate(self, adapter: DatabaseAdapter, table: str) -> Callable[[], None]:
        return lambda: adapter.execute(f"INSERT INTO {table} VALUES (4, '2026-01-02', 'NEW', 3.0)")


@pytest.fixture
def sqlite_adapter(tmp_path: Path) -> Iterator[DatabaseAdapter]:
    host = Host(load_entrypoints=False, storage_url="sqlite://", environ={})
    adapter = host.open_storage(f"sqlite:///{tmp_path / 'otc.db'}")
    yield adapter
    adapter.close()
    host.close()


@pytest.fixture(scope="module")
def postgres_adapter(postgres_url: str) -> Iterator[DatabaseAdapter]:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    adapter = host.open_storage(postgres_url)
    yield adapter
    adapter.close()
    host.close()


class TestSqliteTableSource(DatabaseSourceSuite):
    @pytest.fixture
    def adapter(self, sqlite_adapter: DatabaseAdapter) -> DatabaseAdapter:
        return sqlite_adapter


class TestPostgresTableSource(DatabaseSourceSuite):
    @pytest.fixture
    def adapter(self, postgres_adapter: DatabaseAdapter) -> DatabaseAdapter:
        return postgres_adapter


class TestPostgresQuerySource(WatermarkedQuerySuite):
    @pytest.fixture
    def adapter(self, postgres_adapter: DatabaseAdapter) -> DatabaseAdapter:
        return postgres_adapter
