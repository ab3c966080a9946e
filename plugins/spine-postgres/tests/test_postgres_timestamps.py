"""Timestamps of tables spine did not create keep their instant whatever the session's zone.

A ``timestamp without time zone`` column holds UTC wall time: an aware value written through
``upsert`` (INSERT) or ``bulk_insert`` (COPY) is stored as its UTC time and read back as that
instant, even when the client's ``PGTZ`` or the URL asks for another session zone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from spine_postgres.adapter import PostgresAdapter
from spine_postgres.options import PostgresOptions

pytestmark = pytest.mark.postgres

NOON_UTC = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def new_york_client(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PostgresAdapter]:
    """An adapter whose libpq asks for America/New_York (five hours behind UTC in January)."""
    monkeypatch.setenv("PGTZ", "America/New_York")
    adapter = PostgresAdapter(postgres_url, pool_size=1, max_overflow=0)
    yield adapter
    adapter.close()


@pytest.fixture
def events(new_york_client: PostgresAdapter) -> Iterator[str]:
    name = f"pg_ts_{uuid.uuid4().hex[:8]}"
    new_york_client.execute(
        f"CREATE TABLE {name} (id int PRIMARY KEY, plain timestamp, zoned timestamptz)"
    )
    yield name
    new_york_client.execute(f"DROP TABLE {name}")


def stored(adapter: PostgresAdapter, table: str) -> list[dict[str, object]]:
    """The values as the server holds them, as UTC text (independent of any type processing)."""
    return adapter.query(
        f"SELECT id, plain::text AS plain, (zoned AT TIME ZONE 'UTC')::text AS zoned "
        f"FROM {table} ORDER BY id"
    )


def test_the_session_zone_is_utc_even_when_the_client_asks_for_another(
    new_york_client: PostgresAdapter,
) -> None:
    assert new_york_client.query("SHOW TimeZone") == [{"TimeZone": "UTC"}]


def test_upsert_stores_an_aware_value_as_its_utc_time(
    new_york_client: PostgresAdapter, events: str
) -> None:
    new_york_client.upsert(events, [{"id": 1, "plain": NOON_UTC, "zoned": NOON_UTC}], key=["id"])
    new_york_client.upsert(
        events,
        [{"id": 2, "plain": NOON_UTC.replace(tzinfo=None), "zoned": NOON_UTC}],
        key=["id"],
    )

    noon = "2024-01-01 12:00:00"
    assert stored(new_york_client, events) == [
        {"id": 1, "plain": noon, "zoned": noon},
        {"id": 2, "plain": noon, "zoned": noon},
    ]
    pages = list(new_york_client.iter_pages(events, ["id"]))
    assert [row["plain"] for page in pages for row in page] == [NOON_UTC, NOON_UTC]


def test_bulk_insert_accepts_the_aware_values_upsert_accepts(
    new_york_client: PostgresAdapter, events: str
) -> None:
    plus_five = NOON_UTC.astimezone(timezone(timedelta(hours=5)))
    rows = [
        {"id": 1, "plain": NOON_UTC, "zoned": NOON_UTC},
        {"id": 2, "plain": plus_five, "zoned": plus_five},
        {"id": 3, "plain": NOON_UTC.replace(tzinfo=None), "zoned": NOON_UTC},
    ]

    assert new_york_client.bulk_insert(events, rows) == 3

    noon = "2024-01-01 12:00:00"
    assert stored(new_york_client, events) == [
        {"id": i, "plain": noon, "zoned": noon} for i in (1, 2, 3)
    ]
    read = [row for page in new_york_client.iter_pages(events, ["id"]) for row in page]
    assert {row["plain"] for row in read} == {NOON_UTC}
    assert {row["zoned"] for row in read} == {NOON_UTC}


def test_a_keyset_page_after_a_timestamp_key_skips_nothing(
    new_york_client: PostgresAdapter,
) -> None:
    name = f"pg_ts_key_{uuid.uuid4().hex[:8]}"
    new_york_client.execute(f"CREATE TABLE {name} (at timestamp PRIMARY KEY)")
    instants = [NOON_UTC + timedelta(hours=hour) for hour in range(5)]
    new_york_client.bulk_insert(name, [{"at": at} for at in instants])

    pages = list(new_york_client.iter_pages(name, ["at"], page_size=2))

    assert [row["at"] for page in pages for row in page] == instants
    new_york_client.execute(f"DROP TABLE {name}")


def test_options_in_the_url_are_kept_and_the_zone_is_still_utc(postgres_url: str) -> None:
    options = quote("-c search_path=pg_catalog,public -c TimeZone=Asia/Tokyo")
    separator = "&" if "?" in postgres_url else "?"
    adapter = PostgresAdapter(f"{postgres_url}{separator}options={options}", statement_timeout=5)
    try:
        assert adapter.query("SHOW search_path") == [{"search_path": "pg_catalog,public"}]
        assert adapter.query("SHOW TimeZone") == [{"TimeZone": "UTC"}]
        assert adapter.query("SHOW statement_timeout") == [{"statement_timeout": "5s"}]
    finally:
        adapter.close()


def test_engine_arguments_pin_the_zone_after_the_urls_options() -> None:
    arguments = PostgresOptions(statement_timeout=0.25).engine_arguments("-c work_mem=64MB")

    assert arguments["connect_args"]["options"] == (
        "-c work_mem=64MB -c TimeZone=UTC -c statement_timeout=250"
    )
