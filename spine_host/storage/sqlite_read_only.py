"""Reading spine's SQLite database with the standard library alone, for commands that only read.

``spine runs list`` is typed many times a day; through the storage adapter it spends most of
its time importing SQLAlchemy (four times as long as ``import click``), not querying. A
:class:`ReadOnlySqlite` opens the same file read-only with :mod:`sqlite3` and decodes values as
spine's column types do on SQLite (:mod:`spine_host.storage.types`). What it keeps:

- it serves only the builtin ``sqlite`` storage on a database file named by a plain
  ``sqlite:///PATH`` URL, with no ``[storage]`` option but ``busy_timeout_ms``; for anything
  else (another plugin's ``sqlite`` adapter, an in-memory database, a URI, a query string,
  other options, invalid ones) :meth:`ReadOnlySqlite.for_host` returns None and the caller
  uses the adapter, which validates and reports as it always has;
- the file is opened ``mode=ro``: reading never creates, migrates or writes it;
- a missing file and missing tables are the STORAGE errors, word for word, of
  :func:`spine_host.pipelines._storage.require_tables`;
- any other ``sqlite3`` error (a file that is no database, a lock held past the busy timeout)
  is raised as :class:`SqliteUnreadable`: the caller then reads through the adapter, which
  reports the problem exactly as before.

The SQL is the caller's: each statement stands in for a SQLAlchemy one and is kept equal to it
by a test that compares the two (see :mod:`spine_host.cli.run_listing`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import redact_url

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = [
    "ReadOnlySqlite",
    "SqliteUnreadable",
    "database_path",
    "json_document",
    "utc_datetime",
    "utc_datetime_parameter",
]

#: Decodes one column's value as read from ``sqlite3``.
Decoder = Callable[[Any], Any]

_PREFIX = "sqlite:///"
# The adapter's own default (spine_host.storage.sqlite.DEFAULT_BUSY_TIMEOUT_MS), not imported:
# that module imports SQLAlchemy. A test keeps the two equal.
_BUSY_TIMEOUT_MS = 30_000


class SqliteUnreadable(Exception):
    """``sqlite3`` could not read the database; read it through the storage adapter instead."""


class ReadOnlySqlite:
    """A SQLite database file, read with :mod:`sqlite3` in read-only mode.

    Build one with :meth:`for_host`; each :meth:`query` opens, reads and closes.

    Args:
        url: the ``[storage] url``, for messages (shown redacted).
        path: the database file, as the URL names it (relative to the working directory).
        busy_timeout_ms: how long a read waits for a writer's lock.
    """

    def __init__(self, url: str, path: str, busy_timeout_ms: int = _BUSY_TIMEOUT_MS) -> None:
        self.display_url = redact_url(url)
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms

    @classmethod
    def for_host(cls, host: Host) -> ReadOnlySqlite | None:
        """A reader of ``host``'s storage when it is the builtin SQLite adapter on a file
        named plainly (see the module docstring); None when the adapter must read."""
        url = host.config.storage.url
        options = host.config.storage.options
        path = database_path(url)
        if path is None or set(options) - {"busy_timeout_ms"}:
            return None
        timeout = options.get("busy_timeout_ms", _BUSY_TIMEOUT_MS)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            return None  # the adapter refuses it, with its own message
        from spine_host.builtins.sqlite import sqlite_adapter

        claim = host.registries.storage.winner("sqlite")
        if claim is None or claim.target is not None or claim.value is not sqlite_adapter:
            return None
        return cls(url, path, timeout)

    def require_tables(self, names: Sequence[str]) -> None:
        """Fail as ``require_tables`` does when the file or one of the tables is missing.

        Raises:
            SpineError: STORAGE, telling the user to run ``spine db upgrade``.
            SqliteUnreadable: ``sqlite3`` could not read the database.
        """
        if not os.path.exists(self.path):
            raise SpineError(
                f"the SQLite database {self.path} does not exist yet; run `spine db upgrade` "
                "to create it and spine's tables (or check [storage] url)",
                category=ErrorCategory.STORAGE,
            )
        wanted = list(names)
        marks = ", ".join("?" for _ in wanted)
        found = {
            row["name"]
            for row in self.query(
                f"SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                f"AND name IN ({marks})",
                wanted,
            )
        }
        missing = [name for name in wanted if name not in found]
        if missing:
            raise SpineError(
                f"table(s) {', '.join(missing)} do not exist in {self.display_url}; "
                "run `spine db upgrade` to create spine's tables",
                category=ErrorCategory.STORAGE,
                context={"tables": missing},
            )

    def query(
        self,
        sql: str,
        parameters: Sequence[Any] = (),
        decoders: Mapping[str, Decoder] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts by column name, each column decoded by its decoder.

        Raises:
            SqliteUnreadable: ``sqlite3`` could not open or read the database.
        """
        decoders = decoders or {}
        uri = f"{Path(os.path.abspath(self.path)).as_uri()}?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout_ms / 1000)
            with closing(connection):
                cursor = connection.execute(sql, tuple(parameters))
                names = [column[0] for column in cursor.description]
                steps = [(name, decoders.get(name)) for name in names]
                return [
                    {
                        name: value if decode is None else decode(value)
                        for (name, decode), value in zip(steps, row, strict=True)
                    }
                    for row in cursor.fetchall()
                ]
        except sqlite3.Error as exc:
            raise SqliteUnreadable(f"{self.display_url}: {exc}") from exc


def database_path(url: str) -> str | None:
    """The file a plain ``sqlite:///PATH`` URL names, as SQLAlchemy reads it; None for any
    other URL (in memory, a URI, a query string, percent-escapes, another driver)."""
    if not url.startswith(_PREFIX):
        return None
    path = url[len(_PREFIX) :]
    if not path or path == ":memory:" or path.startswith("file:") or any(c in path for c in "?%"):
        return None
    return path


def utc_datetime(value: Any) -> datetime | None:
    """A timestamp column's text as ``UtcDateTime`` returns it on SQLite: aware, in UTC."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_datetime_parameter(value: datetime) -> str:
    """``value`` as ``UtcDateTime`` binds it on SQLite: naive UTC text with microseconds.

    Raises:
        ValueError: ``value`` is naive (spine cannot know its zone).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} given for a UTC timestamp column; "
            "pass an aware datetime such as datetime.now(UTC)"
        )
    utc = value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )


def json_document(value: Any) -> Any:
    """A ``JsonDocument`` column's text as it returns it on SQLite: parsed JSON, or None."""
    if value is None:
        return None
    return json.loads(value)
