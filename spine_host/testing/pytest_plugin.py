"""pytest fixtures every spine test suite gets by installing spine-host (``pytest11`` entry point).

- ``spine_host``: a Host with builtins only, no entry points, on an in-memory SQLite database
  with spine's tables created;
- ``spine_host_factory``: ``spine_host_factory(plugin, ..., storage_url=..., config=...)`` builds
  a host with those plugins and their tables too (see :mod:`spine_host.testing.hosts`), closed
  at the end of the test;
- ``postgres_url``: the URL of a fresh, empty PostgreSQL database for this test session (skipped
  with its reason when no server answers, failed instead under ``SPINE_REQUIRE_POSTGRES=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any, NoReturn

import pytest

from spine_host.host import Host
from spine_host.testing import postgres

__all__ = ["postgres_url", "spine_host", "spine_host_factory"]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``postgres`` marker so ``-m "not postgres"`` works in every suite."""
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (set automatically by postgres_url)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses ``postgres_url`` with ``postgres``."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def spine_host() -> Iterator[Host]:
    """A host with builtins only (no installed plugins) on a migrated in-memory SQLite database."""
    from spine_host.storage import migrations

    host = Host(load_entrypoints=False, storage_url="sqlite://", environ={})
    migrations.upgrade(host.storage)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture
def spine_host_factory() -> Iterator[Callable[..., Host]]:
    """Build hosts with chosen plugins on migrated databases; each is closed after the test."""
    from spine_host.testing.hosts import make_test_host

    with ExitStack() as stack:

        def factory(*plugins: object, **options: Any) -> Host:
            return stack.enter_context(make_test_host(*plugins, **options))

        yield factory


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh empty PostgreSQL database for the session; dropped afterwards."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install spine-postgres)")
    try:
        database = postgres.temporary_database()
        url = database.__enter__()
    except ConnectionError as exc:
        _unavailable(str(exc))
    try:
        yield url
    finally:
        database.__exit__(None, None, None)


def _unavailable(reason: str) -> NoReturn:
    if postgres.postgres_required():
        pytest.fail(f"SPINE_REQUIRE_POSTGRES is set but PostgreSQL is unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")
