"""spine-db2: IBM DB2 storage for spine-host.

``db2+ibm_db://user:password@host:50000/DATABASE`` URLs open a
:class:`~spine_db2.adapter.Db2Adapter` (ibm_db + ibm_db_sa): MERGE upserts, FETCH FIRST keyset
paging, chunked executemany bulk loads and a lock row. DB2 driver errors (SQL0911N, SQL0803N,
...) are mapped to the spine taxonomy.

This entry module imports only the standard library and spine_host; the driver and SQLAlchemy are
imported when an adapter is first built, and the error mapping when an error is first
classified, so every ``spine`` command starts fast with the plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine_host import hookimpl

if TYPE_CHECKING:
    from spine_db2.adapter import Db2Adapter
    from spine_host.errors import SpineError
    from spine_host.registry import Register
    from spine_host.storage.adapter import StorageFactory

__all__ = ["db2_adapter", "spine_classify_error", "spine_register_storage"]


def db2_adapter(url: str, /, **options: Any) -> Db2Adapter:
    """Build a :class:`~spine_db2.adapter.Db2Adapter`; imports the driver on first call."""
    from spine_db2.adapter import Db2Adapter

    return Db2Adapter(url, **options)


@hookimpl
def spine_register_storage(register: Register[StorageFactory]) -> None:
    """Provide the ``db2`` scheme (``db2+ibm_db://...``)."""
    register("db2", db2_adapter)


@hookimpl
def spine_classify_error(exc: BaseException) -> SpineError | None:
    """Map ibm_db errors (also wrapped by SQLAlchemy) to the spine taxonomy; None otherwise."""
    from spine_db2.errors import classify_db2_error  # only when something failed

    return classify_db2_error(exc)
