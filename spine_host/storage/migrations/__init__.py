"""spine's schema migrations (Alembic), packaged with spine-host and run from code.

No ``alembic.ini`` is needed: the configuration is built here, with the scripts in this
package. Used by ``spine db upgrade|status``::

    upgrade(host.storage)                 # idempotent: does nothing when already at head
    current_revision(host.storage)        # None on an empty database
    head_revision()
    upgrade_sql("db2+ibm_db://u:p@h:50000/DB")   # DDL for that dialect, without connecting
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from spine_host.errors import ConfigError
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = [
    "VERSION_TABLE",
    "current_revision",
    "head_revision",
    "upgrade",
    "upgrade_sql",
]

#: Where the applied revision is recorded (not ``alembic_version``, which an application
#: sharing the database may already use for its own migrations).
VERSION_TABLE = "spine_schema_version"

_SCRIPTS = Path(__file__).resolve().parent

Target = str | DatabaseAdapter


class Db2Impl(DefaultImpl):
    """Alembic knows no DB2 dialect; ibm_db_sa's DDL is plain enough for the default one."""

    __dialect__ = "ibm_db_sa"
    transactional_ddl = True


def upgrade(target: Target, revision: str = "head") -> None:
    """Bring the database to ``revision``; running it again changes nothing."""
    with _connection(target) as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(target: Target) -> str | None:
    """The revision the database is at; None when spine's tables were never created."""
    with _connection(target) as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    """The newest revision this spine-host ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("spine-host ships no migration scripts")
    return head


def upgrade_sql(url: str, revision: str = "head") -> str:
    """The DDL that ``upgrade`` would run for ``url``'s dialect, computed without connecting."""
    try:
        dialect = sa.make_url(url).get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"cannot render DDL for {_scheme(url)!r}: {exc}", cause=exc) from exc
    if dialect.name == "ibm_db_sa":
        # Without a connection ibm_db_sa warns once per table that it cannot ask the server's
        # version; the DDL is right regardless, so keep a DBA's terminal clean.
        logging.getLogger("ibm_db_sa").setLevel(logging.ERROR)
    buffer = io.StringIO()
    config = _config(buffer)
    config.attributes["url"] = url
    command.upgrade(config, revision, sql=True)
    return buffer.getvalue()


def _config(buffer: io.StringIO | None = None) -> Config:
    config = Config(output_buffer=buffer) if buffer is not None else Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["version_table"] = VERSION_TABLE
    return config


@contextmanager
def _connection(target: Target) -> Iterator[sa.Connection]:
    if isinstance(target, str):
        adapter = _adapter_for(target)
        try:
            with adapter.errors_classified(), adapter.connection() as connection:
                yield connection
        finally:
            adapter.close()
        return
    if not isinstance(target, SqlAlchemyAdapter):
        raise ConfigError(
            f"migrations need a SQLAlchemy-based storage adapter; {type(target).__name__} is not"
        )
    with target.errors_classified(), target.connection() as connection:
        yield connection


def _adapter_for(url: str) -> SqlAlchemyAdapter:
    if _scheme(url) == "sqlite":
        from spine_host.storage.sqlite import SqliteAdapter

        return SqliteAdapter(url)
    return SqlAlchemyAdapter(url)


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].split("+", 1)[0]
