"""Keyset paging: read a table in key order, a page at a time, never by OFFSET.

``WHERE (k1, k2) > last ORDER BY k1, k2 LIMIT n`` reads each page by index, however deep, and
never shifts under concurrent inserts as OFFSET does. It is only correct when the key is unique
and never NULL, so both are checked rather than assumed: a key repeating across a page boundary
or holding NULL would silently skip rows.

:class:`KeysetPaging` is a mixin of :class:`~spine_host.storage.sqlalchemy_base.SqlAlchemyAdapter`;
dialects override ``_page_statement`` (DB2 renders ``FETCH FIRST``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage.statements import key_may_hold_null, keyset_after, null_key_probe

__all__ = ["KeysetPaging"]


class KeysetPaging:
    """``iter_pages`` and the page statement dialects may override."""

    if TYPE_CHECKING:  # provided by the adapter and its TransactionScope

        @property
        def dialect(self) -> str: ...

        def _checked_table(self, name: str, columns: Sequence[str]) -> sa.Table: ...

        def _transaction(self, *, write: bool) -> AbstractContextManager[sa.Connection]: ...

        def errors_classified(self) -> AbstractContextManager[None]: ...

    def iter_pages(
        self, table: str, key: Sequence[str], page_size: int = 1000
    ) -> Iterator[list[dict[str, Any]]]:
        """Read a table in ``key`` order, one page at a time, by keyset (never by offset).

        Each page is its own short read, so no connection is held while the caller works on a
        page. The key columns must be unique together and not NULL, or pages would skip rows:
        a key value that repeats across a page boundary is a VALIDATION error, and so is a NULL
        in a key column that may hold one (one ``LIMIT 1`` query before the first page).
        """
        if isinstance(key, str):
            key = [key]
        if page_size < 1 or not key:
            raise SpineError(
                f"iter_pages needs key columns and page_size >= 1; got {key!r}, {page_size}",
                category=ErrorCategory.VALIDATION,
            )
        target = self._checked_table(table, key)
        self._refuse_null_keys(table, target, key)
        after: tuple[Any, ...] | None = None
        while True:
            # One row more than a page: it shows whether the last key goes on into the next page.
            statement = self._page_statement(target, key, after, page_size + 1)
            with self.errors_classified(), self._transaction(write=False) as connection:
                result = connection.execute(statement)
                names = tuple(result.keys())
                page = [dict(zip(names, row, strict=True)) for row in result]
            extra = page[page_size] if len(page) > page_size else None
            page = page[:page_size]
            if extra is not None and _key_of(extra, key) == _key_of(page[-1], key):
                raise SpineError(
                    f"iter_pages over {table!r}: key ({', '.join(key)}) is not unique: "
                    f"{_key_of(extra, key)!r} repeats across pages, so paging by it would skip "
                    "rows; page by a unique key",
                    category=ErrorCategory.VALIDATION,
                    context={"table": table, "key": list(key)},
                )
            if page:
                yield page
            if extra is None:
                return
            after = _key_of(page[-1], key)

    def _page_statement(
        self,
        table: sa.Table,
        key: Sequence[str],
        after: tuple[Any, ...] | None,
        page_size: int,
    ) -> sa.Select[Any]:
        """``WHERE (k1, k2) > after ORDER BY k1, k2 LIMIT page_size`` in portable OR/AND form."""
        columns = [table.c[name] for name in key]
        statement = sa.select(table).order_by(*columns).limit(page_size)
        if after is not None:
            statement = statement.where(keyset_after(columns, after))
        return statement

    def _refuse_null_keys(self, name: str, table: sa.Table, key: Sequence[str]) -> None:
        """Refuse paging by key columns that hold NULL: ``key > after`` is never true for NULL.

        Where those rows sort depends on the dialect (last on PostgreSQL and DB2, first on
        SQLite), so without this check a read would lose them on one database and not another.
        """
        dialect = self.dialect
        nullable = [
            table.c[column] for column in key if key_may_hold_null(table.c[column], dialect)
        ]
        if not nullable:
            return
        with self.errors_classified(), self._transaction(write=False) as connection:
            row = connection.execute(null_key_probe(nullable)).first()
        if row is not None:
            nulls = [
                column.name for column, value in zip(nullable, row, strict=True) if value is None
            ]
            raise SpineError(
                f"iter_pages over {name!r}: key column(s) {', '.join(nulls)} hold NULL; keyset "
                "paging would skip those rows; page by a NOT NULL key",
                category=ErrorCategory.VALIDATION,
                context={"table": name, "key": list(key)},
            )


def _key_of(row: Mapping[str, Any], key: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[name] for name in key)
