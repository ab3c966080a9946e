"""``StorageAdapterSuite``: what every storage adapter must do, as tests a plugin inherits.

Subclass it in a class whose name starts with ``Test`` and override the ``adapter`` fixture to
yield a fresh adapter on a real database (migrations run or not: the suite creates and drops its
own scratch tables, with unique names). Everything is checked through the ``DatabaseAdapter``
protocol, on real connections and real threads:

- commit and rollback, and that a rollback never removes rows committed before it;
- ``bulk_insert`` of 100,000 rows round-trips exactly (NULLs, unicode, pipes, quotes, newlines,
  decimals, aware timestamps, booleans, a bigint 2**40 after small ones), from dicts and from
  Arrow record batches;
- ``upsert`` updates and inserts; ``lock`` makes a second holder wait;
- ``bulk_insert`` (dicts and Arrow) and ``upsert`` refuse a value that does not fit its column's
  declared type (text in an INTEGER, 50 characters in a VARCHAR(10), an int beyond its type) as
  a VALIDATION error that never quotes the value, and write nothing of the call; values that fit
  (bounds included) go in;
- ``iter_pages`` returns every row exactly once in key order (single and composite keys);
- driver errors come back classified; an unknown table is a clear error.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["StorageAdapterSuite"]

_WAIT = 15.0  # seconds a thread may take before the test calls it hung

_LABELS = [
    "plain",
    "ünïcødé ☃ 日本語 🚀",
    "pipe|separated|value",
    "single ' and double \" quotes",
    "line\nbreak\r\nand\ttab",
    "back\\slash, comma; semicolon",
    "",
]
_ZONE = timezone(timedelta(hours=-5))
# A row value standing for a secret: no error message may quote it.
_SECRET = "s3cret-api-token"


class StorageAdapterSuite:
    """The storage contract as tests; see the module docstring for how to use it."""

    #: Rows in the bulk round-trip tests; the contract says 100,000.
    bulk_row_count = 100_000

    @pytest.fixture
    def adapter(self) -> Iterator[DatabaseAdapter]:
        """Override: yield a fresh adapter on a real database, and close it afterwards."""
        raise NotImplementedError("subclasses of StorageAdapterSuite override the adapter fixture")

    @pytest.fixture
    def tables(self, adapter: DatabaseAdapter) -> Iterator[ScratchTables]:
        """Scratch tables with unique names for one test, dropped afterwards."""
        scratch = ScratchTables(adapter, uuid.uuid4().hex[:10])
        try:
            yield scratch
        finally:
            scratch.drop()

    # -- the basics ----------------------------------------------------------------------------

    def test_dialect_is_named(self, adapter: DatabaseAdapter) -> None:
        assert isinstance(adapter.dialect, str)
        assert adapter.dialect

    def test_query_returns_a_dict_per_row(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        adapter.execute(f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (1, 2, 'x')")
        rows = adapter.query(
            f"SELECT group_no, seq, label FROM {tables.pairs} WHERE group_no = :g", {"g": 1}
        )
        assert rows == [{"group_no": 1, "seq": 2, "label": "x"}]

    # -- transactions --------------------------------------------------------------------------

    def test_execute_outside_a_transaction_is_committed(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        adapter.execute(f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (1, 1, 'a')")
        # Another thread has its own connection: it sees only committed rows.
        assert _in_thread(lambda: tables.count(tables.pairs)) == 1

    def test_rollback_never_removes_rows_committed_before_it(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        insert = f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (:g, :s, 'x')"
        adapter.execute(insert, {"g": 1, "s": 1})
        adapter.executemany(insert, [{"g": 1, "s": 2}, {"g": 1, "s": 3}])
        _rolled_back(adapter, lambda: adapter.execute(insert, {"g": 2, "s": 1}))
        assert tables.keys() == [(1, 1), (1, 2), (1, 3)]

    def test_a_transaction_commits_all_or_nothing(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        insert = f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (:g, :s, 'x')"
        with adapter.transaction():
            adapter.execute(insert, {"g": 1, "s": 1})
            adapter.executemany(insert, [{"g": 1, "s": 2}])

        def work() -> None:
            adapter.execute(insert, {"g": 2, "s": 1})
            adapter.bulk_insert(tables.pairs, [{"group_no": 2, "seq": 2, "label": "y"}])

        _rolled_back(adapter, work)
        assert tables.keys() == [(1, 1), (1, 2)]

    def test_a_nested_transaction_joins_the_outer_one(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        insert = f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (:g, :s, 'x')"

        def work() -> None:
            with adapter.transaction():
                adapter.execute(insert, {"g": 1, "s": 1})

        _rolled_back(adapter, work)
        assert tables.keys() == []

    def test_commit_inside_a_transaction_survives_a_later_rollback(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        insert = f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (:g, :s, 'x')"

        def work() -> None:
            adapter.execute(insert, {"g": 1, "s": 1})
            adapter.commit()
            adapter.execute(insert, {"g": 1, "s": 2})

        _rolled_back(adapter, work)
        assert tables.keys() == [(1, 1)]

    def test_uncommitted_work_is_invisible_to_other_connections(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        insert = f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (1, 1, 'x')"
        with adapter.transaction():
            adapter.execute(insert)
            assert tables.count(tables.pairs) == 1
            assert _in_thread(lambda: tables.count(tables.pairs)) == 0
        assert _in_thread(lambda: tables.count(tables.pairs)) == 1

    # -- bulk insert ---------------------------------------------------------------------------

    def test_bulk_insert_of_dicts_round_trips_exactly(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        count = self.bulk_row_count
        assert adapter.bulk_insert(tables.items, _item_rows(count)) == count
        _assert_same_rows(_read_all(adapter, tables.items, ["id"]), _item_rows(count))

    def test_bulk_insert_of_arrow_batches_round_trips_exactly(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        count = self.bulk_row_count
        assert adapter.bulk_insert(tables.items, _item_batches(count, 25_000)) == count
        _assert_same_rows(_read_all(adapter, tables.items, ["id"]), _item_rows(count))

    def test_bulk_insert_accepts_an_arrow_table(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        table = pa.Table.from_batches(list(_item_batches(1_000, 300)))
        assert adapter.bulk_insert(tables.items, table) == 1_000
        _assert_same_rows(_read_all(adapter, tables.items, ["id"]), _item_rows(1_000))

    def test_a_failing_bulk_insert_inserts_nothing(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        rows = [{"group_no": 1, "seq": seq, "label": "x"} for seq in range(5_000)]
        rows.append({"group_no": 1, "seq": 10, "label": "duplicate"})
        with pytest.raises(SpineError) as raised:
            adapter.bulk_insert(tables.pairs, rows)
        assert raised.value.category is ErrorCategory.STORAGE
        assert tables.count(tables.pairs) == 0

    # -- values that do not fit their column ---------------------------------------------------

    def test_bulk_insert_refuses_text_in_an_integer_column(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        # The bad row comes after a whole default chunk (10,000 rows): one call, one transaction.
        rows = [_typed_row(index) for index in range(10_600)]
        rows[10_500]["whole"] = "abc"
        error = _refused(lambda: adapter.bulk_insert(tables.typed, rows))
        _assert_names(error, tables.typed, "whole")
        assert tables.count(tables.typed) == 0

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            pytest.param("whole", _SECRET, id="text-in-integer"),
            pytest.param("code", _SECRET + "x" * 40, id="50-characters-in-varchar-10"),
            pytest.param("whole", 1.5, id="fraction-in-integer"),
            pytest.param("big", 2**63, id="int-beyond-bigint"),
            pytest.param("happened_at", "2024-03-10T01:30:00+00:00", id="text-in-timestamp"),
        ],
    )
    def test_bulk_insert_refuses_a_value_that_does_not_fit_and_never_quotes_it(
        self, adapter: DatabaseAdapter, tables: ScratchTables, column: str, value: Any
    ) -> None:
        rows = [_typed_row(index) for index in range(3)]
        rows[1][column] = value
        error = _refused(lambda: adapter.bulk_insert(tables.typed, rows))
        _assert_names(error, tables.typed, column)
        if isinstance(value, str):
            _assert_withheld(error, value)
        assert tables.count(tables.typed) == 0

    def test_bulk_insert_refuses_an_int_beyond_integer(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        rows = [_typed_row(index) for index in range(3)]
        rows[2]["whole"] = 2**31
        error = _refused(lambda: adapter.bulk_insert(tables.typed, rows))
        _assert_names(error, tables.typed, "whole")
        assert tables.count(tables.typed) == 0

    @pytest.mark.parametrize(
        ("column", "array"),
        [
            pytest.param("whole", pa.array(["1", _SECRET]), id="text-in-integer"),
            pytest.param("code", pa.array(["ok", _SECRET + "x" * 40]), id="50-characters"),
            pytest.param("whole", pa.array([1.0, 1.5]), id="fraction-in-integer"),
        ],
    )
    def test_bulk_insert_of_arrow_refuses_a_column_that_does_not_fit(
        self, adapter: DatabaseAdapter, tables: ScratchTables, column: str, array: pa.Array
    ) -> None:
        columns = {"id": pa.array([1, 2], pa.int64()), column: array}
        error = _refused(lambda: adapter.bulk_insert(tables.typed, pa.table(columns)))
        _assert_names(error, tables.typed, column)
        _assert_withheld(error, _SECRET)
        assert tables.count(tables.typed) == 0

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            pytest.param("whole", "abc", id="text-in-integer"),
            pytest.param("code", "x" * 50, id="50-characters-in-varchar-10"),
            pytest.param("whole", 2**31, id="int-beyond-integer"),
            pytest.param("happened_at", "2024-03-10T01:30:00+00:00", id="text-in-timestamp"),
            pytest.param("flag", "yes", id="text-in-boolean"),
        ],
    )
    def test_upsert_refuses_a_value_that_does_not_fit(
        self, adapter: DatabaseAdapter, tables: ScratchTables, column: str, value: Any
    ) -> None:
        adapter.upsert(tables.typed, [_typed_row(0)], key=["id"])
        changed = {**_typed_row(0), "code": "changed"}
        bad = {**_typed_row(1), column: value}
        _refused(lambda: adapter.upsert(tables.typed, [changed, bad], key=["id"]))
        rows = adapter.query(f"SELECT id, code FROM {tables.typed}")
        assert [(row["id"], row["code"]) for row in rows] == [(0, "code-0")]

    @pytest.mark.parametrize("operation", ["bulk_insert", "upsert"])
    def test_values_that_fit_their_columns_go_in(
        self, adapter: DatabaseAdapter, tables: ScratchTables, operation: str
    ) -> None:
        rows: list[dict[str, Any]] = [
            {
                "id": 1,
                "whole": -(2**31),
                "big": -(2**63),
                "code": "ünïcødé☃日本",  # ten characters, more than ten bytes
                "flag": True,
                "happened_at": datetime(2024, 3, 10, 1, 30, tzinfo=_ZONE),
            },
            {
                "id": 2,
                "whole": 2**31 - 1,
                "big": 2**63 - 1,
                "code": "0123456789",
                "flag": False,
                "happened_at": datetime(2024, 3, 10, 6, 30, tzinfo=UTC),
            },
            {"id": 3, "whole": None, "big": None, "code": None, "flag": None, "happened_at": None},
        ]
        if operation == "bulk_insert":
            assert adapter.bulk_insert(tables.typed, rows) == 3
        else:
            assert adapter.upsert(tables.typed, rows, key=["id"]) == 3
        _assert_same_rows(_read_all(adapter, tables.typed, ["id"]), iter(rows))

    # -- upsert, lock, paging ------------------------------------------------------------------

    def test_upsert_updates_existing_rows_and_inserts_new_ones(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        adapter.bulk_insert(
            tables.pairs,
            [{"group_no": 1, "seq": 1, "label": "old"}, {"group_no": 1, "seq": 2, "label": "old"}],
        )
        upserted = adapter.upsert(
            tables.pairs,
            [{"group_no": 1, "seq": 2, "label": "new"}, {"group_no": 2, "seq": 1, "label": "new"}],
            key=["group_no", "seq"],
        )
        assert upserted == 2
        rows = adapter.query(f"SELECT group_no, seq, label FROM {tables.pairs}")
        assert sorted((r["group_no"], r["seq"], r["label"]) for r in rows) == [
            (1, 1, "old"),
            (1, 2, "new"),
            (2, 1, "new"),
        ]

    def test_lock_makes_a_second_holder_wait(self, adapter: DatabaseAdapter) -> None:
        name = f"suite-{uuid.uuid4().hex[:8]}"
        first_holds, release_first, second_holds = (threading.Event() for _ in range(3))
        errors: list[BaseException] = []

        def first() -> None:
            with adapter.lock(name):
                first_holds.set()
                release_first.wait(_WAIT)

        def second() -> None:
            first_holds.wait(_WAIT)
            with adapter.lock(name):
                second_holds.set()

        threads = [_thread(first, errors), _thread(second, errors)]
        try:
            assert first_holds.wait(_WAIT), "the first holder never got the lock"
            assert not second_holds.wait(0.5), "a second holder got the lock while it was held"
        finally:
            release_first.set()
        assert second_holds.wait(_WAIT), "the second holder never got the lock after release"
        for thread in threads:
            thread.join(_WAIT)
        assert not errors

    @pytest.mark.parametrize("page_size", [1, 7, 250, 1000])
    def test_iter_pages_returns_every_row_once_in_key_order(
        self, adapter: DatabaseAdapter, tables: ScratchTables, page_size: int
    ) -> None:
        adapter.bulk_insert(tables.items, _item_rows(500))
        pages = list(adapter.iter_pages(tables.items, ["id"], page_size))
        assert all(0 < len(page) <= page_size for page in pages)
        assert [row["id"] for page in pages for row in page] == list(range(500))

    def test_iter_pages_with_a_composite_key(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        keys = [(group, seq) for group in (3, 1, 2) for seq in (5, 1, 4, 2, 3)]
        adapter.bulk_insert(
            tables.pairs, [{"group_no": g, "seq": s, "label": f"{g}.{s}"} for g, s in keys]
        )
        pages = list(adapter.iter_pages(tables.pairs, ["group_no", "seq"], 4))
        seen = [(row["group_no"], row["seq"]) for page in pages for row in page]
        assert seen == sorted(keys)
        assert [len(page) for page in pages] == [4, 4, 4, 3]

    # -- errors --------------------------------------------------------------------------------

    def test_a_unique_violation_is_a_storage_error_that_is_not_retried(
        self, adapter: DatabaseAdapter, tables: ScratchTables
    ) -> None:
        insert = f"INSERT INTO {tables.pairs} (group_no, seq, label) VALUES (1, 1, 'x')"
        adapter.execute(insert)
        with pytest.raises(SpineError) as raised:
            adapter.execute(insert)
        assert raised.value.category is ErrorCategory.STORAGE
        assert raised.value.retryable is False
        assert tables.count(tables.pairs) == 1

    def test_an_unknown_table_is_a_clear_error(self, adapter: DatabaseAdapter) -> None:
        name = f"missing_{uuid.uuid4().hex[:8]}"
        with pytest.raises(SpineError) as raised:
            adapter.bulk_insert(name, [{"a": 1}])
        assert name in raised.value.message
        with pytest.raises(SpineError) as raised:
            adapter.query(f"SELECT * FROM {name}")
        assert name in raised.value.message.lower()


class ScratchTables:
    """Tables named for one test: ``items`` (every column type), ``pairs`` (composite key) and
    ``typed`` (small declared types: INTEGER, BIGINT, VARCHAR(10), BOOLEAN, a timestamp).

    They are created from SQLAlchemy definitions compiled for the adapter's dialect and run
    through ``adapter.execute``, so the suite needs nothing beyond the protocol.
    """

    def __init__(self, adapter: DatabaseAdapter, suffix: str) -> None:
        import sqlalchemy as sa

        from spine_host.storage.types import UtcDateTime

        self.adapter = adapter
        self.items = f"suite_items_{suffix}"
        self.pairs = f"suite_pairs_{suffix}"
        self.typed = f"suite_typed_{suffix}"
        metadata = sa.MetaData()
        self._tables = [
            sa.Table(
                self.items,
                metadata,
                sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
                sa.Column("small", sa.Integer()),
                sa.Column("big", sa.BigInteger()),
                sa.Column("amount", sa.Numeric(18, 4)),
                sa.Column("label", sa.String(200)),
                sa.Column("note", sa.Text()),
                sa.Column("flag", sa.Boolean()),
                sa.Column("happened_at", UtcDateTime()),
            ),
            sa.Table(
                self.pairs,
                metadata,
                sa.Column("group_no", sa.Integer(), primary_key=True, autoincrement=False),
                sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
                sa.Column("label", sa.String(50)),
            ),
            sa.Table(
                self.typed,
                metadata,
                sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
                sa.Column("whole", sa.Integer()),
                sa.Column("big", sa.BigInteger()),
                sa.Column("code", sa.String(10)),
                sa.Column("flag", sa.Boolean()),
                sa.Column("happened_at", UtcDateTime()),
            ),
        ]
        dialect = _sqlalchemy_dialect(adapter)
        for table in self._tables:
            adapter.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect)))

    def count(self, table: str) -> int:
        """Rows in ``table`` as this thread's connection sees them."""
        return int(self.adapter.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])

    def keys(self) -> list[tuple[int, int]]:
        """The ``(group_no, seq)`` keys of ``pairs``, sorted."""
        rows = self.adapter.query(f"SELECT group_no, seq FROM {self.pairs}")
        return sorted((row["group_no"], row["seq"]) for row in rows)

    def drop(self) -> None:
        """Drop the tables; a table that is already gone is not an error."""
        for table in reversed(self._tables):
            with contextlib.suppress(SpineError):
                self.adapter.execute(f"DROP TABLE {table.name}")


class _Planned(Exception):
    """Raised on purpose to roll a transaction back."""


def _rolled_back(adapter: DatabaseAdapter, work: Callable[[], object]) -> None:
    """Run ``work`` in a ``transaction()`` block that then raises; the raise must come out."""
    try:
        with adapter.transaction():
            work()
            raise _Planned
    except _Planned:
        return
    raise AssertionError("transaction() swallowed the exception of its block")


def _typed_row(index: int) -> dict[str, Any]:
    """A row of ``typed`` whose every value fits its column."""
    return {
        "id": index,
        "whole": index,
        "big": 2**40 + index,
        "code": f"code-{index}"[:10],
        "flag": index % 2 == 0,
        "happened_at": datetime(2024, 3, 10, 1, 30, tzinfo=_ZONE) + timedelta(seconds=index),
    }


def _refused(call: Callable[[], object]) -> SpineError:
    """The VALIDATION error ``call`` raises (any other outcome fails the test)."""
    with pytest.raises(SpineError) as raised:
        call()
    assert raised.value.category is ErrorCategory.VALIDATION, raised.value.message
    assert raised.value.retryable is False
    return raised.value


def _assert_names(error: SpineError, table: str, column: str) -> None:
    """The message says which table and which column refused the value."""
    assert table in error.message, error.message
    assert column in error.message.replace(table, ""), error.message


def _assert_withheld(error: SpineError, value: str) -> None:
    """Neither the message nor the context quotes the value (row values can be secrets)."""
    shown = f"{error.message} {error.context}"
    assert value[:16] not in shown, shown


def _sqlalchemy_dialect(adapter: DatabaseAdapter) -> Any:
    engine = getattr(adapter, "engine", None)
    if engine is not None:
        return engine.dialect
    from sqlalchemy.dialects import registry

    return registry.load(adapter.dialect)()


def _item_rows(count: int) -> Iterator[dict[str, Any]]:
    """Rows with every awkward value; a bigint 2**40 appears only after many small ones."""
    start = datetime(2024, 3, 10, 1, 30, tzinfo=_ZONE)
    for index in range(count):
        yield {
            "id": index,
            "small": None if index % 19 == 0 else index % 1000 - 500,
            "big": index if index < count // 2 else 2**40 + index,
            "amount": None if index % 11 == 0 else Decimal(index * 7919 % 10**9) / 10**4 - 5,
            "label": f"{_LABELS[index % len(_LABELS)]}#{index}",
            "note": None if index % 7 == 0 else _LABELS[(index + 3) % len(_LABELS)],
            "flag": None if index % 13 == 0 else index % 2 == 0,
            "happened_at": (
                None if index % 17 == 0 else start + timedelta(seconds=index, microseconds=index)
            ),
        }


def _item_batches(count: int, batch_rows: int) -> Iterator[pa.RecordBatch]:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("small", pa.int32()),
            ("big", pa.int64()),
            ("amount", pa.decimal128(18, 4)),
            ("label", pa.string()),
            ("note", pa.string()),
            ("flag", pa.bool_()),
            ("happened_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    chunk: list[dict[str, Any]] = []
    for row in _item_rows(count):
        chunk.append(row)
        if len(chunk) == batch_rows:
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist(chunk, schema=schema)


def _read_all(adapter: DatabaseAdapter, table: str, key: Sequence[str]) -> list[dict[str, Any]]:
    return [row for page in adapter.iter_pages(table, key, 10_000) for row in page]


def _assert_same_rows(actual: list[dict[str, Any]], expected: Iterator[dict[str, Any]]) -> None:
    """Compare row by row and report the first difference, not a 100,000-row diff."""
    count = 0
    for count, want in enumerate(expected, start=1):
        assert count <= len(actual), f"only {len(actual)} rows came back"
        got = actual[count - 1]
        for column, value in want.items():
            stored = got[column]
            if isinstance(value, datetime):
                assert isinstance(stored, datetime), f"row {count - 1} {column}: {stored!r}"
                assert stored.tzinfo is not None, f"row {count - 1} {column}: naive {stored!r}"
                stored = stored.astimezone(UTC)
                value = value.astimezone(UTC)
            assert stored == value, f"row {count - 1} column {column}: {stored!r} != {value!r}"
            assert type(stored) is type(value) or value is None or isinstance(value, Decimal), (
                f"row {count - 1} column {column}: {type(stored).__name__} for {value!r}"
            )
    assert len(actual) == count, f"{len(actual)} rows came back, {count} were inserted"


def _in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` on another thread (so on another connection) and return its result."""
    results: list[Any] = []
    errors: list[BaseException] = []
    thread = _thread(lambda: results.append(work()), errors)
    thread.join(_WAIT)
    assert not thread.is_alive(), "the other connection hung"
    if errors:
        raise errors[0]
    return results[0]


def _thread(work: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
