"""Plugin tables: a plugin's own tables are created and migrated by ``spine db upgrade``.

Proven with plugins passed as objects (metadata only, and revision scripts of their own), with
the installed example plugin through the CLI, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from spine_host import hookimpl
from spine_host.cli import cli
from spine_host.errors import PluginError
from spine_host.host import Host
from spine_host.storage.plugin_tables import PluginTables, tables_state
from spine_host.storage.upgrade_all import upgrade_all

ACME = sa.MetaData()
sa.Table("acme_prices", ACME, sa.Column("symbol", sa.String(12), primary_key=True))


class AcmeTables:
    """Registers ``tables`` through ``spine_register_tables``."""

    def __init__(self, tables: PluginTables) -> None:
        self.tables = tables

    @hookimpl
    def spine_register_tables(self, register: Any) -> None:
        register(self.tables)


def table_names(host: Host) -> set[str]:
    with host.storage.connection() as connection:  # type: ignore[attr-defined]
        return set(sa.inspect(connection).get_table_names())


def columns(host: Host, table: str) -> list[str]:
    with host.storage.connection() as connection:  # type: ignore[attr-defined]
        return [column["name"] for column in sa.inspect(connection).get_columns(table)]


def test_metadata_only_tables_are_created_with_spines(
    spine_host_factory: Callable[..., Host],
) -> None:
    host = spine_host_factory(AcmeTables(PluginTables("acme", ACME)))

    assert {"acme_prices", "workflow_runs"} <= table_names(host)
    assert tables_state(host.storage, host.registries.tables.get("acme")).up_to_date
    assert [done.changed for done in upgrade_all(host)] == [False, False]  # idempotent


def write_revision(folder: Path, revision: str, down: str | None, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{revision}.py").write_text(
        textwrap.dedent(
            f'''
            """{revision}"""
            import sqlalchemy as sa
            from alembic import op

            revision = "{revision}"
            down_revision = {down!r}
            branch_labels = None
            depends_on = None


            def upgrade():
            '''
        )
        + textwrap.indent(textwrap.dedent(body), "    ")
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.shipped_plugins)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[object]]]:
    """An empty database's URL, and the storage plugin it needs besides the builtins."""
    if request.param == "postgres":
        import spine_postgres

        from spine_host.testing.postgres import temporary_database

        # postgres_url says whether a server answers (skip, or fail under CI); the session's
        # database holds tables other tests made without migrations, so use a fresh one.
        request.getfixturevalue("postgres_url")
        with temporary_database() as url:
            yield url, [spine_postgres]
        return
    yield f"sqlite:///{tmp_path / 'spine.db'}", []


def test_revision_scripts_run_as_a_lineage_of_their_own(
    tmp_path: Path, storage: tuple[str, list[object]], spine_host_factory: Callable[..., Host]
) -> None:
    folder = tmp_path / "acme_migrations"
    name = f"acme{abs(hash(str(tmp_path))) % 10**6}"
    table = f"{name}_orders"
    write_revision(
        folder,
        f"{name}_1",
        None,
        f'op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))\n',
    )
    metadata = sa.MetaData()
    sa.Table(table, metadata, sa.Column("id", sa.Integer, primary_key=True))
    tables = PluginTables(name, metadata, migrations=str(folder))

    url, storage_plugins = storage
    host = spine_host_factory(AcmeTables(tables), *storage_plugins, storage_url=url)
    assert columns(host, table) == ["id"]
    state = tables_state(host.storage, tables)
    assert (state.current, state.head, state.up_to_date) == (f"{name}_1", f"{name}_1", True)

    # The plugin's next release adds a column: status says behind, upgrade applies it.
    write_revision(
        folder,
        f"{name}_2",
        f"{name}_1",
        f'op.add_column("{table}", sa.Column("note", sa.String(40)))\n',
    )
    assert not tables_state(host.storage, tables).up_to_date
    spine, acme = upgrade_all(host)
    assert not spine.changed
    assert (acme.before, acme.after) == (f"revision {name}_1", f"revision {name}_2")
    assert columns(host, table) == ["id", "note"]
    with host.storage.connection() as connection:  # type: ignore[attr-defined]
        recorded = connection.execute(sa.text(f"SELECT version_num FROM spine_version_{name}"))
        assert [row[0] for row in recorded] == [f"{name}_2"]


def test_a_table_named_like_spines_is_refused_before_anything_is_created() -> None:
    clash = sa.MetaData()
    sa.Table("workflow_runs", clash, sa.Column("id", sa.Integer, primary_key=True))
    host = Host(
        plugins=[AcmeTables(PluginTables("clash", clash))],
        load_entrypoints=False,
        storage_url="sqlite://",
        environ={},
    )
    try:
        with pytest.raises(PluginError, match="define table 'workflow_runs', which spine-host"):
            upgrade_all(host)
        assert "workflow_runs" not in table_names(host)
    finally:
        host.close()


def test_a_bad_tables_name_is_refused() -> None:
    with pytest.raises(ValueError, match="lower-case letters, digits and _"):
        PluginTables("Acme-Tables", ACME)


@pytest.mark.shipped_plugins
def test_the_example_plugins_tables_are_in_the_sql_created_by_upgrade_and_in_status(
    tmp_path: Path,
) -> None:
    config = tmp_path / "spine.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "spine.db"}"\n')
    runner = CliRunner()

    def spine(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.output

    sql = spine("db", "upgrade", "--sql")
    assert "CREATE TABLE workflow_runs" in sql
    assert "CREATE TABLE otc_weekly_volume" in sql
    assert "INSERT INTO spine_version_otc" in sql
    assert not (tmp_path / "spine.db").exists()  # --sql does not connect

    assert "tables of plugin 'otc': no tables -> revision otc_0001" in spine("db", "upgrade")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'spine.db'}")
    try:
        assert {"otc_weekly_volume", "otc_venue_summary"} <= set(
            sa.inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    status = spine("db", "status")
    assert "otc            otc_0001  otc_0001  up to date" in status


@pytest.mark.shipped_plugins
def test_an_installed_plugin_passed_as_an_object_has_its_installed_name() -> None:
    import spine_otc

    from spine_host.testing.hosts import make_test_host

    with make_test_host(spine_otc) as host:
        (otc,) = [info for info in host.plugin_report() if info.module == "spine_otc"]
        assert (otc.name, otc.distribution) == ("otc", "spine-otc")
        assert "otc" in host.registries.tables
        assert "plugin 'otc' (spine-otc" in host.plugins.describe("otc")
