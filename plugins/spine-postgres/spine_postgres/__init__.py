"""spine-postgres: PostgreSQL storage for spine-host.

Psycopg 3, pooled connections, binary copy, advisory locks.

This entry module imports only the standard library and spine_host; the driver is imported when
first used, so `spine --help` stays fast with the plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host import hookimpl

if TYPE_CHECKING:
    from spine_host.errors import SpineError
    from spine_host.registry import Register
    from spine_host.storage.adapter import DatabaseAdapter, StorageFactory

__all__ = ["spine_classify_error", "spine_register_storage"]


@hookimpl
def spine_register_storage(register: Register[StorageFactory]) -> None:
    """Provide the ``postgresql`` scheme (``postgresql://`` and ``postgresql+psycopg://``)."""
    register("postgresql", _postgres_adapter)


@hookimpl
def spine_classify_error(exc: BaseException) -> SpineError | None:
    """Map psycopg errors, bare or wrapped by SQLAlchemy, to the spine taxonomy."""
    if not (_from_psycopg(exc) or _from_psycopg(getattr(exc, "orig", None))):
        return None
    from spine_postgres.errors import classify_postgres_error

    return classify_postgres_error(exc)


def _postgres_adapter(url: str, /, **options: Any) -> DatabaseAdapter:
    # Imported on call: the adapter module pulls in SQLAlchemy and psycopg.
    from spine_postgres.adapter import PostgresAdapter

    return PostgresAdapter(url, **options)


def _from_psycopg(exc: object) -> bool:
    return isinstance(exc, BaseException) and type(exc).__module__.startswith("psycopg")
