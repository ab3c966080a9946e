"""The SQL the DB2 adapter sends, built on SQLAlchemy Core and the ``ibm_db_sa`` dialect.

Each builder returns a statement object; nothing here connects, so every statement can be compiled
and inspected without a DB2 server (the tests do exactly that). Identifiers are always rendered by
the dialect's identifier preparer, values always travel as bound parameters.

Why not the dialect's own constructs:

- ``select().limit(n)`` compiles to ``LIMIT n`` and ``select().offset(n)`` without a limit to a
  ``ROW_NUMBER() OVER()`` wrapper with no ORDER BY (rows in no defined order); paging here is a
  keyset ``WHERE`` plus ``FETCH FIRST n ROWS ONLY``, which DB2 has always understood;
- ``select().with_for_update()`` fails to compile in ibm_db_sa 0.4 with SQLAlchemy 2 (it reads an
  attribute SQLAlchemy removed), so the lock statement is written out;
- there is no MERGE construct in SQLAlchemy Core, so the upsert is text with typed bind params.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from spine_host.errors import ErrorCategory, SpineError

__all__ = [
    "acquire_lock_statement",
    "ensure_lock_row_statement",
    "keyset_after",
    "merge_parameters",
    "merge_statement",
    "page_statement",
]

# Aliases inside the MERGE; long enough never to collide with a user's column names.
_TARGET = "spine_target"
_SOURCE = "spine_source"


def merge_statement(
    table: sa.Table,
    columns: Sequence[str],
    key: Sequence[str],
    dialect: Dialect,
    *,
    insert_defaults: Sequence[str] = (),
    update_defaults: Sequence[str] = (),
) -> sa.TextClause:
    """One-row ``MERGE`` upserting ``columns`` into ``table`` matched on ``key``.

    Run it with ``executemany`` and :func:`merge_parameters`: DB2 prepares it once and applies the
    rows in order, so a key repeated within one call ends with its last row (one multi-row
    ``USING (VALUES ...)`` would instead fail with SQL0788N on a repeated key). The source values
    are ``CAST`` to the column types because DB2 rejects untyped parameter markers in ``VALUES``
    (SQL0418N). Bind parameters carry the columns' SQLAlchemy types, so type decorators (UTC
    timestamps, JSON documents) convert values as they do for ``insert()``.

    ``insert_defaults`` and ``update_defaults`` name absent columns whose Python-side ``default``
    / ``onupdate`` (``created_at``, ``updated_at``) the caller supplies: text statements do not
    apply them the way ``insert()`` does. Their values follow the row's in
    :func:`merge_parameters`.
    """
    _check_columns(table, columns, key)
    preparer = dialect.identifier_preparer
    type_compiler = dialect.type_compiler_instance
    # Source columns: the row's, then defaults for the INSERT, then onupdates for the UPDATE.
    sources = [
        *((name, preparer.quote(name)) for name in columns),
        *((name, preparer.quote(name)) for name in insert_defaults),
        *((name, f"spine_onupdate_{index}") for index, name in enumerate(update_defaults)),
    ]
    casts = ", ".join(
        f"CAST(:{_parameter(index)} AS {type_compiler.process(table.c[name].type)})"
        for index, (name, _) in enumerate(sources)
    )
    matches = " AND ".join(
        f"{_TARGET}.{preparer.quote(name)} = {_SOURCE}.{preparer.quote(name)}" for name in key
    )
    first_onupdate = len(columns) + len(insert_defaults)
    updates = ", ".join(
        f"{preparer.quote(name)} = {_SOURCE}.{source}"
        for position, (name, source) in enumerate(sources)
        if name not in key and (position < len(columns) or position >= first_onupdate)
    )
    inserted = [source for _, source in sources[:first_onupdate]]
    sql = (
        f"MERGE INTO {preparer.format_table(table)} AS {_TARGET} "
        f"USING (VALUES ({casts})) AS {_SOURCE} ({', '.join(source for _, source in sources)}) "
        f"ON {matches} "
    )
    if updates:
        sql += f"WHEN MATCHED THEN UPDATE SET {updates} "
    sql += (
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(inserted)}) "
        f"VALUES ({', '.join(f'{_SOURCE}.{name}' for name in inserted)})"
    )
    return sa.text(sql).bindparams(
        *(
            sa.bindparam(_parameter(index), type_=table.c[name].type)
            for index, (name, _) in enumerate(sources)
        )
    )


def merge_parameters(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], defaults: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """The executemany parameter rows for :func:`merge_statement` (same column order).

    ``defaults`` are the values of the statement's insert and update default columns, in order.
    """
    parameters = []
    for number, row in enumerate(rows, start=1):
        if set(row) != set(columns):
            raise SpineError(
                f"upsert row {number} has columns {sorted(row)}, expected {sorted(columns)} "
                "like the first row: every row of one upsert must name the same columns",
                category=ErrorCategory.VALIDATION,
            )
        values = [row[name] for name in columns] + list(defaults)
        parameters.append({_parameter(index): value for index, value in enumerate(values)})
    return parameters


def page_statement(
    table: sa.Table, key: Sequence[str], after: tuple[Any, ...] | None, page_size: int
) -> sa.Select[Any]:
    """The next page in key order: keyset ``WHERE``, ``ORDER BY key``, ``FETCH FIRST n ROWS ONLY``.

    The row count is rendered as a literal when the statement runs (DB2 before 11.1 accepts no
    parameter marker there); it is an ``int`` by construction, so nothing can be injected.
    """
    if page_size < 1:
        raise SpineError(
            f"page_size must be at least 1, got {page_size}", category=ErrorCategory.VALIDATION
        )
    _check_columns(table, key, key)
    key_columns = [table.c[name] for name in key]
    statement = sa.select(table).order_by(*key_columns)
    if after is not None:
        statement = statement.where(keyset_after(key_columns, after))
    return statement.fetch(sa.literal(int(page_size), sa.Integer(), literal_execute=True))


def keyset_after(key_columns: Sequence[sa.ColumnElement[Any]], after: Sequence[Any]) -> Any:
    """``(k1, k2, ...) > (a1, a2, ...)`` spelled with OR/AND, which every dialect accepts."""
    if len(key_columns) != len(after):
        raise SpineError(
            f"keyset position has {len(after)} values for {len(key_columns)} key columns",
            category=ErrorCategory.VALIDATION,
        )
    alternatives = []
    for position, column in enumerate(key_columns):
        equal_before = [key_columns[index] == after[index] for index in range(position)]
        alternatives.append(sa.and_(*equal_before, column > after[position]))
    return sa.or_(*alternatives)


def ensure_lock_row_statement(lock_table: sa.Table, dialect: Dialect) -> sa.TextClause:
    """``MERGE`` that inserts the lock row ``:lock_name`` if it is missing, and nothing else."""
    preparer = dialect.identifier_preparer
    name_column = preparer.quote("lock_name")
    name_type = dialect.type_compiler_instance.process(lock_table.c.lock_name.type)
    sql = (
        f"MERGE INTO {preparer.format_table(lock_table)} AS {_TARGET} "
        f"USING (VALUES (CAST(:lock_name AS {name_type}))) AS {_SOURCE} ({name_column}) "
        f"ON {_TARGET}.{name_column} = {_SOURCE}.{name_column} "
        f"WHEN NOT MATCHED THEN INSERT ({name_column}) VALUES ({_SOURCE}.{name_column})"
    )
    return sa.text(sql).bindparams(sa.bindparam("lock_name", type_=lock_table.c.lock_name.type))


def acquire_lock_statement(lock_table: sa.Table, dialect: Dialect) -> sa.TextClause:
    """Select the lock row holding a U lock until the transaction ends.

    ``WITH RS USE AND KEEP UPDATE LOCKS`` keeps the update lock to commit or rollback: a second
    session asking the same blocks (U is incompatible with U) while plain readers are not. The
    lock is taken when the row is fetched, so the caller must fetch it.
    """
    preparer = dialect.identifier_preparer
    name_column = preparer.quote("lock_name")
    sql = (
        f"SELECT {name_column} FROM {preparer.format_table(lock_table)} "
        f"WHERE {name_column} = :lock_name "
        "FOR UPDATE WITH RS USE AND KEEP UPDATE LOCKS"
    )
    return sa.text(sql).bindparams(sa.bindparam("lock_name", type_=lock_table.c.lock_name.type))


def _parameter(index: int) -> str:
    # Positional names: column names may hold characters a bind parameter name cannot.
    return f"p{index}"


def _check_columns(table: sa.Table, columns: Sequence[str], key: Sequence[str]) -> None:
    if not key:
        raise SpineError("a key needs at least one column", category=ErrorCategory.VALIDATION)
    unknown = [name for name in [*columns, *key] if name not in table.c]
    if unknown:
        raise SpineError(
            f"table {table.name!r} has no column {unknown[0]!r} "
            f"(columns: {', '.join(table.c.keys())})",
            category=ErrorCategory.VALIDATION,
        )
    missing_key = [name for name in key if name not in columns]
    if missing_key:
        raise SpineError(
            f"key column {missing_key[0]!r} is not among the row's columns",
            category=ErrorCategory.VALIDATION,
        )
