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

import attrs
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
    "SPINE",
    "VERSION_TABLE",
    "Lineage",
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


@attrs.frozen
class Lineage:
    """One line of revisions and where it is recorded: spine's own, or one plugin's tables.

    Attributes:
        version_table: the table holding the revision the database is at.
        versions: the directory of revision scripts; None for spine's packaged ones.
        metadata: the tables the scripts build (used for offline rendering and autogenerate).
    """

    version_table: str = VERSION_TABLE
    versions: str | None = None
    metadata: sa.MetaData | None = None


SPINE = Lineage()


def upgrade(target: Target, revision: str = "head", lineage: Lineage = SPINE) -> None:
    """Bring the database to ``revision``; running it again changes nothing."""
    with _connection(target) as connection:
        config = _config(lineage)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(target: Target, lineage: Lineage = SPINE) -> str | None:
    """The revision the database is at; None when those tables were never created."""
    with _connection(target) as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": lineage.version_table}
        )
        return context.get_current_revision()


def head_revision(lineage: Lineage = SPINE) -> str:
    """The newest revision of the lineage (spine's: the newest this spine-host ships)."""
    head = ScriptDirectory.from_config(_config(lineage)).get_current_head()
    if head is None:
        where = lineage.versions or "spine-host"
        raise ConfigError(f"{where}: no migration scripts found")
    return head


def upgrade_sql(url: str, revision: str = "head", lineage: Lineage = SPINE) -> str:
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
    config = _config(lineage, buffer)
    config.attributes["url"] = url
    command.upgrade(config, revision, sql=True)
    return buffer.getvalue()


def _config(lineage: Lineage, buffer: io.StringIO | None = None) -> Config:
    config = Config(output_buffer=buffer) if buffer is not None else Config()
    # A plugin's scripts run in spine's environment (env.py): only their location differs.
    config.set_main_option("script_location", str(_SCRIPTS))
    if lineage.versions is not None:
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", lineage.versions)
    config.attributes["version_table"] = lineage.version_table
    if lineage.metadata is not None:
        config.attributes["metadata"] = lineage.metadata
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
