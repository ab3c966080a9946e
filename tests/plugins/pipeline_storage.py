"""Hosts on real storage for the pipeline tests: SQLite files and the session's PostgreSQL.

Not a plugin: shared set-up for tests/test_pipeline_*.py, test_dispatcher*.py and friends.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from spine_host import Host
from spine_host.plugins import BUILTIN_PLUGINS
from spine_host.storage import schema

_SQLITE_BUILTIN = "spine_host.builtins.sqlite"


def open_host(url: str, *plugins: object, create_tables: bool = True) -> Host:
    """A host on ``url`` with ``plugins`` registered and (unless told not to) spine's tables."""
    extra: list[object] = []
    if not any(module == _SQLITE_BUILTIN for _, module in BUILTIN_PLUGINS):
        from spine_host.builtins import sqlite

        extra.append(sqlite)
    if url.startswith("postgresql"):
        import spine_postgres

        extra.append(spine_postgres)
    host = Host(plugins=[*extra, *plugins], load_entrypoints=False, storage_url=url, environ={})
    if create_tables:
        schema.metadata.create_all(host.storage.engine)  # type: ignore[attr-defined]
    return host


def storage_url(kind: str, tmp_path: object, postgres_url: str | None) -> str:
    """``sqlite`` → a fresh file in ``tmp_path``; ``postgres`` → the session database."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/spine.db"
    assert postgres_url is not None
    return postgres_url


def random_friday() -> date:
    """A Friday no other test uses, so tests sharing the PostgreSQL database stay apart."""
    return date(2001, 1, 5) + timedelta(weeks=random.randrange(1, 200_000))
