"""``spine db upgrade|status``: create and migrate spine's tables, and show their revision."""

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
    """Bring the database to the newest schema; running it again changes nothing."""
    from spine_host.storage import migrations

    if as_sql:
        target_url = url if url is not None else state.host().config.storage.url
        click.echo(migrations.upgrade_sql(target_url), nl=False)
        return
    host = state.host()
    adapter = host.open_storage(url) if url is not None else host.storage
    try:
        before = migrations.current_revision(adapter)
        migrations.upgrade(adapter)
        after = migrations.current_revision(adapter)
    finally:
        if url is not None:
            adapter.close()
    where = redact_url(url if url is not None else host.config.storage.url)
    if before == after:
        click.echo(f"{where}: already at revision {after}; nothing to do")
    else:
        click.echo(f"{where}: upgraded from {before or 'an empty database'} to revision {after}")


@db_group.command("status")
@click.option("--url", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def status_command(state: CliState, url: str | None, as_json: bool) -> None:
    """Show the database's schema revision and the newest one this spine-host ships."""
    from spine_host.storage import migrations

    host = state.host()
    adapter = host.open_storage(url) if url is not None else host.storage
    try:
        database_missing = getattr(adapter, "database_missing", None)
        missing = database_missing() if callable(database_missing) else None
        # A database file that does not exist is "none": reading it would create it.
        current = None if missing is not None else migrations.current_revision(adapter)
        dialect = adapter.dialect
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
                "up_to_date": current == head,
            }
        )
        return
    emit_table(
        ["DATABASE", "DIALECT", "CURRENT", "HEAD", "STATE"],
        [(where, dialect, current or "none", head, summary)],
    )
