"""The builtin SQLite adapter: ``sqlite:///spine.db`` (a file) or ``sqlite://`` (in memory).

- Every new connection gets the pragmas spine relies on: WAL (file databases), a busy timeout so
  writers wait instead of failing, and foreign keys on.
- spine owns transaction control (pysqlite's implicit transactions are off): a block that may
  write begins ``BEGIN IMMEDIATE``, so it takes the write lock up front and waits for it under
  the busy timeout, instead of failing half-way when it upgrades from reading.
- ``sqlite://`` is one shared in-memory connection (a StaticPool), so all calls see one
  database; a process-wide lock lets one thread use it at a time.
- ``lock(name)`` writes a lock row inside the block's ``BEGIN IMMEDIATE`` transaction: one
  writer at a time is exactly what a single-host lock needs.
- ``bulk_insert`` and ``upsert`` refuse values that do not fit their column's declared type
  (``'abc'`` for an INTEGER, 50 characters for a VARCHAR(10)), which SQLite itself would store:
  a VALIDATION error, as on PostgreSQL, and nothing of the call is written
  (:mod:`spine_host.storage.sqlite_value_checks`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.pool import StaticPool

from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.storage import schema
from spine_host.storage.bulk import RowChunk
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.sqlite_value_checks import TableValueChecks
from spine_host.storage.statements import lock_holder, rows_by_columns
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    import pyarrow as pa

    from spine_host.storage.adapter import Row

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "SqliteAdapter", "classify_sqlite_error"]

#: How long a writer waits for another one before "database is locked".
DEFAULT_BUSY_TIMEOUT_MS = 30_000

# [storage] options this adapter reads itself, and those it passes on to SQLAlchemy.
_SQLITE_OPTIONS = ("busy_timeout_ms", "synchronous")
_ENGINE_OPTIONS = ("chunk_size", "echo", "connect_args")
_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})


class SqliteAdapter(SqlAlchemyAdapter):
    """SQLite through the standard library's ``sqlite3``.

    Options (``[storage]``): ``busy_timeout_ms`` (default 30000), ``synchronous`` (default
    ``FULL``: a committed transaction survives a power cut), ``chunk_size``, ``echo`` (log every
    statement) and, from Python, ``connect_args`` for ``sqlite3.connect``. Any other key is a
    ConfigError naming it, so a misspelt option is never silently ignored.
    """

    def __init__(self, url: str, /, **options: Any) -> None:
        unknown = sorted(set(options) - {*_SQLITE_OPTIONS, *_ENGINE_OPTIONS})
        if unknown:
            allowed = ", ".join(sorted({*_SQLITE_OPTIONS, *_ENGINE_OPTIONS} - {"connect_args"}))
            raise ConfigError(
                f"storage: unknown key {unknown[0]!r} for SQLite; allowed keys: {allowed}"
            )
        if not isinstance(options.get("echo", False), bool):
            raise ConfigError(f"storage.echo = {options['echo']!r}: expected true or false")
        timeout = options.pop("busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            raise ConfigError(
                f"storage.busy_timeout_ms = {timeout!r}: expected a whole number of "
                "milliseconds >= 0 (e.g. 30000)"
            )
        self.busy_timeout_ms = timeout
        synchronous = str(options.pop("synchronous", "FULL")).upper()
        if synchronous not in _SYNCHRONOUS:
            raise ConfigError(
                f"storage.synchronous: expected one of {sorted(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        self.synchronous = synchronous
        super().__init__(url, **options)
        self.in_memory = _in_memory(url)
        # The in-memory database is one connection: threads take turns with it.
        self._memory_lock = threading.RLock() if self.in_memory else None
        self._value_checks = TableValueChecks()
        self._known_to_exist = False

    def upsert(self, table: str, rows: Sequence[Row], key: Sequence[str]) -> int:
        """Insert rows, updating those whose ``key`` already exists; values must fit the columns.

        Raises:
            SpineError: VALIDATION naming the table, row, column and declared type when a value
                does not fit its column; nothing of the call is written then.
        """
        if not isinstance(rows, Sequence):
            rows = list(rows)
        with self.errors_classified(), self._transaction(write=True) as connection:
            offset = 0
            for group in rows_by_columns(rows):
                target = self._checked_table(table, list(group[0]))
                self._value_checks.check_rows(connection, target, group, offset=offset)
                offset += len(group)
            return super().upsert(table, rows, key)  # joins this transaction

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> sa.Engine:
        engine_options: dict[str, Any] = dict(options)
        connect_args = dict(engine_options.pop("connect_args", {}))
        # Connections move between threads through the pool; each is used by one at a time.
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", self.busy_timeout_ms / 1000)
        if self.in_memory:
            engine_options.setdefault("poolclass", StaticPool)
        try:
            engine = sa.create_engine(url, connect_args=connect_args, **engine_options)
        except TypeError as exc:
            raise ConfigError(f"[storage] has an option SQLite does not accept: {exc}") from exc
        sa.event.listen(engine, "connect", self._on_connect)
        sa.event.listen(engine, "begin", _on_begin)
        return engine

    def _on_connect(self, dbapi_connection: Any, connection_record: Any) -> None:
        # Take transaction control from pysqlite: it would otherwise BEGIN late and COMMIT
        # on its own before some statements.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not self.in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={self.synchronous}")
        finally:
            cursor.close()

    def database_missing(self) -> str | None:
        """The path of the database file when it does not exist yet (connecting would create
        it empty), else None. Commands that only read check it first (``require_tables``)."""
        if self.in_memory or self._known_to_exist:
            return None
        database = str(sa.make_url(self._url).database or "")
        if database.startswith("file:"):
            return None  # a URI: its own mode decides
        if os.path.exists(database):
            self._known_to_exist = True
            return None
        return database

    def _checkout(self, *, write: bool) -> sa.Connection:
        if self._memory_lock is None:
            return super()._checkout(write=write)
        self._memory_lock.acquire()
        try:
            return super()._checkout(write=write)
        except BaseException:
            self._memory_lock.release()
            raise

    def _release(self, connection: sa.Connection) -> None:
        try:
            super()._release(connection)
        finally:
            if self._memory_lock is not None:
                self._memory_lock.release()

    def _insert_chunks(
        self,
        connection: sa.Connection,
        table: sa.Table,
        chunks: Iterator[RowChunk | pa.RecordBatch],
    ) -> int:
        """Insert every chunk once its values are known to fit their columns."""
        checked = self._value_checks.checked_chunks(connection, table, chunks)
        return super()._insert_chunks(connection, table, checked)

    def _acquire_lock(self, connection: sa.Connection, name: str) -> None:
        """Write the lock row inside this block's ``BEGIN IMMEDIATE`` transaction."""
        locks = schema.core_locks
        self._ensure_lock_table(connection)
        statement = sqlite_insert(locks).values(
            lock_name=name, holder=lock_holder(), acquired_at=utc_now()
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[locks.c.lock_name],
                set_={
                    "holder": statement.excluded.holder,
                    "acquired_at": statement.excluded.acquired_at,
                },
            )
        )

    def _ensure_lock_table(self, connection: sa.Connection) -> None:
        """Create ``core_locks`` inside the caller's transaction: SQLite has one writer anyway."""
        if self._lock_table_seen:
            return
        if sa.inspect(connection).has_table(schema.core_locks.name):
            self._lock_table_seen = True
        else:  # not cached: a rollback of this block takes the new table with it
            schema.core_locks.create(connection)

    def classify_error(self, exc: BaseException) -> SpineError | None:
        """SQLite's errors: locked database is TRANSIENT, constraint failures are not retryable."""
        return classify_sqlite_error(exc, where=self._where())


def classify_sqlite_error(exc: BaseException, *, where: str = "sqlite") -> SpineError | None:
    """Map a ``sqlite3`` error (bare or wrapped by SQLAlchemy) to the taxonomy; else None."""
    original = getattr(exc, "orig", None) or exc
    if not isinstance(original, sqlite3.Error):
        return None
    text = str(original)
    context: dict[str, object] = {"error_type": type(original).__name__}
    statement = getattr(exc, "statement", None)
    if isinstance(statement, str):
        context["statement"] = " ".join(statement.split())[:300]
    lowered = text.lower()
    if "database is locked" in lowered or "database table is locked" in lowered:
        context["database_locked"] = True  # another connection holds the write lock
        return SpineError(
            f"{where}: {text} (another writer held the database longer than the busy timeout)",
            category=ErrorCategory.TRANSIENT,
            context=context,
            cause=exc,
        )
    if isinstance(original, sqlite3.IntegrityError):
        return SpineError(
            f"{where}: constraint violated: {text}",
            category=ErrorCategory.STORAGE,
            retryable=False,
            context=context,
            cause=exc,
        )
    if "no such column" in lowered:  # a table from an older spine-host: not migrated yet
        return SpineError(
            f"{where}: {text}; the database schema is older than this spine-host: run "
            "`spine db upgrade`",
            category=ErrorCategory.STORAGE,
            retryable=False,
            context=context,
            cause=exc,
        )
    if "no such table" in lowered:
        return SpineError(
            f"{where}: {text}; run `spine db upgrade` to create spine's tables",
            category=ErrorCategory.STORAGE,
            retryable=False,
            context=context,
            cause=exc,
        )
    return SpineError(
        f"{where}: {type(original).__name__}: {text}",
        category=ErrorCategory.STORAGE,
        context=context,
        cause=exc,
    )


def _on_begin(connection: sa.Connection) -> None:
    # Blocks that may write take the write lock at BEGIN, where the busy timeout applies.
    # A read outside a block is one statement, which SQLite already runs as its own read
    # transaction: no BEGIN/COMMIT round trip for it.
    if connection.get_execution_options().get("spine_write", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _in_memory(url: str) -> bool:
    database = sa.make_url(url).database
    return database in (None, "", ":memory:") or str(database).startswith("file::memory:")
