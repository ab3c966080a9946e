"""Portable statements the SQLAlchemy adapter builds: keyset paging, upserts, lock holders.

Kept apart from the adapter so dialect plugins can reuse them in their own overrides.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

__all__ = [
    "keyset_after",
    "lock_holder",
    "on_conflict_upsert",
    "onupdate_values",
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


def onupdate_values(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Python-side ``onupdate`` values (``updated_at``): ON CONFLICT UPDATE skips them."""
    values: dict[str, Any] = {}
    for column in table.columns:
        onupdate = column.onupdate
        if column.name in row or onupdate is None:
            continue
        arg = getattr(onupdate, "arg", None)
        if getattr(onupdate, "is_callable", False) and callable(arg):
            values[column.name] = arg(None)
        elif getattr(onupdate, "is_scalar", False):
            values[column.name] = arg
    return values


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
