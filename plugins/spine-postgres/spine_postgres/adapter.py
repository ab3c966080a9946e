"""``PostgresAdapter``: the SQLAlchemy base adapter, specialised for PostgreSQL with psycopg 3.

What differs from the generic base: a QueuePool sized from ``[storage]`` with pre-ping and a
connect timeout, bulk inserts through binary COPY with declared column types, transaction-scoped
advisory locks, keyset paging by row-value comparison, and psycopg's errors mapped to the spine
taxonomy with the server named and the password redacted. Upserts use the base's
``INSERT .. ON CONFLICT (key) DO UPDATE``, which is already PostgreSQL's own statement.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy

from spine_host.errors import ConfigError, SpineError
from spine_host.redaction import redact_url
from spine_host.storage.bulk import RowChunk
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.statements import has_sql_side_default, python_side_values
from spine_host.storage.types import JsonDocument, UtcDateTime
from spine_postgres.copy import CopyPlan, arrow_rows, copy_rows, int_range_check, plan_copy
from spine_postgres.errors import PostgresServer, classify_postgres_error, driver_error
from spine_postgres.options import PostgresOptions

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

__all__ = ["PostgresAdapter", "advisory_lock_key", "psycopg_url"]

_PlanKey = tuple[str | None, str, tuple[str, ...]]

# Column types whose SQLAlchemy bind processing binary COPY can skip: psycopg encodes the
# Python value exactly as the processor would have. Anything else goes through INSERT.
_COPY_SAFE_DECORATORS = (UtcDateTime, JsonDocument)


class PostgresAdapter(SqlAlchemyAdapter):
    """A pooled PostgreSQL database, through psycopg 3 and SQLAlchemy Core.

    Args:
        url: ``postgresql://user:password@host:port/database`` (or ``postgresql+psycopg://``).
        **options: the ``[storage]`` options, see :class:`~spine_postgres.options.PostgresOptions`.

    Raises:
        ConfigError: for a URL naming another driver or an unknown or invalid option.
    """

    def __init__(self, url: str, /, **options: Any) -> None:
        self._settings = PostgresOptions.from_mapping(options)
        self._server = PostgresServer.from_url(url)
        self._copy_plans: dict[_PlanKey, CopyPlan | None] = {}
        self._copy_plans_lock = threading.Lock()
        super().__init__(psycopg_url(url), **options)

    @property
    def settings(self) -> PostgresOptions:
        """The structured ``[storage]`` options this adapter runs with."""
        return self._settings

    def classify_error(self, exc: BaseException) -> SpineError | None:
        """Map psycopg errors, naming this adapter's server; None for anything else."""
        if _is_connect_failure(exc):
            # The base prefixes "cannot connect to postgresql at host:port/db" itself.
            return classify_postgres_error(exc)
        return classify_postgres_error(exc, server=self._server)

    # -- extension points of SqlAlchemyAdapter ---------------------------------------------------

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> sqlalchemy.Engine:
        # ``options`` were validated into ``self._settings``; build from the typed form.
        url_options = sqlalchemy.engine.make_url(url).query.get("options")
        if isinstance(url_options, tuple):  # ``?options=..&options=..``: libpq takes the last
            url_options = url_options[-1]
        engine = sqlalchemy.create_engine(url, **self._settings.engine_arguments(url_options))
        sqlalchemy.event.listen(engine, "connect", _pin_session_to_utc)
        return engine

    def _insert_chunks(
        self,
        connection: sqlalchemy.Connection,
        table: sqlalchemy.Table,
        chunks: Iterator[RowChunk | pa.RecordBatch],
    ) -> int:
        """Stream each run of row chunks sharing one column list through a single COPY.

        One COPY per chunk would wait at every chunk's end for the server to finish it; one COPY
        for the run lets the server work while the client converts the next rows.
        """
        inserted = 0
        # Lazily: a run's chunks are produced as COPY consumes them, so memory stays bounded.
        for (kind, _), run in itertools.groupby(chunks, key=_run_key):
            if kind == "arrow":
                batches = (chunk for chunk in run if not isinstance(chunk, RowChunk))
                inserted += self._copy_arrow_batches(connection, table, batches)
            else:
                row_chunks = (chunk for chunk in run if isinstance(chunk, RowChunk))
                inserted += self._copy_row_chunks(connection, table, row_chunks)
        return inserted

    def _copy_arrow_batches(
        self,
        connection: sqlalchemy.Connection,
        table: sqlalchemy.Table,
        batches: Iterator[pa.RecordBatch],
    ) -> int:
        first = next(batches)
        columns = list(first.schema.names)
        plan = self._copy_plan(connection, table, columns)
        if plan is None or _client_defaults(table, columns) != {}:
            # Columns COPY cannot write, or Python-side defaults to fill: the generic path.
            return sum(
                super(PostgresAdapter, self)._bulk_insert_arrow(connection, table, batch)
                for batch in itertools.chain([first], batches)
            )
        # Batches of one schema declare the same wire types: the first batch's serve them all.
        types, first_rows = arrow_rows(first, plan, self.chunk_size)  # ints range-checked
        rows = itertools.chain(first_rows, self._arrow_rest(plan, batches, first.num_rows + 1))
        return self._copy(connection, table, plan, rows, types, ranges_checked=True)

    def _arrow_rest(
        self, plan: CopyPlan, batches: Iterator[pa.RecordBatch], first_row: int
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of the batches after the first, converted lazily, numbered from first_row."""
        for batch in batches:
            yield from arrow_rows(batch, plan, self.chunk_size, first_row=first_row)[1]
            first_row += batch.num_rows

    def _copy_row_chunks(
        self,
        connection: sqlalchemy.Connection,
        table: sqlalchemy.Table,
        chunks: Iterator[RowChunk],
    ) -> int:
        first = next(chunks)
        chunks = itertools.chain([first], chunks)
        columns = first.columns
        defaults = _client_defaults(table, columns)
        plan = (
            None if defaults is None else self._copy_plan(connection, table, [*columns, *defaults])
        )
        if plan is None or defaults is None:
            return sum(
                super(PostgresAdapter, self)._bulk_insert_rows(
                    connection, table, chunk.columns, chunk.rows
                )
                for chunk in chunks
            )
        rows: Iterator[tuple[Any, ...]] = itertools.chain.from_iterable(
            _range_checked_chunks(plan, chunks)
        )
        if defaults:
            # COPY skips SQLAlchemy's Python-side defaults (created_at=utc_now): supply them.
            extra = tuple(defaults.values())
            rows = (row + extra for row in rows)
        return self._copy(connection, table, plan, rows, ranges_checked=True)

    def _acquire_lock(self, connection: sqlalchemy.Connection, name: str) -> None:
        # Transaction-scoped: released at commit or rollback, never left behind on a pooled
        # connection, and safe behind PgBouncer in transaction pooling mode.
        connection.execute(
            sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_lock_key(name)}
        )

    def _page_statement(
        self,
        table: sqlalchemy.Table,
        key: Sequence[str],
        after: tuple[Any, ...] | None,
        page_size: int,
    ) -> sqlalchemy.Select[Any]:
        key_columns = [table.c[name] for name in key]
        statement = sqlalchemy.select(table).order_by(*key_columns).limit(page_size)
        if after is not None:
            # A row-value comparison, which PostgreSQL answers with one index range scan.
            bound = [
                sqlalchemy.literal(value, type_=column.type)
                for column, value in zip(key_columns, after, strict=True)
            ]
            statement = statement.where(sqlalchemy.tuple_(*key_columns) > sqlalchemy.tuple_(*bound))
        return statement

    def _forget_table(self, name: str, table: sqlalchemy.Table) -> None:
        super()._forget_table(name, table)
        # A plan holds the column types read with the old reflection: a column dropped and added
        # again with another type keeps its name, so a plan keyed by names alone would go stale.
        with self._copy_plans_lock:
            for key in [key for key in self._copy_plans if key[:2] == (table.schema, table.name)]:
                del self._copy_plans[key]

    # -- binary COPY ------------------------------------------------------------------------------

    def _copy_plan(
        self, connection: sqlalchemy.Connection, table: sqlalchemy.Table, columns: list[str]
    ) -> CopyPlan | None:
        """The cached COPY plan for these columns, or None when COPY cannot write them."""
        key: _PlanKey = (table.schema, table.name, tuple(columns))
        with self._copy_plans_lock:
            if key in self._copy_plans:
                return self._copy_plans[key]
        plan = None
        if all(_copy_safe(table.c[name].type) for name in columns):
            plan = plan_copy(_driver_connection(connection), table.schema, table.name, columns)
        with self._copy_plans_lock:
            self._copy_plans[key] = plan
        return plan

    def _copy(
        self,
        connection: sqlalchemy.Connection,
        table: sqlalchemy.Table,
        plan: CopyPlan,
        rows: Iterable[Sequence[Any]],
        types: Sequence[int] | None = None,
        *,
        ranges_checked: bool = False,
    ) -> int:
        try:
            return copy_rows(
                _driver_connection(connection),
                plan,
                rows,
                types,
                ranges_checked=ranges_checked,
            )
        except Exception:
            # The table may have changed since its column types were read; read them again.
            with self._copy_plans_lock:
                self._copy_plans.pop((table.schema, table.name, plan.columns), None)
            raise


def psycopg_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named: ``postgresql://`` -> ``postgresql+psycopg://``.

    Raises:
        ConfigError: when the URL is not ``postgresql://`` or names another driver (psycopg2,
            asyncpg, pg8000).
    """
    scheme, separator, rest = url.partition("://")
    dialect, _, driver = scheme.partition("+")
    if not separator or dialect != "postgresql":
        raise ConfigError(f"storage url {redact_url(url)!r} is not a postgresql:// URL")
    if driver and driver != "psycopg":
        raise ConfigError(
            f"storage url {redact_url(url)!r} names driver {driver!r}; spine-postgres uses "
            "psycopg 3: write postgresql:// or postgresql+psycopg://"
        )
    return f"postgresql+psycopg://{rest}"


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock``, the same in every process.

    ``hashtext`` is an internal function whose results may change between server versions;
    a BLAKE2b digest of the name does not.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _run_key(chunk: RowChunk | pa.RecordBatch) -> tuple[str, object]:
    """Consecutive chunks with one key share a COPY: row chunks by columns, batches by schema."""
    if isinstance(chunk, RowChunk):
        return ("rows", tuple(chunk.columns))
    return ("arrow", chunk.schema)


def _client_defaults(table: sqlalchemy.Table, columns: Sequence[str]) -> dict[str, Any] | None:
    """Values of the Python-side defaults of the columns not given (COPY skips them).

    None when one of them is a sequence or a SQL expression, which only INSERT can apply.
    """
    if has_sql_side_default(table, columns):
        return None
    return python_side_values(table, columns)


def _pin_session_to_utc(driver_connection: Any, _record: Any) -> None:
    """Set the new session's time zone to UTC.

    The engine's ``-c TimeZone=UTC`` option does not hold against libpq's ``PGTZ``, which the
    server applies after it; a ``timestamp`` column would then be shifted by the client's zone.
    """
    autocommit = driver_connection.autocommit
    # Outside a transaction: the pool's reset-on-return rollback would undo the SET.
    driver_connection.autocommit = True
    try:
        driver_connection.execute("SET TIME ZONE 'UTC'")
    finally:
        driver_connection.autocommit = autocommit


def _copy_safe(column_type: sqlalchemy.types.TypeEngine[Any]) -> bool:
    if isinstance(column_type, sqlalchemy.Enum | sqlalchemy.PickleType):
        return False
    if isinstance(column_type, sqlalchemy.TypeDecorator):
        return isinstance(column_type, _COPY_SAFE_DECORATORS)
    return True


def _is_connect_failure(exc: BaseException) -> bool:
    error = driver_error(exc)
    if error is None or getattr(error, "sqlstate", None):
        return False
    import psycopg

    return isinstance(error, psycopg.errors.ConnectionTimeout) or (
        isinstance(error, psycopg.OperationalError) and "connection failed" in str(error)
    )


def _driver_connection(connection: sqlalchemy.Connection) -> psycopg.Connection[Any]:
    driver_connection: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
    return driver_connection


def _range_checked_chunks(plan: CopyPlan, chunks: Iterable[RowChunk]) -> Iterator[list[Any]]:
    """Each chunk's rows, once their smallint/integer values are known to fit (a chunk at a
    time, at C speed: psycopg's binary dumpers would wrap an int out of range)."""
    check = int_range_check(plan)
    first = 1
    for chunk in chunks:
        if check is not None:
            check(chunk.rows, first)
        first += len(chunk.rows)
        yield chunk.rows
