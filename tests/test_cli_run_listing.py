"""``spine runs list`` on a SQLite file reads with ``sqlite3`` alone and gives what the repository
gives: the same SQL and parameters, the same rows, output and errors, byte for byte."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from spine_host import hookimpl
from spine_host.builtins.sqlite import sqlite_adapter
from spine_host.cli.context import CliState
from spine_host.cli.run_listing import (
    RUN_COLUMNS,
    RUN_DECODERS,
    SqliteRunListing,
    list_parameters,
    list_statement,
    run_listing,
)
from spine_host.cli.runs import runs_group
from spine_host.host import Host
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, WorkflowRun
from spine_host.storage import schema
from spine_host.storage.sqlite import DEFAULT_BUSY_TIMEOUT_MS
from spine_host.storage.sqlite_read_only import (
    ReadOnlySqlite,
    database_path,
    json_document,
    utc_datetime,
)
from spine_host.storage.types import JsonDocument, UtcDateTime, utc_now
from tests.plugins.workflow_fixtures import make_host, storage_plugins

NOW = utc_now().replace(microsecond=123456)
WORKFLOWS = ("listing.one", "listing.two")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/history.db"


@pytest.fixture
def host(url: str) -> Iterator[Host]:
    """A host on a SQLite file holding runs with every kind of value a column can hold."""
    made = make_host(url)
    history = WorkflowHistoryRepository(made.storage)
    statuses = [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.CANCELLED]
    for number in range(12):
        status = statuses[number % 4]
        started = NOW - timedelta(minutes=37 * number)
        history.save_run(
            WorkflowRun(
                run_id=f"{number:02d}" + "ab" * 15,
                workflow=WORKFLOWS[number % 2],
                status=status,
                params={"week_ending": "2025-12-26", "n": number, "nested": {"é": [1, 2.5]}},
                outputs={"rows": number} if status is RunStatus.COMPLETED else None,
                error=(
                    {"category": "TRANSIENT", "message": "feed ünreachable"}
                    if status is RunStatus.FAILED
                    else None
                ),
                error_category="TRANSIENT" if status is RunStatus.FAILED else None,
                triggered_by="schedule" if number % 3 else "manual",
                parent_run_id="00" + "ab" * 15 if number == 5 else None,
                schedule_name="listing.weekly" if number % 3 else None,
                # An aware time in another zone is stored as UTC, and read back so.
                logical_date=(
                    started.astimezone(timezone(timedelta(hours=-5))) if number % 3 else None
                ),
                owner=f"host:{number}" if status is RunStatus.RUNNING else None,
                heartbeat_at=started + timedelta(seconds=5),
                steps_total=3,
                steps_completed=number % 4,
                steps_failed=1 if status is RunStatus.FAILED else 0,
                steps_skipped=number % 2,
                rows_in=None if number % 5 else 10**12,
                started_at=started,
                finished_at=None if status is RunStatus.RUNNING else started + timedelta(0, 63.5),
                cancel_requested_at=started if status is RunStatus.CANCELLED else None,
                cancel_requested_by="alice@etl-1" if status is RunStatus.CANCELLED else None,
                cancel_reason="bad input file" if status is RunStatus.CANCELLED else None,
            )
        )
    yield made
    made.close()


def filters() -> list[dict[str, Any]]:
    """Every combination of the filters ``spine runs list`` passes (and no limit at all)."""
    return [
        {"workflow": workflow, "status": status, "since": since, "limit": limit}
        for workflow, status, since, limit in itertools.product(
            (None, WORKFLOWS[0]), (None, "FAILED"), (None, NOW - timedelta(hours=3)), (5, None)
        )
    ]


def named(wanted: dict[str, Any]) -> str:
    """A test id: the filters given."""
    return ",".join(name for name, value in wanted.items() if value is not None) or "none"


def repository_of(host: Host) -> WorkflowHistoryRepository:
    return WorkflowHistoryRepository(host.storage)


def fast_listing(host: Host) -> SqliteRunListing:
    listing = run_listing(host, lambda: pytest.fail("the repository was used"))
    assert isinstance(listing, SqliteRunListing)
    return listing


# -- the same statement ----------------------------------------------------------------------------


@pytest.mark.parametrize("wanted", filters(), ids=named)
def test_the_listing_sends_the_sql_and_parameters_the_repository_sends(
    host: Host, wanted: dict[str, Any]
) -> None:
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, tuple(parameters)))

    engine = host.storage.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        repository_of(host).list_runs(**wanted)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)

    [(statement, parameters)] = sent
    ours = list_statement(
        wanted["workflow"] is not None,
        wanted["status"] is not None,
        wanted["since"] is not None,
        wanted["limit"] is not None,
    )
    assert " ".join(statement.split()) == ours
    assert parameters == tuple(list_parameters(**wanted))


def test_columns_and_their_decoding_follow_the_schema() -> None:
    table = schema.workflow_runs
    assert tuple(column.name for column in table.columns) == RUN_COLUMNS
    for column in table.columns:
        if isinstance(column.type, UtcDateTime):
            assert RUN_DECODERS.get(column.name) is utc_datetime, column.name
        elif isinstance(column.type, JsonDocument):
            assert RUN_DECODERS.get(column.name) is json_document, column.name
        else:
            assert column.name not in RUN_DECODERS, column.name


def test_the_default_busy_timeout_is_the_adapter_s(url: str) -> None:
    host = Host(plugins=storage_plugins(url), load_entrypoints=False, storage_url=url, environ={})
    reader = ReadOnlySqlite.for_host(host)
    assert reader is not None
    assert reader.busy_timeout_ms == DEFAULT_BUSY_TIMEOUT_MS


# -- the same rows and output ----------------------------------------------------------------------


@pytest.mark.parametrize("wanted", filters(), ids=named)
def test_listed_runs_equal_the_repository_s(host: Host, wanted: dict[str, Any]) -> None:
    expected = repository_of(host).list_runs(**wanted)
    listed = fast_listing(host).list_runs(**wanted)
    assert listed == expected
    assert [run.to_dict(with_steps=False) for run in listed] == [
        run.to_dict(with_steps=False) for run in expected
    ]
    assert all(run.started_at is not None and run.started_at.tzinfo is UTC for run in listed)


def invoke(host: Host, *args: str) -> Result:
    state = CliState(config_path=None, host=host)
    return CliRunner().invoke(runs_group, list(args), obj=state, catch_exceptions=False)


def through_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ReadOnlySqlite, "for_host", classmethod(lambda cls, host: None))


def without_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(state: Any) -> Any:
        pytest.fail("spine runs list built the SQLAlchemy repository")

    monkeypatch.setattr("spine_host.cli.runs._history", refuse)


COMMANDS = [
    ["list"],
    ["list", "--json"],
    ["list", "--limit", "3"],
    ["list", "--workflow", WORKFLOWS[1], "--json"],
    ["list", "--status", "failed", "--since", "3h"],
    ["list", "--status", "CANCELLED", "--since", "2020-01-01", "--json"],
    ["list", "--workflow", "no.such.workflow"],  # neither registered nor recorded: exit 2
    ["list", "--status", "TIMED_OUT"],  # nothing matches
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_the_command_prints_byte_for_byte_what_it_printed_through_the_repository(
    host: Host, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        without_repository(patched)
        fast = invoke(host, *args)
    through_repository(monkeypatch)
    slow = invoke(host, *args)
    assert (fast.exit_code, fast.output) == (slow.exit_code, slow.output)
    if args[:2] == ["list", "--json"] or args == ["list"]:
        assert fast.exit_code == 0
        assert "00abab" in fast.output  # it did list runs


# -- the same errors -------------------------------------------------------------------------------


def bare_host(url: str) -> Host:
    """A host on ``url`` whose storage is not opened (so nothing creates the file)."""
    return Host(plugins=storage_plugins(url), load_entrypoints=False, storage_url=url, environ={})


def both_ways(url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Result, Result]:
    with monkeypatch.context() as patched:
        without_repository(patched)
        with bare_host(url) as host:
            fast = invoke(host, "list")
    through_repository(monkeypatch)
    with bare_host(url) as host:
        slow = invoke(host, "list")
    return fast, slow


def test_a_missing_database_is_the_same_error_and_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both_ways(f"sqlite:///{tmp_path}/missing.db", monkeypatch)
    assert (fast.exit_code, fast.output) == (slow.exit_code, slow.output)
    assert fast.exit_code == 1
    assert "missing.db does not exist yet; run `spine db upgrade`" in fast.output
    assert not (tmp_path / "missing.db").exists()


def test_missing_tables_are_the_same_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE workflow_runs (run_id TEXT)")
    connection.close()
    fast, slow = both_ways(f"sqlite:///{path}", monkeypatch)
    assert (fast.exit_code, fast.output) == (slow.exit_code, slow.output)
    assert fast.exit_code == 1
    assert "table(s) workflow_steps do not exist in sqlite:///" in fast.output


def test_a_file_sqlite_cannot_read_is_reported_by_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/garbage.db"
    (tmp_path / "garbage.db").write_bytes(b"this is no database " * 500)
    with bare_host(url) as host:
        listing = run_listing(host, lambda: repository_of(host))
        assert isinstance(listing, WorkflowHistoryRepository)  # sqlite3 gave up: fall back
        fast = invoke(host, "list")
    through_repository(monkeypatch)
    with bare_host(url) as host:
        slow = invoke(host, "list")
    assert (fast.exit_code, fast.output) == (slow.exit_code, slow.output)
    assert fast.exit_code == 1
    assert "Traceback" not in fast.output


def test_listing_writes_nothing(host: Host, url: str) -> None:
    host.close()  # the adapter's own connections closed: the file is as they left it
    path = Path(database_path(url) or "")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with bare_host(url) as reader:
        assert invoke(reader, "list").exit_code == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# -- when the repository reads instead -------------------------------------------------------------


class SqliteOverride:
    """A plugin that replaces the builtin ``sqlite`` adapter with its own."""

    @hookimpl
    def spine_register_storage(self, register: Any) -> None:
        register("sqlite", self.open, replace=True)

    def open(self, url: str, /, **options: Any) -> Any:
        return sqlite_adapter(url, **options)


@pytest.mark.parametrize(
    ("storage_url", "options", "plugins"),
    [
        ("sqlite://", {}, []),
        ("sqlite:///:memory:", {}, []),
        ("sqlite:///history.db?timeout=5", {}, []),
        ("sqlite:///file:history.db?mode=ro&uri=true", {}, []),
        ("sqlite:///with%20space.db", {}, []),
        ("sqlite+pysqlite:///history.db", {}, []),
        ("sqlite:///history.db", {"synchronous": "NORMAL"}, []),
        ("sqlite:///history.db", {"echo": True}, []),
        ("sqlite:///history.db", {"busy_timeout_ms": "abc"}, []),
        ("sqlite:///history.db", {"busy_timeout_ms": True}, []),
        ("sqlite:///history.db", {}, [SqliteOverride()]),
    ],
)
def test_anything_but_the_builtin_adapter_on_a_plain_file_reads_through_the_repository(
    storage_url: str, options: dict[str, Any], plugins: list[object]
) -> None:
    from spine_host.config import SpineConfig, StorageConfig

    host = Host(
        config=SpineConfig(storage=StorageConfig(storage_url, options)),
        plugins=[*storage_plugins(storage_url), *plugins],
        load_entrypoints=False,
        environ={},
    )
    assert ReadOnlySqlite.for_host(host) is None


@pytest.mark.parametrize(
    "storage_url",
    ["sqlite:///spine.db", "sqlite:////tmp/x/spine.db", "sqlite:///a b#c@d.db", "sqlite:///./x.db"],
)
def test_the_database_path_is_the_one_sqlalchemy_reads(storage_url: str) -> None:
    assert database_path(storage_url) == sa.make_url(storage_url).database


def test_a_busy_timeout_option_is_honoured(url: str) -> None:
    from spine_host.config import SpineConfig, StorageConfig

    host = Host(
        config=SpineConfig(storage=StorageConfig(url, {"busy_timeout_ms": 250})),
        plugins=storage_plugins(url),
        load_entrypoints=False,
        environ={},
    )
    reader = ReadOnlySqlite.for_host(host)
    assert reader is not None
    assert reader.busy_timeout_ms == 250


def test_a_naive_since_is_refused_as_the_column_type_refuses_it() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        list_parameters(None, None, datetime(2025, 12, 26), 5)
