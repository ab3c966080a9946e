"""The ``[storage]`` options spine-postgres understands, and the engine arguments they become."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from spine_host.errors import ConfigError
from spine_host.storage.sqlalchemy_base import DEFAULT_CHUNK_SIZE
from spine_host.structuring import structure

__all__ = ["PostgresOptions"]


# The smallest value each numeric option accepts.
_MINIMUMS: Mapping[str, float] = {
    "pool_size": 1,
    "max_overflow": 0,
    "pool_timeout": 0,
    "pool_recycle": -1,
    "connect_timeout": 1,
    "statement_timeout": 0,
    "chunk_size": 1,
}


@attrs.frozen
class PostgresOptions:
    """Pool and session settings, from the ``[storage]`` table next to ``url``.

    Attributes:
        pool_size: connections the pool keeps open.
        max_overflow: extra connections opened under load and closed when returned.
        pool_timeout: seconds to wait for a free pooled connection before failing.
        pool_recycle: seconds after which a pooled connection is replaced (firewalls and
            PgBouncer drop idle connections silently; ``pool_pre_ping`` catches the rest).
        connect_timeout: seconds a new connection may take, so an unreachable server fails in
            bounded time instead of hanging a run.
        statement_timeout: seconds any one statement may run before the server cancels it
            (a ``TIMEOUT`` error); 0 leaves the server's setting alone.
        application_name: shown in ``pg_stat_activity``, so a DBA can tell spine's sessions apart.
        echo: log every statement SQLAlchemy sends (debugging only).
        chunk_size: rows per COPY and per Arrow slice in ``bulk_insert``; read by the base
            adapter, listed here so a misspelt option is still an error.
    """

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: int = 1800
    connect_timeout: int = 10
    statement_timeout: float = 0.0
    application_name: str = "spine"
    echo: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> PostgresOptions:
        """Structure the ``[storage]`` options; a bad key or value is a ConfigError naming it."""
        settings = structure(dict(options), cls, "storage")
        for name, minimum in _MINIMUMS.items():
            value = getattr(settings, name)
            if value < minimum:
                raise ConfigError(f"storage.{name} = {value!r}: expected a number >= {minimum:g}")
        return settings

    def engine_arguments(self, url_options: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``sqlalchemy.create_engine`` (QueuePool with pre-ping).

        Every session runs with ``TimeZone=UTC``, so the server's conversions between
        ``timestamp`` and ``timestamptz`` (and the zone of the values it returns) never depend
        on the server's or the client's zone (``PGTZ``).

        Args:
            url_options: the libpq ``options`` the storage URL gives (``?options=-c ...``);
                ``connect_args`` would replace them, so they are kept in front of spine's own.
        """
        settings = [url_options] if url_options else []
        settings.append("-c TimeZone=UTC")
        if self.statement_timeout:
            milliseconds = max(1, round(self.statement_timeout * 1000))
            settings.append(f"-c statement_timeout={milliseconds}")
        connect_args: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "application_name": self.application_name,
            "options": " ".join(settings),
        }
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout,
            "pool_recycle": self.pool_recycle,
            "pool_pre_ping": True,
            "echo": self.echo,
            # A failed statement's text goes into run history as the error's cause: its bound
            # values (tokens, personal data) stay out of it and out of echoed logs.
            "hide_parameters": True,
            "connect_args": connect_args,
        }
