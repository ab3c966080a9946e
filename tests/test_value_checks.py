"""SQLite's bulk_insert and upsert refuse values that do not fit the declared column type.

The rules live in ``storage/value_checks.py`` (dict values) and ``storage/arrow_checks.py``
(Arrow arrays); ``storage/sqlite_value_checks.py`` applies them to SQLite tables. Everything is
checked through a real SQLite adapter: what goes in, what is refused, and what the error says.
The same refusals on PostgreSQL are held by ``StorageAdapterSuite``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage.migrations import upgrade
from spine_host.storage.sqlite import SqliteAdapter

TABLE = "measured"
CREATE = f"""
CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,
    small SMALLINT, whole INTEGER, big BIGINT,
    amount NUMERIC(10, 2), ratio FLOAT,
    code VARCHAR(10), initials CHAR(3), body TEXT,
    flag BOOLEAN, at TIMESTAMP, day DATE, clock TIME,
    data BLOB, doc JSON,
    shape POINT
)
"""
SECRET = "s3cret-api-token"


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqliteAdapter]:
    adapter = SqliteAdapter(f"sqlite:///{tmp_path / 'checks.db'}")
    adapter.execute(CREATE)
    try:
        yield adapter
    finally:
        adapter.close()


def refused(call: Any) -> SpineError:
    with pytest.raises(SpineError) as raised:
        call()
    assert raised.value.category is ErrorCategory.VALIDATION, raised.value.message
    return raised.value


def stored(adapter: SqliteAdapter) -> int:
    return int(adapter.query(f"SELECT COUNT(*) AS n FROM {TABLE}")[0]["n"])


FITTING = [
    ("small", -(2**15)),
    ("small", 2**15 - 1),
    ("whole", 2**31 - 1),
    ("whole", True),
    ("big", 2**63 - 1),
    ("amount", Decimal("99999999.994")),
    ("amount", 5),
    ("amount", 1.5),
    ("ratio", 3),
    ("ratio", Decimal("1.5")),
    ("ratio", float("inf")),
    ("code", "0123456789"),
    ("code", "ünïcødé☃日本"),
    ("initials", "abc"),
    ("body", "x" * 10_000),
    ("flag", False),
    ("flag", 1),
    ("at", datetime(2024, 3, 10, 1, 30, tzinfo=timezone(timedelta(hours=-5)))),
    ("at", datetime(2024, 3, 10, 1, 30)),  # a reflected column takes naive values as UTC
    ("day", date(2024, 3, 10)),
    ("day", datetime(2024, 3, 10, 1, 30)),
    ("clock", time(10, 30)),
    ("data", b"\x00\x01"),
    ("data", bytearray(b"x")),
    ("data", memoryview(b"x")),
    ("doc", {"a": [1, 2]}),
    ("doc", "text"),
    ("doc", 3),
    # A type SQLite's dialect does not know by name is guessed from affinity: POINT has "INT" in
    # it, so it is reflected as INTEGER, but it does not mean one and is not checked as one.
    ("shape", "(1, 2)"),
]

MISFITS = [
    ("small", 2**15, "an int outside SMALLINT's range -32768..32767"),
    ("whole", 2**31, "an int outside INTEGER's range -2147483648..2147483647"),
    ("whole", -(2**31) - 1, "an int outside INTEGER's range"),
    ("whole", "abc", "a value of type str does not fit INTEGER, which holds whole numbers"),
    ("whole", 1.5, "a value of type float does not fit INTEGER"),
    ("whole", 2.0, "a value of type float does not fit INTEGER"),
    ("whole", Decimal(3), "a value of type Decimal does not fit INTEGER"),
    ("big", 2**63, "an int outside BIGINT's range"),
    ("amount", Decimal("99999999.995"), "a Decimal too large for NUMERIC(10, 2)"),
    ("amount", 10**8, "an int too large for NUMERIC(10, 2)"),
    ("amount", float("inf"), "a float too large for NUMERIC(10, 2)"),
    ("amount", "1.5", "a value of type str does not fit NUMERIC(10, 2), which holds numbers"),
    ("amount", True, "a value of type bool does not fit NUMERIC(10, 2)"),
    ("ratio", "1.5", "a value of type str does not fit FLOAT"),
    ("code", "x" * 50, "a str of 50 characters does not fit VARCHAR(10)"),
    ("code", 12, "a value of type int does not fit VARCHAR(10), which holds text"),
    ("initials", "abcd", "a str of 4 characters does not fit CHAR(3)"),
    ("body", b"x", "a value of type bytes does not fit TEXT"),
    ("flag", "yes", "a value of type str does not fit BOOLEAN"),
    ("flag", 2, "a value of type int does not fit BOOLEAN"),
    ("at", "2024-03-10", "a value of type str does not fit DATETIME, which holds datetimes"),
    ("at", date(2024, 3, 10), "a value of type date does not fit DATETIME"),
    ("day", "2024-03-10", "a value of type str does not fit DATE, which holds dates"),
    ("clock", "10:30", "a value of type str does not fit TIME"),
    ("data", "text", "a value of type str does not fit BLOB, which holds bytes"),
    ("doc", b"x", "a value of type bytes does not fit JSON"),
    ("doc", datetime(2024, 3, 10, tzinfo=UTC), "a value of type datetime does not fit JSON"),
]


@pytest.mark.parametrize("operation", ["bulk_insert", "upsert"])
@pytest.mark.parametrize(("column", "value"), FITTING)
def test_a_value_that_fits_its_declared_type_goes_in(
    sqlite: SqliteAdapter, operation: str, column: str, value: Any
) -> None:
    rows = [{"id": 1, column: value}, {"id": 2, column: None}]
    if operation == "bulk_insert":
        assert sqlite.bulk_insert(TABLE, rows) == 2
    else:
        assert sqlite.upsert(TABLE, rows, key=["id"]) == 2
    assert stored(sqlite) == 2


@pytest.mark.parametrize("operation", ["bulk_insert", "upsert"])
@pytest.mark.parametrize(("column", "value", "problem"), MISFITS)
def test_a_value_that_does_not_fit_is_refused_naming_table_row_column_and_type(
    sqlite: SqliteAdapter, operation: str, column: str, value: Any, problem: str
) -> None:
    rows = [{"id": 1, column: None}, {"id": 2, column: value}]
    if operation == "bulk_insert":
        error = refused(lambda: sqlite.bulk_insert(TABLE, rows))
    else:
        error = refused(lambda: sqlite.upsert(TABLE, rows, key=["id"]))
    assert error.message.startswith(f"{operation} into {TABLE}: row 2, column {column}: {problem}")
    assert error.context["table"] == TABLE
    assert error.context["row"] == 2
    assert error.context["column"] == column
    assert error.context["value_type"] == type(value).__name__
    assert error.retryable is False
    assert stored(sqlite) == 0


def test_the_error_never_carries_the_value(sqlite: SqliteAdapter) -> None:
    rows = [{"id": 1, "whole": SECRET, "code": SECRET * 3}]
    error = refused(lambda: sqlite.bulk_insert(TABLE, rows))
    assert SECRET not in str(error)
    assert SECRET not in repr(error.to_dict())


def test_the_row_number_counts_across_chunks_and_nothing_of_the_call_is_written(
    sqlite: SqliteAdapter,
) -> None:
    rows = [{"id": index, "whole": index} for index in range(12_000)]
    rows[10_500]["whole"] = "abc"  # in the second chunk of 10,000: the first was written already
    error = refused(lambda: sqlite.bulk_insert(TABLE, rows))
    assert "row 10501, column whole" in error.message
    assert stored(sqlite) == 0


def test_the_first_bad_row_is_reported_whichever_column_it_is_in(sqlite: SqliteAdapter) -> None:
    rows = [{"id": index, "whole": index, "code": "ok"} for index in range(10)]
    rows[7]["whole"] = "late"
    rows[3]["code"] = "much too long"
    error = refused(lambda: sqlite.bulk_insert(TABLE, rows))
    assert "row 4, column code" in error.message


def test_upsert_numbers_rows_across_groups_of_different_columns(sqlite: SqliteAdapter) -> None:
    rows: list[dict[str, Any]] = [
        {"id": 1, "whole": 1},
        {"id": 2, "code": "ok"},
        {"id": 3, "code": "x" * 11},
    ]
    error = refused(lambda: sqlite.upsert(TABLE, rows, key=["id"]))
    assert "row 3, column code" in error.message
    assert stored(sqlite) == 0


def test_a_refused_call_inside_a_transaction_rolls_the_block_back(sqlite: SqliteAdapter) -> None:
    def block() -> None:
        with sqlite.transaction():
            sqlite.bulk_insert(TABLE, [{"id": 1, "whole": 1}])
            sqlite.bulk_insert(TABLE, [{"id": 2, "whole": "abc"}])

    refused(block)
    assert stored(sqlite) == 0


def test_the_sqlite_rowid_holds_64_bits(sqlite: SqliteAdapter) -> None:
    # A lone INTEGER PRIMARY KEY is SQLite's rowid, the only way to get its auto-increment.
    assert sqlite.bulk_insert(TABLE, [{"id": 2**40}]) == 1


def test_a_column_added_later_is_checked_too(sqlite: SqliteAdapter) -> None:
    sqlite.bulk_insert(TABLE, [{"id": 1, "whole": 1}])
    sqlite.execute(f"ALTER TABLE {TABLE} ADD COLUMN extra INTEGER")
    error = refused(lambda: sqlite.bulk_insert(TABLE, [{"id": 2, "extra": "abc"}]))
    assert "column extra" in error.message


# -- Arrow ---------------------------------------------------------------------------------------

ARROW_FITTING = [
    ("whole", pa.array([1, None], pa.int32())),
    ("whole", pa.array([2**31 - 1, -(2**31)], pa.int64())),
    ("whole", pa.array([200, 7], pa.uint8())),
    ("whole", pa.array([True, False])),
    ("whole", pa.array([None, None], pa.string())),  # all NULL: nothing to refuse
    ("small", pa.array([1, -1], pa.int16())),
    ("code", pa.array(["0123456789", "ünïcødé☃日本"])),
    ("code", pa.array(["short", None], pa.large_string())),
    ("code", pa.array(["a", "b"]).dictionary_encode()),
    ("flag", pa.array([True, None])),
    ("flag", pa.array([0, 1], pa.int8())),
    ("at", pa.array([datetime(2024, 3, 10, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC"))),
    ("at", pa.array([datetime(2024, 3, 10)] * 2, pa.timestamp("us"))),
    ("amount", pa.array([Decimal("99999999.99"), Decimal(-1)], pa.decimal128(12, 2))),
    ("amount", pa.array([1.5, float("nan")])),
    ("ratio", pa.array([1, 2], pa.int64())),
    ("day", pa.array([date(2024, 3, 10)] * 2)),
    ("data", pa.array([b"x", b"y"])),
]

ARROW_MISFITS = [
    ("whole", pa.array([1, 2**31], pa.int64()), "an int outside INTEGER's range"),
    ("whole", pa.array([1, 2**40], pa.uint64()), "an int outside INTEGER's range"),
    ("whole", pa.array([None, "1"]), "a value of type str does not fit INTEGER"),
    ("whole", pa.array([None, 1.0]), "a value of type float does not fit INTEGER"),
    ("small", pa.array([1, 40_000], pa.int32()), "an int outside SMALLINT's range"),
    ("code", pa.array(["ok", "x" * 50]), "a str of 50 characters does not fit VARCHAR(10)"),
    ("code", pa.array(["ok", "x" * 11]).dictionary_encode(), "a str of 11 characters"),
    ("code", pa.array([None, 5]), "a value of type int does not fit VARCHAR(10)"),
    ("flag", pa.array([1, 2], pa.int8()), "a value of type int does not fit BOOLEAN"),
    ("flag", pa.array([None, "yes"]), "a value of type str does not fit BOOLEAN"),
    ("at", pa.array([None, date(2024, 3, 10)]), "a value of type date does not fit DATETIME"),
    (
        "amount",
        pa.array([Decimal(1), Decimal("100000000.00")], pa.decimal128(12, 2)),
        "a Decimal too large for NUMERIC(10, 2)",
    ),
    ("amount", pa.array([1, 10**8], pa.int64()), "an int too large for NUMERIC(10, 2)"),
    ("ratio", pa.array([None, True]), "a value of type bool does not fit FLOAT"),
    ("data", pa.array([None, "text"]), "a value of type str does not fit BLOB"),
]


@pytest.mark.parametrize(("column", "array"), ARROW_FITTING)
def test_an_arrow_column_that_fits_goes_in(
    sqlite: SqliteAdapter, column: str, array: pa.Array
) -> None:
    batch = pa.record_batch({"id": pa.array([1, 2], pa.int64()), column: array})
    assert sqlite.bulk_insert(TABLE, [batch]) == 2


@pytest.mark.parametrize(("column", "array", "problem"), ARROW_MISFITS)
def test_an_arrow_column_that_does_not_fit_is_refused_at_its_first_misfit(
    sqlite: SqliteAdapter, column: str, array: pa.Array, problem: str
) -> None:
    fitting = pa.concat_arrays([array.slice(0, 1), array.slice(0, 1)])
    first = pa.record_batch({"id": pa.array([1, 2], pa.int64()), column: fitting})
    second = pa.record_batch({"id": pa.array([3, 4], pa.int64()), column: array})
    error = refused(lambda: sqlite.bulk_insert(TABLE, [first, second]))
    # The misfit is the second value of the second batch: row 4 of the call.
    assert error.message.startswith(f"bulk_insert into {TABLE}: row 4, column {column}: {problem}")
    assert stored(sqlite) == 0


# -- spine's own tables --------------------------------------------------------------------------


def test_spine_tables_refuse_naive_timestamps_without_showing_them(tmp_path: Path) -> None:
    adapter = SqliteAdapter(f"sqlite:///{tmp_path / 'spine.db'}")
    try:
        upgrade(adapter)
        naive = datetime(2031, 7, 9, 8, 7, 6)
        row = {"execution_id": "e1", "pipeline": "p", "status": "S", "started_at": naive}
        error = refused(lambda: adapter.bulk_insert("executions", [row]))
        assert "row 1, column started_at: a naive datetime" in error.message
        assert "2031" not in error.message
        error = refused(
            lambda: adapter.upsert(
                "executions", [{**row, "started_at": naive.date()}], key=["execution_id"]
            )
        )
        assert "a value of type date does not fit" in error.message
        assert adapter.query("SELECT COUNT(*) AS n FROM executions") == [{"n": 0}]
    finally:
        adapter.close()


def test_spine_surrogate_keys_hold_64_bits(tmp_path: Path) -> None:
    adapter = SqliteAdapter(f"sqlite:///{tmp_path / 'spine.db'}")
    try:
        upgrade(adapter)
        row = {"reject_id": 2**40, "stage": "LOAD", "reason_code": "BAD", "line_number": 2**40}
        assert adapter.bulk_insert("core_rejects", [row]) == 1
    finally:
        adapter.close()
