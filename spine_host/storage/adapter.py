"""The contract every storage plugin implements: :class:`DatabaseAdapter` and its factory.

A storage plugin registers a factory per URL scheme through ``spine_register_storage``; the host
calls ``factory(url, **options)`` with the ``[storage]`` table's URL and options.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.sql.base import Executable

__all__ = ["DatabaseAdapter", "Row", "StorageFactory"]

Row = Mapping[str, Any]


@runtime_checkable
class DatabaseAdapter(Protocol):
    """A connection pool to one database, with the operations spine needs.

    Outside :meth:`transaction`, ``execute`` and ``executemany`` commit their own work. Inside it,
    everything commits together when the block exits normally and rolls back when it raises; work
    committed before the block is never lost by that rollback.
    """

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect name: ``sqlite``, ``postgresql``, ``ibm_db_sa``."""

    def execute(self, statement: str | Executable, params: Row | None = None) -> int:
        """Run one statement with named ``:params``; return the affected row count."""

    def executemany(self, statement: str | Executable, rows: Sequence[Row]) -> int:
        """Run one statement for each parameter row; return the affected row count."""

    def commit(self) -> None:
        """Commit the work of the current transaction block, if any."""

    def transaction(self) -> AbstractContextManager[Any]:
        """A block whose statements commit together or not at all."""

    def query(self, statement: str | Executable, params: Row | None = None) -> list[dict[str, Any]]:
        """Run a SELECT and return its rows as dicts."""

    def bulk_insert(self, table: str, rows: Iterable[Row] | Iterable[pa.RecordBatch]) -> int:
        """Insert many rows (dicts or Arrow record batches) the fastest way the database offers."""

    def upsert(self, table: str, rows: Sequence[Row], key: Sequence[str]) -> int:
        """Insert rows, updating those whose ``key`` columns already exist."""

    def lock(self, name: str) -> AbstractContextManager[None]:
        """Hold an exclusive named lock shared by every process using this database."""

    def iter_pages(
        self, table: str, key: Sequence[str], page_size: int = 1000
    ) -> Iterator[list[dict[str, Any]]]:
        """Read a table in key order, one page at a time, by keyset (never by offset)."""

    def close(self) -> None:
        """Release every pooled connection."""


class StorageFactory(Protocol):
    """Builds an adapter for a URL: ``factory("postgresql://...", pool_size=5)``."""

    def __call__(self, url: str, /, **options: Any) -> DatabaseAdapter:
        """Return an adapter for ``url``; raise a classified SpineError if it cannot."""
