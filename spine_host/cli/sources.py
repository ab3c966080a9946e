"""``spine sources types|preview``: the source types plugins provide, and a look at a source."""

from __future__ import annotations

from typing import Any

import attrs
import click

from spine_host.cli.context import EXIT_FAILURE, CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table

__all__ = ["sources_group"]


@click.group("sources", cls=SpineCommandGroup)
def sources_group() -> None:
    """List source types or preview a configured source."""


@sources_group.command("types")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def types_command(state: CliState, as_json: bool) -> None:
    """Every source type, the plugin that provides it, and its configuration keys."""
    registry = state.host().registries.sources
    entries: list[dict[str, Any]] = []
    for name in registry.names():
        claim = registry.winner(name)
        assert claim is not None  # names() lists only names with a winner
        entries.append(
            {"type": name, "plugin": claim.provider, "config_keys": _config_keys(claim.value)}
        )
    if as_json:
        emit_json(entries)
        return
    rows = [
        (
            entry["type"],
            entry["plugin"],
            ", ".join(_key_label(key) for key in entry["config_keys"]) or None,
        )
        for entry in entries
    ]
    emit_table(["TYPE", "PLUGIN", "CONFIG KEYS (* required)"], rows, empty="no source types")


@sources_group.command("preview")
@click.argument("name")
@click.option("-n", "--rows", "limit", default=20, show_default=True, type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def preview_command(state: CliState, name: str, limit: int, as_json: bool) -> None:
    """Fetch the source configured as [sources.NAME] and show its first rows, typed.

    A failed fetch prints the classified error and exits 1.
    """
    host = state.host()
    result = host.source(name).fetch()
    if result.error is not None:
        error = result.error
        click.echo(
            f"error: source {name!r} failed [{error.category.value}]: "
            f"{host.redactor.redact(error.message)}",
            err=True,
        )
        click.get_current_context().exit(EXIT_FAILURE)
    rows = result.rows()[:limit]
    columns = list(rows[0]) if rows else []
    types = {
        column: type(next((row[column] for row in rows if row.get(column) is not None), None))
        for column in columns
    }
    if as_json:
        emit_json(
            {
                "source": name,
                "row_count": result.row_count,
                "rejects": len(result.rejects),
                "columns": {column: _type_name(kind) for column, kind in types.items()},
                "rows": rows,
                "metadata": result.metadata.to_dict() if result.metadata else None,
            }
        )
        return
    emit_table(columns, [[row.get(column) for column in columns] for row in rows], empty="no rows")
    if columns:
        described = ", ".join(f"{column}: {_type_name(kind)}" for column, kind in types.items())
        click.echo(f"\ncolumns: {described}")
    click.echo(f"{len(rows)} of {result.row_count} row(s) shown; {len(result.rejects)} reject(s)")
    for reject in result.rejects[:5]:
        where = f"{reject.locator or name}:{reject.line_number or '?'}"
        click.echo(f"  reject {where}: {reject.reason}: {reject.raw[:80]}")


def _config_keys(source_cls: Any) -> list[dict[str, Any]]:
    """Each key of the source type's ``Config``: its name and whether it must be given."""
    config_cls = getattr(source_cls, "Config", None)
    if config_cls is None or not attrs.has(config_cls):
        return []
    return [
        {"name": field.name, "required": field.default is attrs.NOTHING}
        for field in attrs.fields(config_cls)
    ]


def _key_label(key: dict[str, Any]) -> str:
    """``path*`` for a required key, ``format`` for an optional one (the table's legend)."""
    return f"{key['name']}*" if key["required"] else str(key["name"])


def _type_name(kind: type) -> str:
    return "null" if kind is type(None) else kind.__name__
