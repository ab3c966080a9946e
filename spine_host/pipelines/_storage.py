"""A check pipelines run before touching spine's tables: do they exist yet?"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["require_tables"]


def require_tables(storage: DatabaseAdapter, tables: Iterable[sa.Table]) -> None:
    """Fail with a STORAGE error telling the user to run ``spine db upgrade`` if a table is missing.

    Without this, the first statement fails with the driver's "no such table", which does not
    say what to do about it.
    """
    engine = getattr(storage, "engine", None)
    if not isinstance(engine, sa.Engine):
        return  # not SQLAlchemy-based: the adapter reports missing tables itself
    database_missing = getattr(storage, "database_missing", None)
    missing_file = database_missing() if callable(database_missing) else None
    if missing_file is not None:
        raise SpineError(
            f"the SQLite database {missing_file} does not exist yet; run `spine db upgrade` "
            "to create it and spine's tables (or check [storage] url)",
            category=ErrorCategory.STORAGE,
        )
    try:
        # A read: on SQLite it must not wait for the write lock a running load may hold.
        with engine.connect().execution_options(spine_write=False) as connection:
            inspector = sa.inspect(connection)
            missing = [table.name for table in tables if not inspector.has_table(table.name)]
    except sa.exc.SQLAlchemyError as exc:
        raise SpineError(
            f"cannot inspect the database {getattr(storage, 'display_url', '')}: {exc}",
            category=ErrorCategory.STORAGE,
            cause=exc,
        ) from exc
    if missing:
        where = getattr(storage, "display_url", "the database")
        raise SpineError(
            f"table(s) {', '.join(missing)} do not exist in {where}; "
            "run `spine db upgrade` to create spine's tables",
            category=ErrorCategory.STORAGE,
            context={"tables": missing},
        )
