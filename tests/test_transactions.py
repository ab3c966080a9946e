"""Transactions never keep half of a failed part, and locks last as long as their block.

Runs on a SQLite file and on PostgreSQL: the two databases fail differently inside a
transaction (SQLite undoes only the failing statement, PostgreSQL aborts everything), and spine
must give the same answer on both.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from spine_host import ErrorCategory, Host, SpineError
from spine_host.storage.adapter import DatabaseAdapter


@pytest.fixture(params=["sqlite", "postgresql"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseAdapter]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tx.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    host = Host(storage_url=url, environ={})
    adapter = host.open_storage(url)
    table = f"tx_{uuid.uuid4().hex[:8]}"
    adapter.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, day INTEGER)")
    adapter.table = table  # type: ignore[attr-defined]
    yield adapter
    adapter.execute(f"DROP TABLE {table}")
    adapter.close()


def ids(adapter: DatabaseAdapter) -> list[int]:
    rows = adapter.query(f"SELECT id FROM {adapter.table} ORDER BY id")  # type: ignore[attr-defined]
    return [row["id"] for row in rows]


def test_a_caught_failure_inside_a_transaction_rolls_the_whole_block_back(
    adapter: DatabaseAdapter,
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    adapter.execute(f"INSERT INTO {table} (id) VALUES (1)")  # committed before the block
    block = adapter.transaction()
    block.__enter__()
    adapter.execute(f"INSERT INTO {table} (id) VALUES (10)")
    # 2 and 3 are new, 1 collides: the bulk insert fails, and the caller catches it
    with contextlib.suppress(SpineError):
        adapter.bulk_insert(table, [{"id": 2}, {"id": 3}, {"id": 1}])
    with pytest.raises(SpineError, match="rolled back, nothing in it was saved") as raised:
        block.__exit__(None, None, None)  # the block ends as if all was well
    assert raised.value.category is ErrorCategory.STORAGE
    assert ids(adapter) == [1]


def test_commit_inside_lock_is_refused_because_it_would_release_the_lock(
    adapter: DatabaseAdapter,
) -> None:
    with adapter.lock("nightly"), pytest.raises(SpineError, match=r"commit\(\) inside lock\(\)"):
        adapter.commit()


def test_lock_still_excludes_a_second_holder_after_a_refused_commit(
    adapter: DatabaseAdapter,
) -> None:
    entered = threading.Event()

    def second_holder() -> None:
        with adapter.lock("nightly"):
            entered.set()

    with adapter.lock("nightly"):
        with pytest.raises(SpineError):
            adapter.commit()
        thread = threading.Thread(target=second_holder)
        thread.start()
        time.sleep(0.5)
        assert not entered.is_set()
    thread.join(timeout=10)
    assert entered.is_set()


def test_paging_by_a_key_that_repeats_across_pages_is_refused_not_lossy(
    adapter: DatabaseAdapter,
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    adapter.bulk_insert(table, [{"id": i, "day": day} for i, day in enumerate([1, 2, 2, 3])])
    with pytest.raises(SpineError, match=r"key \(day\) is not unique") as raised:
        list(adapter.iter_pages(table, ["day"], page_size=2))
    assert raised.value.category is ErrorCategory.VALIDATION
    pages = list(adapter.iter_pages(table, ["id"], page_size=2))
    assert [[row["id"] for row in page] for page in pages] == [[0, 1], [2, 3]]


def test_driver_error_text_with_row_values_stays_out_of_history(adapter: DatabaseAdapter) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    adapter.execute(f"CREATE UNIQUE INDEX {table}_day ON {table} (day)")
    insert = f"INSERT INTO {table} (id, day) VALUES (:id, :day)"
    adapter.execute(insert, {"id": 1, "day": 424242})
    with pytest.raises(SpineError) as raised:
        adapter.execute(insert, {"id": 2, "day": 424242})
    stored = str(raised.value.to_dict())
    assert "424242" not in stored
    assert "withheld" in stored
    assert raised.value.to_dict()["category"] == "STORAGE"


def test_paging_by_a_key_that_holds_null_is_refused_not_lossy(adapter: DatabaseAdapter) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    days = [1, None, 2, None, 3, 4]
    adapter.bulk_insert(table, [{"id": i, "day": day} for i, day in enumerate(days)])

    # NULL > anything is never true: PostgreSQL (NULLs last) would lose them after page one,
    # SQLite (NULLs first) everything after them.
    with pytest.raises(SpineError, match="key column") as raised:
        list(adapter.iter_pages(table, ["day"], page_size=2))
    assert raised.value.category is ErrorCategory.VALIDATION
    assert "key column(s) day hold NULL; keyset paging would skip those rows" in str(raised.value)
    with pytest.raises(SpineError, match=r"key column\(s\) day hold NULL"):
        list(adapter.iter_pages(table, ["id", "day"], page_size=2))
    pages = list(adapter.iter_pages(table, ["id"], page_size=4))
    assert [row["id"] for page in pages for row in page] == [0, 1, 2, 3, 4, 5]


def test_a_column_added_while_running_is_written_without_a_restart(
    adapter: DatabaseAdapter,
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    adapter.bulk_insert(table, [{"id": 1, "day": 1}])  # the table's columns are now known

    adapter.execute(f"ALTER TABLE {table} ADD COLUMN note TEXT")
    adapter.bulk_insert(table, [{"id": 2, "day": 2, "note": "inserted"}])
    adapter.upsert(table, [{"id": 1, "note": "upserted"}], key=["id"])

    rows = adapter.query(f"SELECT id, note FROM {table} ORDER BY id")
    assert rows == [{"id": 1, "note": "upserted"}, {"id": 2, "note": "inserted"}]
    with pytest.raises(SpineError, match=r"has no column\(s\) \['nope'\]") as raised:
        adapter.bulk_insert(table, [{"id": 3, "nope": 1}])
    assert raised.value.category is ErrorCategory.VALIDATION


def test_a_column_added_again_with_another_type_is_written_as_that_type(
    adapter: DatabaseAdapter,
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    adapter.bulk_insert(table, [{"id": 1, "day": 1}])  # PostgreSQL plans COPY for (id, day)
    adapter.execute(f"ALTER TABLE {table} DROP COLUMN day")
    adapter.execute(f"ALTER TABLE {table} ADD COLUMN day TEXT")
    adapter.execute(f"ALTER TABLE {table} ADD COLUMN note TEXT")

    adapter.bulk_insert(table, [{"id": 2, "day": "monday", "note": "new"}])
    adapter.bulk_insert(table, [{"id": 3, "day": "tuesday"}])  # (id, day) again, now text

    rows = adapter.query(f"SELECT id, day FROM {table} WHERE id > 1 ORDER BY id")
    assert rows == [{"id": 2, "day": "monday"}, {"id": 3, "day": "tuesday"}]


def test_after_rollback_runs_once_the_outermost_block_has_rolled_back(
    adapter: DatabaseAdapter,
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    happened: list[str] = []

    def keep_a_record() -> None:
        happened.append("callback")
        # On SQLite this write needs the lock the rolled-back block held: it must be free now.
        adapter.execute(f"INSERT INTO {table} (id) VALUES (99)")

    def refused_load() -> None:
        with adapter.transaction():
            adapter.execute(f"INSERT INTO {table} (id) VALUES (1)")
            with adapter.transaction():  # nested: joins the outer block
                adapter.after_rollback(keep_a_record)  # type: ignore[attr-defined]
                adapter.execute(f"INSERT INTO {table} (id) VALUES (2)")
            happened.append("inner block ended")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        refused_load()
    assert happened == ["inner block ended", "callback"]
    assert ids(adapter) == [99]


def test_after_rollback_is_dropped_by_commit_and_by_a_committed_block(
    adapter: DatabaseAdapter,
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    called: list[str] = []
    register = adapter.after_rollback  # type: ignore[attr-defined]

    def partly_committed_load() -> None:
        with adapter.transaction():
            register(lambda: called.append("before commit()"))
            adapter.execute(f"INSERT INTO {table} (id) VALUES (1)")
            adapter.commit()
            register(lambda: called.append("after commit()"))
            adapter.execute(f"INSERT INTO {table} (id) VALUES (2)")
            raise RuntimeError("refused")

    with adapter.transaction():
        register(lambda: called.append("in a committed block"))
    with pytest.raises(RuntimeError, match="refused"):
        partly_committed_load()
    register(lambda: called.append("outside a block"))  # nothing open: nothing to roll back

    assert called == ["after commit()"]
    assert ids(adapter) == [1]


def test_a_failing_after_rollback_callback_is_logged_and_the_others_still_run(
    adapter: DatabaseAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    table = adapter.table  # type: ignore[attr-defined]
    adapter.execute(f"INSERT INTO {table} (id) VALUES (1)")

    def broken() -> None:
        raise ValueError("the record could not be built")

    def load_with_a_caught_failure() -> None:
        with adapter.transaction():
            adapter.after_rollback(broken)  # type: ignore[attr-defined]
            adapter.after_rollback(  # type: ignore[attr-defined]
                lambda: adapter.execute(f"INSERT INTO {table} (id) VALUES (7)")
            )
            with contextlib.suppress(SpineError):  # caught, but the block must roll back
                adapter.execute(f"INSERT INTO {table} (id) VALUES (1)")

    with pytest.raises(SpineError, match="rolled back, nothing in it was saved"):
        load_with_a_caught_failure()
    assert ids(adapter) == [1, 7]
    assert "an after_rollback callback failed" in caplog.text
    assert "the record could not be built" in caplog.text


def check_block_after_caught_failure(url: str) -> None:
    from spine_host.errors import SpineError
    from tests.plugins.workflow_fixtures import make_host

    host = make_host(url)
    storage = host.storage

    def block() -> None:
        with storage.transaction():
            storage.execute("INSERT INTO t_after (id) VALUES (1)")
            with pytest.raises(SpineError):
                storage.execute("INSERT INTO t_after (id) VALUES (1)")  # duplicate key
            with pytest.raises(SpineError, match="this transaction block already failed"):
                storage.execute("INSERT INTO t_after (id) VALUES (2)")

    try:
        storage.execute("CREATE TABLE IF NOT EXISTS t_after (id INTEGER PRIMARY KEY)")
        storage.execute("DELETE FROM t_after")
        with pytest.raises(SpineError, match="rolled back"):
            block()
        assert storage.query("SELECT id FROM t_after") == []
    finally:
        host.close()


def test_after_a_caught_failure_the_block_says_it_failed_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check_block_after_caught_failure(f"sqlite:///{tmp_path}/t.db")


def test_after_a_caught_failure_the_block_says_it_failed_on_postgresql(postgres_url: str) -> None:
    check_block_after_caught_failure(postgres_url)
