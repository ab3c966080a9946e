"""A throwaway PostgreSQL database per test session, on a real server.

The server comes from ``SPINE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). When it does not answer, tests that need it
are skipped with the reason shown, unless ``SPINE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``),
which turns that skip into a failure: CI never passes by silently not testing PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_SERVER_URL",
    "postgres_required",
    "server_url",
    "temporary_database",
]

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The maintenance-database URL of the PostgreSQL server tests use."""
    return os.environ.get("SPINE_TEST_POSTGRES_URL", DEFAULT_SERVER_URL)


def postgres_required() -> bool:
    """True when an unreachable server must fail the run instead of skipping."""
    return os.environ.get("SPINE_REQUIRE_POSTGRES", "").strip().lower() in {"1", "true", "yes"}


@contextmanager
def temporary_database(url: str | None = None, *, connect_timeout: int = 5) -> Iterator[str]:
    """Create an empty database, yield its URL, and drop it afterwards (even if tests failed).

    Raises ``ConnectionError`` (with the host and port) when the server does not answer.
    """
    import psycopg

    url = url or server_url()
    name = f"spine_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    try:
        admin = psycopg.connect(_libpq(url), autocommit=True, connect_timeout=connect_timeout)
    except psycopg.OperationalError as exc:
        raise ConnectionError(
            f"PostgreSQL at {parts.hostname}:{parts.port or 5432} did not answer: {exc}"
        ) from exc
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(_libpq(url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    # psycopg does not understand SQLAlchemy's "postgresql+psycopg://" driver suffix.
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"
