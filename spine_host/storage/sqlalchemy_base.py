"""The :class:`SqlAlchemyAdapter`: the DatabaseAdapter contract on a SQLAlchemy 2 Core engine.

Transactions are explicit and never lose committed work (:mod:`spine_host.storage.transactions`
holds how): outside ``transaction()`` every call commits before it returns; inside, calls on
the same thread join one transaction. Every driver exception leaving the adapter is a classified
:class:`~spine_host.errors.SpineError` whose message never contains the URL's password.

Dialect plugins subclass this and override only the extension points (``_create_engine``,
``_reflect_table``, ``_insert_chunks``, ``_bulk_insert_rows``, ``_bulk_insert_arrow``,
``_upsert_rows``, ``_acquire_lock``, ``_page_statement``, ``_forget_table``, ``classify_error``).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.redaction import redact_url
from spine_host.storage import schema
from spine_host.storage.bulk import RowChunk, arrow_row_slices, chunk_rows
from spine_host.storage.fencing import active_fences
from spine_host.storage.keyset import KeysetPaging
from spine_host.storage.statements import (
    lock_holder,
    on_conflict_upsert,
    rows_by_columns,
    update_or_insert,
)
from spine_host.storage.transactions import TransactionScope
from spine_host.storage.types import UtcDateTime, utc_now

if TYPE_CHECKING:
    import pyarrow as pa

    from spine_host.storage.adapter import Row

__all__ = ["DEFAULT_CHUNK_SIZE", "SqlAlchemyAdapter"]

log = logging.getLogger(__name__)

#: Rows per executemany (and per Arrow slice) in ``bulk_insert`` unless ``chunk_size`` is set.
DEFAULT_CHUNK_SIZE = 10_000

# [storage] options the adapter reads itself; everything else goes to create_engine().
_ADAPTER_OPTIONS = frozenset({"chunk_size"})


class SqlAlchemyAdapter(TransactionScope, KeysetPaging):
    """A pooled SQLAlchemy engine with spine's storage operations.

    Args:
        url: a SQLAlchemy URL (``postgresql+psycopg://user:pw@host/db``).
        options: ``[storage]`` options: ``chunk_size`` (rows per bulk chunk) and any
            ``sqlalchemy.create_engine`` keyword (``pool_size``, ``connect_args``...).
    """

    def __init__(self, url: str, /, **options: Any) -> None:
        self._url = url
        self.display_url = redact_url(url)
        self.options: dict[str, Any] = dict(options)
        chunk_size = self.options.get("chunk_size", DEFAULT_CHUNK_SIZE)
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise ConfigError(
                f"storage.chunk_size: expected a positive integer, got {chunk_size!r}"
            )
        self.chunk_size = chunk_size
        self._engine: sa.Engine | None = None
        self._engine_lock = threading.Lock()
        self._start_transactions()
        self._tables: dict[str, sa.Table] = {}
        self._tables_lock = threading.Lock()
        self._lock_table_seen = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r})"

    # -- engine --------------------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, created on first use (creating it does not connect)."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    engine_options = {
                        name: value
                        for name, value in self.options.items()
                        if name not in _ADAPTER_OPTIONS
                    }
                    try:
                        self._engine = self._create_engine(self._url, engine_options)
                    except SpineError:
                        raise
                    except Exception as exc:
                        raise self._classify(exc) from exc
        return self._engine

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect name: ``sqlite``, ``postgresql``, ``ibm_db_sa``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release every pooled connection; the adapter reconnects if used again."""
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # -- statements ----------------------------------------------------------------------------

    def execute(self, statement: str | sa.Executable, params: Row | None = None) -> int:
        """Run one statement with named ``:params``; return the affected row count.

        Outside ``transaction()`` the statement is committed before this returns.
        """
        with self.errors_classified(), self._transaction(write=True) as connection:
            result = connection.execute(_executable(statement), dict(params or {}))
            count = result.rowcount
            result.close()
            return count

    def executemany(self, statement: str | sa.Executable, rows: Sequence[Row]) -> int:
        """Run one statement for each parameter row, in one transaction; return the row count."""
        if not rows:
            return 0
        with self.errors_classified(), self._transaction(write=True) as connection:
            result = connection.execute(_executable(statement), [dict(row) for row in rows])
            count = result.rowcount
            result.close()
            return count if count >= 0 else len(rows)

    def query(
        self, statement: str | sa.Executable, params: Row | None = None
    ) -> list[dict[str, Any]]:
        """Run a SELECT (a string or a Core ``select()``) and return its rows as dicts.

        A Core ``select()`` on a :mod:`~spine_host.storage.schema` table returns typed values
        (aware datetimes, parsed JSON); a string returns what the driver gives.
        """
        # Under a fence (a workflow step, a pipeline run), a statement that may write goes
        # through a write transaction, whose commit the fence guards.
        write = bool(active_fences()) and not _reads_only(statement)
        with self.errors_classified(), self._transaction(write=write) as connection:
            result = connection.execute(_executable(statement), dict(params or {}))
            # zip over plain rows: building each dict through RowMapping costs several times more.
            keys = tuple(result.keys())
            return [dict(zip(keys, row, strict=True)) for row in result]

    # -- bulk work -----------------------------------------------------------------------------

    def bulk_insert(self, table: str, rows: Iterable[Row] | Iterable[pa.RecordBatch]) -> int:
        """Insert dicts, Arrow record batches or an Arrow table in one transaction; return count.

        Rows are streamed in chunks of ``chunk_size``, so memory stays bounded by the chunk,
        not by the data.
        """
        self._table(table)  # a missing table fails before any row is read
        with self.errors_classified(), self._transaction(write=True) as connection:
            chunks = chunk_rows(rows, self.chunk_size)
            first = next(chunks, None)
            if first is None:
                return 0
            # The first chunk's columns are checked before the insert starts, while the table
            # may still be reflected anew (after ALTER TABLE .. ADD COLUMN).
            target = self._checked_table(table, _chunk_columns(first))
            return self._insert_chunks(
                connection, target, self._checked_chunks(target, itertools.chain([first], chunks))
            )

    def upsert(self, table: str, rows: Sequence[Row], key: Sequence[str]) -> int:
        """Insert rows, updating those whose ``key`` columns already exist; return the count."""
        if isinstance(key, str):
            key = [key]
        self._checked_table(table, key)
        upserted = 0
        with self.errors_classified(), self._transaction(write=True) as connection:
            for group in rows_by_columns(rows):
                target = self._checked_table(table, list(group[0]))
                missing = [name for name in key if name not in group[0]]
                if missing:
                    raise SpineError(
                        f"upsert into {table!r}: rows lack key column(s) {missing}",
                        category=ErrorCategory.VALIDATION,
                    )
                upserted += self._upsert_rows(connection, target, group, key)
        return upserted

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the named lock until the block ends; a second holder anywhere waits.

        The lock is transaction-scoped: work done on this thread inside the block commits with
        it, and a lock taken inside an outer ``transaction()`` is held until that block ends.
        """
        with self._transaction(write=True) as connection:
            with self.errors_classified():
                self._acquire_lock(connection, name)
            self._current.locks += 1
            try:
                yield
            finally:
                self._current.locks -= 1

    # -- extension points ----------------------------------------------------------------------

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> sa.Engine:
        """Build the engine; dialects add pool settings, connect arguments and event hooks."""
        engine_options: dict[str, Any] = {"pool_pre_ping": True, **options}
        try:
            return sa.create_engine(url, **engine_options)
        except TypeError as exc:
            raise ConfigError(
                f"[storage] has an option {self.display_url} does not accept: {exc}", cause=exc
            ) from exc

    def _reflect_table(self, name: str) -> sa.Table:
        """The table called ``name``: spine's own from the schema, else reflected once and cached.

        Reflected timestamp columns read and write aware UTC datetimes, like spine's own.
        """
        if name in schema.metadata.tables:
            return schema.metadata.tables[name]
        with self._tables_lock:
            cached = self._tables.get(name)
        if cached is not None:
            return cached
        table_schema, _, table_name = name.rpartition(".")
        with self._transaction(write=False) as connection:
            try:
                table = sa.Table(
                    table_name, sa.MetaData(), schema=table_schema or None, autoload_with=connection
                )
            except sa.exc.NoSuchTableError as exc:
                raise SpineError(
                    f"table {name!r} does not exist in {self._where()}"
                    + (
                        "; run `spine db upgrade` to create spine's tables"
                        if name.startswith(("core_", "workflow_", "schedule", "alert", "execution"))
                        else ""
                    ),
                    category=ErrorCategory.STORAGE,
                    context={"table": name},
                    cause=exc,
                ) from exc
        for column in table.columns:
            if isinstance(column.type, sa.DateTime):
                column.type = UtcDateTime(naive_is_utc=True, timezone=column.type.timezone)
        with self._tables_lock:
            self._tables[name] = table
        return table

    def _insert_chunks(
        self,
        connection: sa.Connection,
        table: sa.Table,
        chunks: Iterator[RowChunk | pa.RecordBatch],
    ) -> int:
        """Insert every chunk of one ``bulk_insert`` call; return the row count.

        The default inserts chunk by chunk; a dialect may stream consecutive chunks through one
        bulk operation (PostgreSQL: one COPY, so the server works while the client converts).
        """
        inserted = 0
        for chunk in chunks:
            if isinstance(chunk, RowChunk):
                inserted += self._bulk_insert_rows(connection, table, chunk.columns, chunk.rows)
            else:
                inserted += self._bulk_insert_arrow(connection, table, chunk)
        return inserted

    def _checked_chunks(
        self, table: sa.Table, chunks: Iterator[RowChunk | pa.RecordBatch]
    ) -> Iterator[RowChunk | pa.RecordBatch]:
        for chunk in chunks:
            self._check_columns(table, _chunk_columns(chunk))
            yield chunk

    def _bulk_insert_rows(
        self,
        connection: sa.Connection,
        table: sa.Table,
        columns: list[str],
        rows: list[tuple[Any, ...]],
    ) -> int:
        """Insert row tuples (in ``columns`` order) with one executemany per chunk."""
        inserted = 0
        statement = table.insert()
        for start in range(0, len(rows), self.chunk_size):
            chunk = rows[start : start + self.chunk_size]
            connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in chunk])
            inserted += len(chunk)
        return inserted

    def _bulk_insert_arrow(
        self, connection: sa.Connection, table: sa.Table, batch: pa.RecordBatch
    ) -> int:
        """Insert a record batch by converting ``chunk_size`` rows at a time to tuples."""
        inserted = 0
        for chunk in arrow_row_slices(batch, self.chunk_size):
            inserted += self._bulk_insert_rows(connection, table, chunk.columns, chunk.rows)
        return inserted

    def _upsert_rows(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        key: Sequence[str],
    ) -> int:
        """``INSERT .. ON CONFLICT (key) DO UPDATE`` (SQLite, PostgreSQL), else update-or-insert."""
        if connection.dialect.name in ("sqlite", "postgresql"):
            return on_conflict_upsert(connection, table, rows, key)
        return update_or_insert(connection, table, rows, key)

    def _acquire_lock(self, connection: sa.Connection, name: str) -> None:
        """Lock the row ``name`` of ``core_locks`` FOR UPDATE until the transaction ends.

        The row is created on first use, in its own committed transaction, so two first-time
        acquirers do not deadlock on the insert; the table is created if migrations have not run.
        """
        locks = schema.core_locks
        self._ensure_lock_table(connection)
        select_row = sa.select(locks.c.lock_name).where(locks.c.lock_name == name).with_for_update()
        if connection.execute(select_row).first() is None:
            try:
                with self.engine.begin() as other:
                    other.execute(sa.insert(locks).values(lock_name=name))
            except sa.exc.IntegrityError:
                pass  # someone else created it first: fine, it exists now
            connection.execute(select_row).one()
        connection.execute(
            sa.update(locks)
            .where(locks.c.lock_name == name)
            .values(holder=lock_holder(), acquired_at=utc_now())
        )

    def _forget_table(self, name: str, table: sa.Table) -> None:
        """Drop ``table``, cached as ``name``, so its next use reflects it again.

        Dialects that cache what they derived from a table (PostgreSQL's COPY plans) drop that
        too, after calling this.
        """
        with self._tables_lock:
            # Another thread may have reflected it anew already; keep that one.
            if self._tables.get(name) is table:
                del self._tables[name]

    def classify_error(self, exc: BaseException) -> SpineError | None:
        """Map this dialect's driver exceptions; None leaves ``exc`` to the generic rules."""
        return None

    def _table(self, name: str) -> sa.Table:
        try:
            return self._reflect_table(name)
        except SpineError:
            raise
        except Exception as exc:
            raise self._classify(exc) from exc

    def _checked_table(self, name: str, columns: Sequence[str]) -> sa.Table:
        """The table ``name``, which has ``columns``; else a VALIDATION error naming the others.

        A reflected table lacking some of them is reflected once more first: it may have been
        altered (``ADD COLUMN``) since it was cached, and a long-running process must see that.
        """
        table = self._table(name)
        if name not in schema.metadata.tables and any(column not in table.c for column in columns):
            self._forget_table(name, table)
            table = self._table(name)
        self._check_columns(table, columns)
        return table

    def _check_columns(self, table: sa.Table, columns: Iterable[str]) -> None:
        unknown = [name for name in columns if name not in table.c]
        if unknown:
            raise SpineError(
                f"table {table.name!r} has no column(s) {unknown}; "
                f"its columns: {', '.join(table.c.keys())}",
                category=ErrorCategory.VALIDATION,
                context={"table": table.name, "columns": unknown},
            )

    def _ensure_lock_table(self, connection: sa.Connection) -> None:
        """Create ``core_locks`` when migrations have not run yet, in its own transaction.

        Created apart from the caller's transaction so that the lock row can be inserted on
        another connection without waiting for this uncommitted DDL.
        """
        if self._lock_table_seen:
            return
        if not sa.inspect(connection).has_table(schema.core_locks.name):
            try:
                with self.engine.begin() as other:
                    schema.core_locks.create(other, checkfirst=True)
            except sa.exc.DBAPIError:
                # Another process created it at the same moment; the check below decides.
                log.debug("creating core_locks failed", exc_info=True)
            if not sa.inspect(self.engine).has_table(schema.core_locks.name):
                raise SpineError(
                    f"cannot create the lock table core_locks in {self._where()}; "
                    "run `spine db upgrade`",
                    category=ErrorCategory.STORAGE,
                )
        self._lock_table_seen = True


def _chunk_columns(chunk: RowChunk | pa.RecordBatch) -> list[str]:
    return chunk.columns if isinstance(chunk, RowChunk) else list(chunk.schema.names)


_READ_VERBS = ("select", "pragma", "explain", "values", "show")
_WRITE_WORDS = frozenset({"insert", "update", "delete", "merge", "create", "drop", "alter"})


def _reads_only(statement: str | sa.Executable) -> bool:
    """Whether ``statement`` surely only reads (a Core SELECT, or SQL text that starts so)."""
    if isinstance(statement, sa.Select | sa.CompoundSelect):
        return True
    text = statement if isinstance(statement, str) else getattr(statement, "text", None)
    if not isinstance(text, str):
        return False
    words = text.lower().split()
    if not words:
        return True
    if words[0] == "with":  # a CTE may end in (or hide) a write
        return not _WRITE_WORDS.intersection(word.strip("(),;") for word in words)
    return words[0] in _READ_VERBS


def _executable(statement: str | sa.Executable) -> sa.Executable:
    return sa.text(statement) if isinstance(statement, str) else statement
