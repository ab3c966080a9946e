"""Builtin storage: the ``sqlite`` scheme, and the mapping of SQLite's errors.

Imports nothing heavy: the adapter module (and SQLAlchemy with it) is imported when a SQLite
URL is first opened, so ``spine --help`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host.plugins import hookimpl

if TYPE_CHECKING:
    from spine_host.errors import SpineError
    from spine_host.registry import Register
    from spine_host.storage.adapter import DatabaseAdapter, StorageFactory


def sqlite_adapter(url: str, /, **options: Any) -> DatabaseAdapter:
    """Open a SQLite database: ``sqlite:///spine.db`` (a file) or ``sqlite://`` (in memory)."""
    from spine_host.storage.sqlite import SqliteAdapter

    return SqliteAdapter(url, **options)


@hookimpl
def spine_register_storage(register: Register[StorageFactory]) -> None:
    """Provide the ``sqlite`` scheme."""
    register("sqlite", sqlite_adapter)


@hookimpl
def spine_classify_error(exc: BaseException) -> SpineError | None:
    """Classify ``sqlite3`` errors, bare or wrapped by SQLAlchemy; None for anything else."""
    import sqlite3

    if not isinstance(getattr(exc, "orig", None) or exc, sqlite3.Error):
        return None
    from spine_host.storage.sqlite import classify_sqlite_error

    return classify_sqlite_error(exc)
