"""The DB2 storage adapter: :class:`SqlAlchemyAdapter` on ``ibm_db`` / ``ibm_db_sa``.

It overrides only the extension points whose generic SQL DB2 does not run the same way:

- ``upsert``: one ``MERGE`` statement, executed for all rows with ``executemany``;
- paging: keyset ``WHERE`` with ``FETCH FIRST n ROWS ONLY`` (``limit()`` would render ``LIMIT``);
- ``lock``: a row of ``core_locks`` selected ``FOR UPDATE WITH RS USE AND KEEP UPDATE LOCKS``
  (``with_for_update()`` does not compile in ibm_db_sa 0.4 with SQLAlchemy 2);
- errors: SQLCODE/SQLSTATE mapping from :mod:`spine_db2.errors`.

``bulk_insert`` keeps the base's chunked ``executemany`` of ``insert()`` (``chunk_size`` rows per
call; ibm_db binds each chunk as parameter arrays): ibm_db_sa does not use SQLAlchemy's
multi-row "insertmanyvalues", so this is DB2's array insert, not one statement per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from spine_db2.driver_logging import quiet_driver_logging
from spine_db2.errors import classify_db2_error
from spine_db2.statements import (
    acquire_lock_statement,
    ensure_lock_row_statement,
    merge_parameters,
    merge_statement,
    page_statement,
)
from spine_host.errors import SpineError
from spine_host.storage import schema
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_host.storage.statements import lock_holder, python_side_values
from spine_host.storage.types import utc_now

__all__ = ["Db2Adapter"]


class Db2Adapter(SqlAlchemyAdapter):
    """Storage on IBM DB2 (LUW) through ``db2+ibm_db://user:password@host:50000/DATABASE``.

    Args:
        url: a ``db2+ibm_db://`` SQLAlchemy URL.
        options: ``[storage]`` options: ``chunk_size`` (rows per executemany in ``bulk_insert``)
            and any ``sqlalchemy.create_engine`` keyword.
    """

    def __init__(self, url: str, /, **options: Any) -> None:
        quiet_driver_logging()
        super().__init__(url, **options)

    def _upsert_rows(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        key: Sequence[str],
    ) -> int:
        """Upsert with one ``MERGE`` prepared once and executed for every row."""
        columns = list(rows[0])
        insert_defaults = python_side_values(table, columns, "default")
        update_defaults = python_side_values(table, columns, "onupdate")
        statement = merge_statement(
            table,
            columns,
            key,
            connection.dialect,
            insert_defaults=list(insert_defaults),
            update_defaults=list(update_defaults),
        )
        # One value per call for every row, like the base's ON CONFLICT path.
        defaults = [*insert_defaults.values(), *update_defaults.values()]
        connection.execute(statement, merge_parameters(columns, rows, defaults))
        return len(rows)

    def _page_statement(
        self,
        table: sa.Table,
        key: Sequence[str],
        after: tuple[Any, ...] | None,
        page_size: int,
    ) -> sa.Select[Any]:
        """Keyset page: ``WHERE (key) > after ORDER BY key FETCH FIRST page_size ROWS ONLY``."""
        return page_statement(table, key, after, page_size)

    def _acquire_lock(self, connection: sa.Connection, name: str) -> None:
        """Hold the ``core_locks`` row ``name`` with an update lock until the transaction ends.

        The row is created on first use by a ``MERGE`` in its own committed transaction, so two
        first-time acquirers do not wait on each other's uncommitted insert.
        """
        locks = schema.core_locks
        self._ensure_lock_table(connection)
        select_row = acquire_lock_statement(locks, connection.dialect)
        # DB2 takes the lock when the row is fetched, not when the cursor opens: fetch it.
        if connection.execute(select_row, {"lock_name": name}).first() is None:
            try:
                with self.engine.begin() as other:
                    other.execute(
                        ensure_lock_row_statement(locks, other.dialect), {"lock_name": name}
                    )
            except sa.exc.IntegrityError:
                pass  # another process created it between our MERGE's check and insert
            connection.execute(select_row, {"lock_name": name}).one()
        connection.execute(
            sa.update(locks)
            .where(locks.c.lock_name == name)
            .values(holder=lock_holder(), acquired_at=utc_now())
        )

    def classify_error(self, exc: BaseException) -> SpineError | None:
        """SQLCODE/SQLSTATE mapping for ibm_db errors (see :mod:`spine_db2.errors`)."""
        return classify_db2_error(exc)
