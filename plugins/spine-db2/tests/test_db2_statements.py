"""Every statement the DB2 adapter issues, compiled by the real ibm_db_sa dialect.

No DB2 server can run here, so these tests prove the SQL text (what DB2 would receive), not its
behaviour on a server; ``test_db2_live.py`` runs the behaviour when SPINE_TEST_DB2_URL is set.
Creating the engine does not connect, so the adapter's own dialect is used throughout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from spine_db2 import db2_adapter
from spine_db2.adapter import Db2Adapter
from spine_db2.statements import (
    acquire_lock_statement,
    ensure_lock_row_statement,
    merge_parameters,
    merge_statement,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateTable

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage import schema
from spine_host.storage.types import UtcDateTime

URL = "db2+ibm_db://spine:s3cret-pw@db2.example:50000/SPINEDB"

metadata = sa.MetaData()
daily_volume = sa.Table(
    "daily_volume",
    metadata,
    sa.Column("trade_date", sa.Date(), primary_key=True),
    sa.Column("symbol", sa.String(12), primary_key=True),
    sa.Column("volume", sa.BigInteger()),
    sa.Column("price", sa.Numeric(18, 4)),
    sa.Column("loaded_at", UtcDateTime()),
)


@pytest.fixture
def adapter() -> Iterator[Db2Adapter]:
    adapter = db2_adapter(URL)
    assert isinstance(adapter, Db2Adapter)
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture
def dialect(adapter: Db2Adapter) -> Dialect:
    return adapter.engine.dialect


def sql(statement: Any, dialect: Dialect, **compile_kwargs: Any) -> str:
    return " ".join(str(statement.compile(dialect=dialect, compile_kwargs=compile_kwargs)).split())


def test_the_adapter_uses_the_ibm_db_sa_dialect_without_connecting(adapter: Db2Adapter) -> None:
    assert adapter.dialect == "ibm_db_sa"
    assert adapter.engine.dialect.paramstyle == "qmark"
    assert "s3cret-pw" not in repr(adapter)


# -- upsert: MERGE --------------------------------------------------------------------------------


def test_upsert_is_one_merge_with_typed_source_values(dialect: Dialect) -> None:
    statement = merge_statement(
        daily_volume,
        ["trade_date", "symbol", "volume", "price", "loaded_at"],
        ["trade_date", "symbol"],
        dialect,
    )
    assert sql(statement, dialect) == (
        "MERGE INTO daily_volume AS spine_target USING (VALUES (CAST(? AS DATE), "
        "CAST(? AS VARCHAR(12)), CAST(? AS BIGINT), CAST(? AS DECIMAL(18, 4)), "
        "CAST(? AS TIMESTAMP))) AS spine_source (trade_date, symbol, volume, price, loaded_at) "
        "ON spine_target.trade_date = spine_source.trade_date "
        "AND spine_target.symbol = spine_source.symbol "
        "WHEN MATCHED THEN UPDATE SET volume = spine_source.volume, price = spine_source.price, "
        "loaded_at = spine_source.loaded_at "
        "WHEN NOT MATCHED THEN INSERT (trade_date, symbol, volume, price, loaded_at) "
        "VALUES (spine_source.trade_date, spine_source.symbol, spine_source.volume, "
        "spine_source.price, spine_source.loaded_at)"
    )


def test_merge_quotes_identifiers_with_the_dialect_never_raw(dialect: Dialect) -> None:
    awkward = sa.Table(
        "Order Lines",
        sa.MetaData(),
        sa.Column("user", sa.Integer(), primary_key=True),
        sa.Column('note"; DROP TABLE x; --', sa.String(10)),
        schema="Sales",
    )
    text = sql(merge_statement(awkward, [c.name for c in awkward.c], ["user"], dialect), dialect)
    assert text.startswith('MERGE INTO "Sales"."Order Lines" AS spine_target')
    assert 'spine_target."user" = spine_source."user"' in text
    # The embedded quote is doubled: the name stays one identifier.
    assert '"note""; DROP TABLE x; --" = spine_source."note""; DROP TABLE x; --"' in text


def test_merge_values_are_bound_and_converted_by_the_column_types(dialect: Dialect) -> None:
    columns = ["trade_date", "symbol", "volume", "price", "loaded_at"]
    statement = merge_statement(daily_volume, columns, ["trade_date", "symbol"], dialect)
    loaded = datetime(2025, 12, 26, 18, 30, tzinfo=UTC)
    rows = [
        {
            "trade_date": datetime(2025, 12, 26).date(),
            "symbol": "O'REILLY|X",
            "volume": 2**40,
            "price": Decimal("12.3400"),
            "loaded_at": loaded,
        }
    ]
    compiled = statement.compile(dialect=dialect)
    processors = compiled._bind_processors
    (parameters,) = merge_parameters(columns, rows)
    assert parameters["p1"] == "O'REILLY|X"  # a bound value, never spliced into the SQL
    assert "O'REILLY" not in str(compiled)
    # UtcDateTime stores UTC without a zone on DB2.
    assert processors["p4"](parameters["p4"]) == datetime(2025, 12, 26, 18, 30)


def test_merge_with_only_key_columns_inserts_missing_rows_and_updates_nothing(
    dialect: Dialect,
) -> None:
    text = sql(
        merge_statement(daily_volume, ["trade_date", "symbol"], ["trade_date"], dialect), dialect
    )
    assert "WHEN MATCHED" in text  # symbol is not a key here, so it is updated
    text = sql(
        merge_statement(daily_volume, ["trade_date", "symbol"], ["trade_date", "symbol"], dialect),
        dialect,
    )
    assert "WHEN MATCHED" not in text
    assert text.endswith(
        "WHEN NOT MATCHED THEN INSERT (trade_date, symbol) "
        "VALUES (spine_source.trade_date, spine_source.symbol)"
    )


def test_upsert_issues_the_merge_with_python_defaults_for_absent_columns(
    adapter: Db2Adapter,
) -> None:
    """The adapter's own ``_upsert_rows`` against a recording connection (no DB2 server here)."""
    issued: list[tuple[str, list[dict[str, Any]]]] = []
    dialect = adapter.engine.dialect

    class RecordingConnection:
        def __init__(self) -> None:
            self.dialect = dialect

        def execute(self, statement: Any, parameters: list[dict[str, Any]]) -> None:
            issued.append((sql(statement, dialect), parameters))

    rows = [
        {"domain_name": "otc", "partition_key": "2025-12-26", "stage": "LOADED", "stage_rank": 2},
        {"domain_name": "otc", "partition_key": "2025-12-19", "stage": "LOADED", "stage_rank": 2},
    ]
    count = adapter._upsert_rows(
        RecordingConnection(),  # type: ignore[arg-type]
        schema.core_manifest,
        rows,
        ["domain_name", "partition_key", "stage"],
    )
    assert count == 2
    ((text, parameters),) = issued  # one statement for all rows (executemany)
    assert len(parameters) == 2
    # created_at and updated_at have Python defaults: inserted with them, and updated_at is
    # refreshed on update, as the base adapter's ON CONFLICT does.
    assert "INSERT (domain_name, partition_key, stage, stage_rank, created_at, updated_at)" in text
    assert "UPDATE SET stage_rank = spine_source.stage_rank, " in text
    assert "updated_at = spine_source.spine_onupdate_0" in text
    assert "created_at = " not in text.split("WHEN NOT MATCHED")[0]
    assert all(isinstance(row["p4"], datetime) and row["p4"].tzinfo for row in parameters)


def test_rows_of_one_merge_must_name_the_same_columns() -> None:
    with pytest.raises(SpineError) as raised:
        merge_parameters(["a", "b"], [{"a": 1, "b": 2}, {"a": 1}])
    assert raised.value.category == ErrorCategory.VALIDATION
    assert "row 2" in raised.value.message


# -- paging: keyset + FETCH FIRST -----------------------------------------------------------------


def test_what_the_dialect_itself_emits_for_limit_and_offset(dialect: Dialect) -> None:
    """Why the adapter builds its own page statement."""
    ordered = sa.select(daily_volume).order_by(daily_volume.c.trade_date)
    assert sql(ordered.limit(100), dialect, literal_binds=True).endswith("LIMIT 100")
    offset_only = sql(ordered.offset(100), dialect, literal_binds=True)
    # An offset without a limit numbers rows with an empty window, ROW_NUMBER() OVER(), over a
    # derived table; SQL does not keep a derived table's ORDER BY, so the numbering (and the
    # pages) follow whatever order DB2 reads the rows in.
    assert 'ROW_NUMBER() OVER() ) AS "Z.__ROWNUM"' in offset_only
    assert re.search(r"ORDER BY daily_volume.trade_date \) AS M \) Z WHERE", offset_only)


def test_page_statement_is_keyset_ordered_with_fetch_first(adapter: Db2Adapter) -> None:
    dialect = adapter.engine.dialect
    statement = adapter._page_statement(
        daily_volume, ["trade_date", "symbol"], (datetime(2025, 12, 26).date(), "IBM"), 500
    )
    text = sql(statement, dialect, render_postcompile=True)
    assert text.endswith(
        "FROM daily_volume WHERE daily_volume.trade_date > ? OR daily_volume.trade_date = ? "
        "AND daily_volume.symbol > ? ORDER BY daily_volume.trade_date, daily_volume.symbol "
        "FETCH FIRST 500 ROWS ONLY"
    )
    assert "LIMIT" not in text
    assert "OFFSET" not in text
    assert "ROW_NUMBER" not in text
    compiled = statement.compile(dialect=dialect)
    assert list(compiled.params.values())[:3] == [
        datetime(2025, 12, 26).date(),
        datetime(2025, 12, 26).date(),
        "IBM",
    ]


def test_first_page_has_no_keyset_predicate(adapter: Db2Adapter) -> None:
    statement = adapter._page_statement(daily_volume, ["symbol"], None, 10)
    text = sql(statement, adapter.engine.dialect, render_postcompile=True)
    assert "WHERE" not in text
    assert text.endswith("ORDER BY daily_volume.symbol FETCH FIRST 10 ROWS ONLY")


def test_page_size_must_be_positive(adapter: Db2Adapter) -> None:
    with pytest.raises(SpineError) as raised:
        adapter._page_statement(daily_volume, ["symbol"], None, 0)
    assert raised.value.category == ErrorCategory.VALIDATION


# -- lock: a lock row ------------------------------------------------------------------------------


def test_lock_row_is_created_by_a_merge_that_never_updates(dialect: Dialect) -> None:
    assert sql(ensure_lock_row_statement(schema.core_locks, dialect), dialect) == (
        "MERGE INTO core_locks AS spine_target USING (VALUES (CAST(? AS VARCHAR(200)))) "
        "AS spine_source (lock_name) ON spine_target.lock_name = spine_source.lock_name "
        "WHEN NOT MATCHED THEN INSERT (lock_name) VALUES (spine_source.lock_name)"
    )


def test_lock_is_held_by_an_update_lock_kept_until_commit(dialect: Dialect) -> None:
    assert sql(acquire_lock_statement(schema.core_locks, dialect), dialect) == (
        "SELECT lock_name FROM core_locks WHERE lock_name = ? "
        "FOR UPDATE WITH RS USE AND KEEP UPDATE LOCKS"
    )


def test_the_dialects_with_for_update_does_not_compile_and_stays_quiet() -> None:
    """ibm_db_sa 0.4.4 + SQLAlchemy 2 cannot compile with_for_update(); by default it also
    prints three tracebacks to stderr for it. After quiet_driver_logging() only the exception
    remains. Run in fresh interpreters so the logging state is the driver's own."""
    script = (
        "import sys, sqlalchemy as sa\n"
        "{setup}\n"
        "t = sa.table('core_locks', sa.column('lock_name'))\n"
        "dialect = sa.create_engine('db2+ibm_db://u:p@h:50000/DB').dialect\n"
        "try:\n"
        "    sa.select(t).with_for_update().compile(dialect=dialect)\n"
        "except AttributeError as exc:\n"
        "    print('raised', exc)\n"
    )
    noisy = _run(script.format(setup=""))
    quiet = _run(
        script.format(
            setup="from spine_db2.driver_logging import quiet_driver_logging\n"
            "quiet_driver_logging()"
        )
    )
    for result in (noisy, quiet):
        assert "raised 'Select' object has no attribute 'for_update'" in result.stdout
    assert noisy.stderr.count("Traceback") >= 1
    assert quiet.stderr == ""


# -- bulk insert: chunked executemany --------------------------------------------------------------


def test_bulk_insert_is_a_single_row_insert_run_by_executemany(adapter: Db2Adapter) -> None:
    dialect = adapter.engine.dialect
    # Not SQLAlchemy's multi-VALUES "insertmanyvalues": the DB-API executemany, which ibm_db
    # runs as one prepared statement with parameter arrays.
    assert dialect.use_insertmanyvalues is False
    assert sql(daily_volume.insert(), dialect) == (
        "INSERT INTO daily_volume (trade_date, symbol, volume, price, loaded_at) "
        "VALUES (?, ?, ?, ?, ?)"
    )
    assert db2_adapter(URL, chunk_size=2_000).chunk_size == 2_000


# -- DDL: spine db upgrade --sql -------------------------------------------------------------------


@pytest.fixture(scope="module")
def db2_ddl() -> str:
    from spine_host.storage.migrations import upgrade_sql

    return upgrade_sql("db2+ibm_db://u:p@h:50000/DB")


def test_upgrade_sql_prints_db2_ddl_for_every_table(db2_ddl: str) -> None:
    created = set(re.findall(r"CREATE TABLE (\w+)", db2_ddl))
    assert set(schema.metadata.tables) <= created
    assert "GENERATED BY DEFAULT AS IDENTITY" in db2_ddl
    assert "TIMESTAMP WITH TIME ZONE" not in db2_ddl
    assert "JSONB" not in db2_ddl
    # db2 -tvf runs it as printed: no standalone BEGIN (DB2's CLP has none), no COMMIT.
    statements = [s.strip() for s in db2_ddl.split(";") if s.strip()]
    code = [s for s in statements if not all(line.startswith("--") for line in s.splitlines())]
    assert not any(s.upper() in ("BEGIN", "COMMIT") for s in code)


def test_each_create_table_in_the_db2_script_is_what_ibm_db_sa_compiles(
    db2_ddl: str, dialect: Dialect
) -> None:
    """Statement by statement: every column a CREATE TABLE in the script declares is declared
    the same way by ibm_db_sa compiling spine's schema (later migrations add the rest)."""
    created = dict(re.findall(r"CREATE TABLE (\w+) \((.*?)\n\)", db2_ddl, re.DOTALL))
    assert set(schema.metadata.tables) <= set(created)
    for name, table in schema.metadata.tables.items():
        compiled = str(CreateTable(table).compile(dialect=dialect))
        expected = {_column_line(line) for line in compiled.splitlines()}
        declared = [_column_line(line) for line in created[name].splitlines() if line.strip()]
        columns = [line for line in declared if not line.startswith(("CONSTRAINT", "PRIMARY"))]
        assert columns
        assert set(columns) <= expected, (name, set(columns) - expected)


def _column_line(line: str) -> str:
    return " ".join(line.strip().rstrip(",").split())


def test_every_table_compiles_for_db2_without_quoted_names(dialect: Dialect) -> None:
    for table in schema.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        # A quoted lower-case name is case-sensitive on DB2: plain SQL would have to quote it.
        assert '"' not in ddl, f"{table.name}: {ddl}"


def test_unique_indexes_on_nullable_columns_exclude_null_keys(db2_ddl: str) -> None:
    unique_nullable = re.findall(r"CREATE UNIQUE INDEX .*idempotency_key.*", db2_ddl)
    assert unique_nullable
    assert all("EXCLUDE NULL KEYS" in line for line in unique_nullable)


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_fence_checks_read_their_row_share_locked_until_commit(dialect: Dialect) -> None:
    """A fenced commit reads the run (or execution) row WITH RS ... SHARE LOCKS, so a reaper's
    UPDATE waits for that commit on DB2 as FOR SHARE makes it wait on PostgreSQL."""
    from spine_host.storage.fencing import share_locked

    runs = schema.workflow_runs
    statement = sa.select(runs.c.owner, runs.c.status).where(runs.c.run_id == "r1")
    locked = share_locked(statement, dialect)
    text = sql(locked, dialect)
    assert text.endswith("WITH RS USE AND KEEP SHARE LOCKS")
    assert "FROM workflow_runs WHERE workflow_runs.run_id = " in text
    assert locked.compile(dialect=dialect).params == {"run_id_1": "r1"}
    from sqlalchemy.dialects import postgresql

    on_postgresql = share_locked(statement, postgresql.dialect())
    assert sql(on_postgresql, postgresql.dialect()).endswith("FOR SHARE")
