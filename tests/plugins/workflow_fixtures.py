"""Hosts with workflow history on SQLite and on PostgreSQL, for the workflow test modules.

Import the fixtures into a test module (``from tests.plugins.workflow_fixtures import host``);
every test using ``host`` then runs once per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from spine_host.host import Host
from spine_host.plugins import BUILTIN_PLUGINS
from spine_host.storage import schema

SQLITE_BUILTIN = "spine_host.builtins.sqlite"
EXECUTORS_BUILTIN = "spine_host.builtins.executors"


def storage_plugins(url: str) -> list[ModuleType]:
    """The plugins a host needs for ``url`` and the local executor, minus listed builtins."""
    import importlib

    listed = {module for _, module in BUILTIN_PLUGINS}
    wanted = [EXECUTORS_BUILTIN]
    if url.startswith("sqlite"):
        wanted.append(SQLITE_BUILTIN)
    plugins = [importlib.import_module(name) for name in wanted if name not in listed]
    if url.startswith("postgresql"):
        import spine_postgres

        plugins.append(spine_postgres)
    return plugins


def make_host(url: str, *plugins: object) -> Host:
    """A host on ``url`` with the workflow tables created and emptied."""
    host = Host(
        plugins=[*storage_plugins(url), *plugins],
        load_entrypoints=False,
        storage_url=url,
        environ={},
    )
    engine = host.storage.engine  # type: ignore[attr-defined]
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        # PostgreSQL's database is shared by the session: start each test from empty history.
        connection.execute(sa.delete(schema.workflow_steps))
        connection.execute(sa.delete(schema.workflow_runs))
    return host


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file in tmp_path, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def host(storage_url: str) -> Iterator[Host]:
    """A host with empty workflow history on each database."""
    made = make_host(storage_url)
    try:
        yield made
    finally:
        made.close()
