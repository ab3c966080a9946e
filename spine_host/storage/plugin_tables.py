"""Tables that plugins own, created and migrated by ``spine db upgrade`` beside spine's own.

A plugin registers a :class:`PluginTables` through ``spine_register_tables``: its tables as
SQLAlchemy metadata and, once they need to change, a directory of Alembic revision scripts::

    @hookimpl
    def spine_register_tables(register):
        from spine_acme.tables import metadata
        register(PluginTables("acme", metadata, migrations=migrations_path("spine_acme")))

- **With ``migrations``** the scripts are a lineage of their own: they run in spine's
  migration environment, and the revision the database is at is kept in its own version
  table, ``spine_version_<name>``, so plugins never share or reorder each other's revisions.
- **Without**, the tables are created from the metadata when they are missing (never altered):
  enough for a plugin's first release; add scripts when a table must change.

``spine db upgrade --sql`` renders every installed plugin's DDL too, and ``spine db status``
shows where each plugin's tables stand. A plugin's table named like one of spine's, or like
another plugin's, is refused before anything is created.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ConfigError, PluginError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from spine_host.storage.adapter import DatabaseAdapter
    from spine_host.storage.migrations import Lineage

__all__ = [
    "PluginTables",
    "TablesState",
    "check_names",
    "migrations_path",
    "tables_sql",
    "tables_state",
    "upgrade_tables",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _valid_name(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(
            f"plugin tables name {value!r}: use lower-case letters, digits and _ (it names "
            "the version table spine_version_<name>)"
        )


@attrs.frozen
class PluginTables:
    """The tables one plugin owns.

    Attributes:
        name: short, unique among plugins (``acme``); the version table is
            ``spine_version_<name>``.
        metadata: the tables, as ``sqlalchemy.MetaData``.
        migrations: a directory of Alembic revision scripts building and changing them (see
            :func:`migrations_path`); None creates missing tables from ``metadata``.
    """

    name: str = attrs.field(validator=_valid_name)
    metadata: sa.MetaData
    migrations: str | None = None

    @property
    def version_table(self) -> str:
        """Where the revision of a plugin with migrations is recorded."""
        return f"spine_version_{self.name}"

    def lineage(self) -> Lineage:
        """These tables' migrations as a lineage of :mod:`spine_host.storage.migrations`."""
        from spine_host.storage.migrations import Lineage

        return Lineage(
            version_table=self.version_table, versions=self.migrations, metadata=self.metadata
        )


@attrs.frozen
class TablesState:
    """Where one plugin's tables stand in a database, for ``spine db status``."""

    name: str
    current: str | None
    head: str | None
    missing: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        """Whether ``spine db upgrade`` would change nothing."""
        return not self.missing and self.current == self.head


def migrations_path(package: str, folder: str = "migrations") -> str:
    """The filesystem path of ``folder`` inside an installed package (its revision scripts)."""
    return str(resources.files(package) / folder)


def check_names(registered: Sequence[PluginTables], spine_tables: Iterable[str]) -> None:
    """Refuse a plugin table named like one of spine's or another plugin's.

    Raises:
        PluginError: naming both owners of the table.
    """
    owners = {name: "spine-host" for name in spine_tables}
    for tables in registered:
        for table in tables.metadata.tables:
            owner = owners.setdefault(table, f"plugin tables {tables.name!r}")
            if owner != f"plugin tables {tables.name!r}":
                raise PluginError(
                    f"plugin tables {tables.name!r} define table {table!r}, which {owner} "
                    "already defines; rename one of them"
                )


def upgrade_tables(storage: DatabaseAdapter, tables: PluginTables) -> tuple[str, str]:
    """Create or migrate one plugin's tables; returns (state before, state after) in words."""
    before = _describe(tables_state(storage, tables))
    if tables.migrations is not None:
        from spine_host.storage import migrations

        migrations.upgrade(storage, lineage=tables.lineage())
    else:
        with storage.transaction(), storage.connection() as connection:  # type: ignore[attr-defined]
            tables.metadata.create_all(connection, checkfirst=True)
    return before, _describe(tables_state(storage, tables))


def tables_state(storage: DatabaseAdapter, tables: PluginTables) -> TablesState:
    """Which of the plugin's tables exist and, with migrations, the revision and the head."""
    import sqlalchemy as sa

    with storage.connection() as connection:  # type: ignore[attr-defined]
        existing = set(sa.inspect(connection).get_table_names())
    missing = tuple(sorted(set(tables.metadata.tables) - existing))
    if tables.migrations is None:
        return TablesState(tables.name, None, None, missing)
    from spine_host.storage import migrations

    lineage = tables.lineage()
    current = migrations.current_revision(storage, lineage)
    head = migrations.head_revision(lineage)
    # With migrations, what the scripts built is the truth: a table they have not created yet
    # shows as "behind", not as missing.
    return TablesState(tables.name, current, head, () if current == head else missing)


def tables_sql(url: str, tables: PluginTables) -> str:
    """The DDL ``spine db upgrade`` would run for the plugin's tables, without connecting."""
    if tables.migrations is not None:
        from spine_host.storage import migrations

        return migrations.upgrade_sql(url, lineage=tables.lineage())
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateIndex, CreateTable

    try:
        dialect = sa.make_url(url).get_dialect()()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"cannot render DDL for {url.split(':', 1)[0]!r}: {exc}") from exc
    out = io.StringIO()
    out.write(f"-- plugin tables {tables.name!r}: created when missing\n\n")
    for table in tables.metadata.sorted_tables:
        out.write(f"{str(CreateTable(table).compile(dialect=dialect)).strip()};\n\n")
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            out.write(f"{str(CreateIndex(index).compile(dialect=dialect)).strip()};\n\n")
    return out.getvalue()


def _describe(state: TablesState) -> str:
    if state.head is not None:
        return f"revision {state.current}" if state.current else "no tables"
    present = "all tables" if not state.missing else f"missing {', '.join(state.missing)}"
    return present
