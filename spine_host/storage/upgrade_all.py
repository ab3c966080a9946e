"""One upgrade for spine's tables and every installed plugin's, as ``spine db upgrade`` runs it.

Also what test hosts use (:mod:`spine_host.testing.hosts`), so a test database is built exactly
as a production one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.storage.adapter import DatabaseAdapter
    from spine_host.storage.plugin_tables import PluginTables

__all__ = ["Upgraded", "installed_tables", "upgrade_all"]


@attrs.frozen
class Upgraded:
    """What one upgrade did to one lineage of tables (spine's, or one plugin's)."""

    name: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        """Whether anything was created or migrated."""
        return self.before != self.after


def installed_tables(host: Host) -> list[PluginTables]:
    """Every installed plugin's tables, checked against spine's and each other's names.

    Raises:
        PluginError: when two owners define one table name.
    """
    from spine_host.storage import schema
    from spine_host.storage.plugin_tables import check_names

    registry = host.registries.tables
    registered = [registry.get(name) for name in registry.names()]
    check_names(registered, schema.metadata.tables)
    return registered


def upgrade_all(host: Host, storage: DatabaseAdapter | None = None) -> list[Upgraded]:
    """Bring spine's tables, then each plugin's, to their newest schema; idempotent."""
    from spine_host.storage import migrations
    from spine_host.storage.plugin_tables import upgrade_tables

    target = storage if storage is not None else host.storage
    plugin_tables = installed_tables(host)  # a name clash stops before anything is created
    before = migrations.current_revision(target)
    migrations.upgrade(target)
    after = migrations.current_revision(target)
    done = [Upgraded("spine", _revision(before), _revision(after))]
    for tables in plugin_tables:
        was, now = upgrade_tables(target, tables)
        done.append(Upgraded(tables.name, was, now))
    return done


def _revision(revision: str | None) -> str:
    return f"revision {revision}" if revision else "an empty database"
