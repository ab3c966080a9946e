"""Portable statements the SQLAlchemy adapter builds: keyset paging, upserts, lock holders.

Kept apart from the adapter so dialect plugins can reuse them in their own overrides.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

__all__ = [
    "has_sql_side_default",
    "key_may_hold_null",
    "keyset_after",
    "lock_holder",
    "null_key_probe",
    "on_conflict_upsert",
    "onupdate_values",
    "python_side_values",
    "rows_by_columns",
    "update_or_insert",
]

Row = Mapping[str, Any]


def on_conflict_upsert(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Row],
    key: Sequence[str],
) -> int:
    """``INSERT .. ON CONFLICT (key) DO UPDATE`` for SQLite and PostgreSQL; returns the count."""
    if connection.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    statement = insert(table)
    key_columns = [table.c[name] for name in key]
    updates: dict[str, Any] = {
        name: statement.excluded[name] for name in rows[0] if name not in key
    }
    updates.update(onupdate_values(table, rows[0]))
    if updates:
        statement = statement.on_conflict_do_update(index_elements=key_columns, set_=updates)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=key_columns)
    connection.execute(statement, [dict(row) for row in rows])
    return len(rows)


def keyset_after(columns: Sequence[sa.Column[Any]], after: tuple[Any, ...]) -> Any:
    """``(a > x) OR (a = x AND b > y) OR ...``: row-value comparison every dialect can run."""
    alternatives = []
    for index, column in enumerate(columns):
        equal = [columns[i] == after[i] for i in range(index)]
        alternatives.append(sa.and_(*equal, column > after[index]))
    return sa.or_(*alternatives)


def key_may_hold_null(column: sa.ColumnElement[Any], dialect: str) -> bool:
    """Whether a key column may hold NULL, judged from its reflected declaration.

    A primary key never does, except on SQLite, whose primary keys accept NULL unless they are
    the INTEGER rowid (a legacy of SQLite's). Columns of a query's result are unknown: they may.
    """
    if not isinstance(column, sa.Column):
        return True
    if not column.nullable:
        return False
    if not column.primary_key:
        return True
    table = column.table
    rowid = len(table.primary_key.columns) == 1 and isinstance(column.type, sa.Integer)
    return dialect == "sqlite" and not rowid


def null_key_probe(columns: Sequence[sa.ColumnElement[Any]]) -> sa.Select[Any]:
    """``SELECT k1, k2 .. WHERE k1 IS NULL OR k2 IS NULL .. LIMIT 1``: the first NULL key, if any.

    The row it returns shows which of the columns hold the NULL.
    """
    return sa.select(*columns).where(sa.or_(*(column.is_(None) for column in columns))).limit(1)


def rows_by_columns(rows: Sequence[Row]) -> Iterator[list[Row]]:
    """Consecutive rows with the same keys, so one statement serves each group."""
    group: list[Row] = []
    for row in rows:
        if group and row.keys() != group[0].keys():
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def python_side_values(
    table: sa.Table, present: Iterable[str], kind: str = "default"
) -> dict[str, Any]:
    """Values of the Python-side ``default`` or ``onupdate`` of the columns not in ``present``.

    Statements that bypass SQLAlchemy's INSERT/UPDATE compilation (ON CONFLICT's UPDATE, MERGE,
    COPY) would otherwise leave ``created_at``/``updated_at`` empty. SQL-side generators
    (sequences, server expressions) are not evaluated here: see :func:`has_sql_side_default`.
    """
    given = set(present)
    values: dict[str, Any] = {}
    for column in table.columns:
        generator = getattr(column, kind)
        if column.name in given or generator is None:
            continue
        arg = getattr(generator, "arg", None)
        if getattr(generator, "is_callable", False) and callable(arg):
            values[column.name] = arg(None)  # SQLAlchemy passes an execution context; unused
        elif getattr(generator, "is_scalar", False):
            values[column.name] = arg
    return values


def has_sql_side_default(table: sa.Table, present: Iterable[str]) -> bool:
    """True when a column not in ``present`` gets its default from a sequence or SQL expression."""
    given = set(present)
    return any(
        getattr(column.default, "is_sequence", False)
        or getattr(column.default, "is_clause_element", False)
        for column in table.columns
        if column.name not in given and column.default is not None
    )


def onupdate_values(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Python-side ``onupdate`` values (``updated_at``): ON CONFLICT UPDATE skips them."""
    return python_side_values(table, row, "onupdate")


def update_or_insert(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
) -> int:
    """Portable upsert for dialects without ON CONFLICT (plugins override it with MERGE)."""
    for row in rows:
        condition = sa.and_(*(table.c[name] == row[name] for name in key))
        changes = {name: value for name, value in row.items() if name not in key}
        changes.update(onupdate_values(table, row))
        updated = (
            connection.execute(sa.update(table).where(condition).values(changes)).rowcount
            if changes
            else len(
                connection.execute(
                    sa.select(sa.literal(1)).select_from(table).where(condition)
                ).all()
            )
        )
        if not updated:
            connection.execute(sa.insert(table).values(dict(row)))
    return len(rows)


def lock_holder() -> str:
    """Who holds a lock row: ``host:pid:thread``, for people reading ``core_locks``."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
