"""The storage conformance suite and DB2-specific behaviour, on a real DB2 server.

Runs only when ``SPINE_TEST_DB2_URL`` names a server, e.g.
``SPINE_TEST_DB2_URL=db2+ibm_db://db2inst1:password@127.0.0.1:50000/SPINE``; the database
should be a scratch one (the suite creates and drops its own tables, and ``spine db upgrade``
creates spine's). Without it every test here is skipped with the reason shown by pytest -rs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from spine_db2.adapter import Db2Adapter

from spine_host.testing.conformance import StorageAdapterSuite

DB2_URL = os.environ.get("SPINE_TEST_DB2_URL", "")

pytestmark = pytest.mark.skipif(
    not DB2_URL, reason="SPINE_TEST_DB2_URL not set: no DB2 server here"
)


class TestDb2Adapter(StorageAdapterSuite):
    """Every storage contract spine relies on, against DB2."""

    @pytest.fixture
    def adapter(self) -> Iterator[Db2Adapter]:
        adapter = Db2Adapter(DB2_URL)
        try:
            yield adapter
        finally:
            adapter.close()


@pytest.fixture
def db2() -> Iterator[Db2Adapter]:
    adapter = Db2Adapter(DB2_URL)
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture
def scratch_table(db2: Db2Adapter) -> Iterator[str]:
    name = f"spine_db2_{uuid.uuid4().hex[:8]}"
    db2.execute(
        f"CREATE TABLE {name} (symbol VARCHAR(12) NOT NULL PRIMARY KEY, volume BIGINT, "
        "note VARCHAR(100))"
    )
    try:
        yield name
    finally:
        db2.execute(f"DROP TABLE {name}")


def test_merge_applies_a_key_repeated_in_one_call_in_order(
    db2: Db2Adapter, scratch_table: str
) -> None:
    rows = [
        {"symbol": "IBM", "volume": 1, "note": "first"},
        {"symbol": "IBM", "volume": 2, "note": "second"},
        {"symbol": "MSFT", "volume": 2**40, "note": None},
    ]
    assert db2.upsert(scratch_table, rows, ["symbol"]) == 3
    found = db2.query(f"SELECT symbol, volume, note FROM {scratch_table} ORDER BY symbol")
    assert [tuple(row.values()) for row in found] == [
        ("IBM", 2, "second"),
        ("MSFT", 2**40, None),
    ]


def test_pages_come_back_in_key_order_through_fetch_first(
    db2: Db2Adapter, scratch_table: str
) -> None:
    db2.bulk_insert(
        scratch_table, [{"symbol": f"S{index:04d}", "volume": index} for index in range(250)]
    )
    pages = list(db2.iter_pages(scratch_table, ["symbol"], page_size=100))
    assert [len(page) for page in pages] == [100, 100, 50]
    symbols = [row["symbol"] for page in pages for row in page]
    assert symbols == sorted(symbols)
    assert len(set(symbols)) == 250


def test_spine_db_upgrade_creates_every_table(db2: Db2Adapter) -> None:
    from spine_host.storage import schema
    from spine_host.storage.migrations import current_revision, head_revision, upgrade

    upgrade(db2)
    upgrade(db2)  # idempotent
    assert current_revision(db2) == head_revision()
    inspector = sa.inspect(db2.engine)
    assert set(schema.metadata.tables) <= {name.lower() for name in inspector.get_table_names()}
