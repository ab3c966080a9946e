"""Ids people type: a whole run or execution id, or a unique start of one (six characters or more).

Ids are 32 hex characters; people copy the first few from a listing, as with git. The rules,
the same for ``spine runs show|resume|retry`` and ``spine pipelines show``:

- an id that exists is taken as it is, whatever its length;
- otherwise, a text of at least :data:`MIN_PREFIX_LENGTH` characters that starts exactly one
  id is that id;
- anything else is a usage error (``click.BadParameter``, exit 2): shorter than six characters,
  matching nothing, or matching several (up to ten of them listed, so the next try can be right).

The text is echoed through :func:`spine_host.printable.quoted`: cut when absurdly long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from spine_host.printable import quoted

if TYPE_CHECKING:
    from spine_host.cli.context import CliState

__all__ = ["MIN_PREFIX_LENGTH", "resolve_id", "resolve_run_id"]

#: The fewest characters a prefix needs: with 32 hex digits, six tell a day's runs apart.
MIN_PREFIX_LENGTH = 6

# How many matches an ambiguous prefix lists; one more is fetched to say "and more".
_SHOWN = 10


def resolve_run_id(state: CliState, text: str) -> str:
    """The workflow run id ``text`` names: a whole id, or a unique prefix of six characters.

    Raises ``click.BadParameter`` (exit 2) for a prefix that is too short, matches no run, or
    matches several (listing up to ten).
    """
    import sqlalchemy as sa

    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema

    storage = state.host().storage
    require_tables(storage, [schema.workflow_runs])
    column = schema.workflow_runs.c.run_id

    def exists(run_id: str) -> bool:
        return bool(storage.query(sa.select(column).where(column == run_id)))

    def starting_with(prefix: str, limit: int) -> list[str]:
        # startswith(autoescape=True) is `run_id LIKE 'prefix%' ESCAPE '/'`, with the prefix's
        # own %, _ and / escaped: a typed "%" matches a "%", not everything.
        statement = (
            sa.select(column)
            .where(column.startswith(prefix, autoescape=True))
            .order_by(column)
            .limit(limit)
        )
        return [row["run_id"] for row in storage.query(statement)]

    return resolve_id(
        text,
        exists=exists,
        starting_with=starting_with,
        noun="workflow run",
        param_hint="RUN_ID",
        listing="spine runs list",
        longest=schema.ID_LENGTH,
    )


def resolve_id(
    text: str,
    *,
    exists: Callable[[str], bool],
    starting_with: Callable[[str, int], list[str]],
    noun: str,
    param_hint: str,
    listing: str,
    longest: int,
) -> str:
    """The one id ``text`` names, by the rules above.

    Args:
        text: what the person typed.
        exists: whether an id is known exactly.
        starting_with: up to ``limit`` known ids starting with a prefix, in id order.
        noun: what the id is of, for messages ("workflow run", "execution").
        param_hint: the argument's name in messages (``RUN_ID``).
        listing: the command that shows recent ids, suggested when nothing matches.
        longest: the longest id the column holds; longer text names nothing, unasked
            (SQLite refuses a LIKE pattern of 50,000 characters or more).
    """
    unknown = click.BadParameter(
        f"no {noun} {quoted(text)}; `{listing}` shows the recent ones", param_hint=param_hint
    )
    if len(text) > longest:
        raise unknown
    if text and exists(text):
        return text
    if len(text) < MIN_PREFIX_LENGTH:
        raise click.BadParameter(
            f"no {noun} {quoted(text)}; give the whole id or at least {MIN_PREFIX_LENGTH} "
            f"characters of it (`{listing}` shows the recent ones)",
            param_hint=param_hint,
        )
    # SQLite's LIKE ignores ASCII case, PostgreSQL's does not: keep exact starts only, so both
    # answer the same.
    matches = [found for found in starting_with(text, _SHOWN + 1) if found.startswith(text)]
    if not matches:
        raise unknown
    if len(matches) > 1:
        more = " and more" if len(matches) > _SHOWN else ""
        raise click.BadParameter(
            f"{noun} id prefix {quoted(text)} is ambiguous; it matches "
            f"{', '.join(matches[:_SHOWN])}{more}: give more of the id",
            param_hint=param_hint,
        )
    return matches[0]
