"""The OTC tables are created by their revision scripts exactly as the metadata describes them."""

from __future__ import annotations

import spine_otc
import sqlalchemy as sa
from spine_otc.tables import metadata

from spine_host.testing.hosts import make_test_host


def test_the_revision_scripts_build_what_the_metadata_describes() -> None:
    with make_test_host(spine_otc) as host, host.storage.connection() as connection:  # type: ignore[attr-defined]
        inspector = sa.inspect(connection)
        for table in metadata.sorted_tables:
            built = {c["name"]: c for c in inspector.get_columns(table.name)}
            assert list(built) == [column.name for column in table.columns]
            for column in table.columns:
                assert built[column.name]["nullable"] == column.nullable, column.name
                assert type(built[column.name]["type"]).__name__.upper() in str(
                    column.type.compile(connection.dialect)
                ), column.name
            primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
            assert primary == [column.name for column in table.primary_key.columns]
