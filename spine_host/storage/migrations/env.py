"""Alembic environment for spine's tables: online on the adapter's connection, offline to SQL.

``spine_host.storage.migrations`` passes what this needs in ``config.attributes``: the open
``connection`` (online) or the ``url`` whose dialect the DDL is rendered for (offline), the
``version_table``, and for a plugin's own tables their ``metadata`` (spine's by default).
"""

from __future__ import annotations

from alembic import context

from spine_host.storage.schema import metadata

config = context.config
version_table = config.attributes["version_table"]
target_metadata = config.attributes.get("metadata", metadata)

if context.is_offline_mode():
    url = str(config.attributes["url"])
    context.configure(
        url=url,
        target_metadata=target_metadata,
        version_table=version_table,
        literal_binds=True,
        # DB2's command line processor (db2 -tvf) has no standalone BEGIN: its script runs
        # statement by statement (auto-commit), as DB2 DBAs run DDL.
        transactional_ddl=False if url.startswith(("db2", "ibm_db")) else None,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    # The caller's transaction: alembic joins it, the adapter commits it.
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=target_metadata,
        version_table=version_table,
    )
    with context.begin_transaction():
        context.run_migrations()
