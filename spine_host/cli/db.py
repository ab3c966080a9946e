"""``spine db upgrade|status``: create and migrate spine's tables and every installed plugin's
(``spine_register_tables``), and show where they stand."""

from __future__ import annotations

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table
from spine_host.redaction import redact_url

__all__ = ["db_group"]

_URL_HELP = "Database URL (default: [storage] url in spine.toml)."


@click.group("db", cls=SpineCommandGroup)
def db_group() -> None:
    """Create, migrate and inspect spine's tables."""


@db_group.command("upgrade")
@click.option("--url", help=_URL_HELP)
@click.option(
    "--sql",
    "as_sql",
    is_flag=True,
    help="Print the DDL for the URL's dialect instead of running it; does not connect.",
)
@pass_state
def upgrade_command(state: CliState, url: str | None, as_sql: bool) -> None:
    """Bring spine's tables and every installed plugin's to the newest schema; running it again
    changes nothing."""
    from spine_host.storage import migrations
    from spine_host.storage.plugin_tables import tables_sql
    from spine_host.storage.upgrade_all import installed_tables, upgrade_all

    host = state.host()
    plugin_tables = installed_tables(host)
    if as_sql:
        target_url = url if url is not None else host.config.storage.url
        click.echo(migrations.upgrade_sql(target_url), nl=False)
        for tables in plugin_tables:
            click.echo(f"\n-- tables of plugin {tables.name!r}\n")
            click.echo(tables_sql(target_url, tables), nl=False)
        return
    adapter = host.open_storage(url) if url is not None else host.storage
    where = redact_url(url if url is not None else host.config.storage.url)
    try:
        spine, *plugins = upgrade_all(host, adapter)
        if spine.changed:
            click.echo(f"{where}: upgraded from {spine.before} to {spine.after}")
        else:
            click.echo(f"{where}: already at {spine.after}; nothing to do")
        for done in plugins:
            change = (
                f"{done.before} -> {done.after}" if done.changed else f"{done.after}, unchanged"
            )
            click.echo(f"  tables of plugin {done.name!r}: {change}")
    finally:
        if url is not None:
            adapter.close()


@db_group.command("status")
@click.option("--url", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def status_command(state: CliState, url: str | None, as_json: bool) -> None:
    """Show the schema revision of spine's tables and each plugin's, and the newest ones."""
    from spine_host.storage import migrations
    from spine_host.storage.plugin_tables import TablesState, tables_state
    from spine_host.storage.upgrade_all import installed_tables

    host = state.host()
    adapter = host.open_storage(url) if url is not None else host.storage
    plugins: list[TablesState] = []
    try:
        database_missing = getattr(adapter, "database_missing", None)
        missing = database_missing() if callable(database_missing) else None
        # A database file that does not exist is "none": reading it would create it.
        current = None if missing is not None else migrations.current_revision(adapter)
        dialect = adapter.dialect
        if missing is None:
            plugins = [tables_state(adapter, tables) for tables in installed_tables(host)]
    finally:
        if url is not None:
            adapter.close()
    head = migrations.head_revision()
    where = host.redactor.redact(url if url is not None else host.config.storage.url)
    if missing is not None:
        summary = "does not exist yet: run `spine db upgrade`"
    elif current is None:
        summary = "not initialized: run `spine db upgrade`"
    elif current == head:
        summary = "up to date"
    else:
        summary = "behind: run `spine db upgrade`"
    if as_json:
        emit_json(
            {
                "url": where,
                "dialect": dialect,
                "current": current,
                "head": head,
                "up_to_date": current == head and all(p.up_to_date for p in plugins),
                "plugin_tables": [
                    {
                        "name": p.name,
                        "current": p.current,
                        "head": p.head,
                        "missing": list(p.missing),
                        "up_to_date": p.up_to_date,
                    }
                    for p in plugins
                ],
            }
        )
        return
    emit_table(
        ["DATABASE", "DIALECT", "CURRENT", "HEAD", "STATE"],
        [(where, dialect, current or "none", head, summary)],
    )
    if plugins:
        click.echo("")
        emit_table(
            ["PLUGIN TABLES", "CURRENT", "HEAD", "STATE"],
            [
                (
                    p.name,
                    p.current or ("-" if p.head is None else "none"),
                    p.head or "-",
                    "up to date"
                    if p.up_to_date
                    else f"missing {', '.join(p.missing)}: run `spine db upgrade`"
                    if p.missing
                    else "behind: run `spine db upgrade`",
                )
                for p in plugins
            ],
        )
