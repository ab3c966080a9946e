"""Column types that behave the same on every database spine supports.

- :class:`UtcDateTime`: always timezone-aware UTC in Python; ``TIMESTAMP WITH TIME ZONE`` on
  PostgreSQL, a plain ``TIMESTAMP`` holding UTC elsewhere (SQLite and DB2 keep no zone); a
  reflected ``timestamp without time zone`` column holds naive UTC on every dialect.
- :class:`JsonDocument`: any JSON-safe value; ``JSONB`` on PostgreSQL, ``JSON`` text on SQLite,
  and ``CLOB`` text on everything else (DB2 has no JSON column type the dialect can compile).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from spine_host.storage import ddl as _ddl  # noqa: F401  (registers DB2 index DDL rules)

__all__ = ["JsonDocument", "UtcDateTime", "utc_now"]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC (column defaults use it)."""
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned as an aware ``datetime`` on every dialect.

    A naive ``datetime`` is refused: spine cannot know which zone it meant, and guessing is how
    history ends up an hour off after a DST change. Columns of tables spine did not create
    (reflected ones) use ``naive_is_utc=True``: their naive values are taken as UTC.

    Args:
        naive_is_utc: take naive values as UTC instead of refusing them.
        timezone: whether the column keeps a zone (a reflected column's own flag). ``False``
            (``timestamp without time zone``) is sent naive UTC on every dialect, so the
            session's time zone never shifts it; ``True`` is sent aware where the database has
            such a column. ``None``, spine's own columns, is ``TIMESTAMP WITH TIME ZONE`` on
            PostgreSQL and a plain ``TIMESTAMP`` holding UTC elsewhere.
    """

    impl = sa.DateTime
    cache_ok = True

    def __init__(self, naive_is_utc: bool = False, timezone: bool | None = None) -> None:
        super().__init__()
        self.naive_is_utc = naive_is_utc
        self.timezone = timezone

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``TIMESTAMP WITH TIME ZONE`` where the column keeps a zone, plain ``TIMESTAMP`` else."""
        return dialect.type_descriptor(sa.DateTime(timezone=self.keeps_zone(dialect)))

    def keeps_zone(self, dialect: Dialect) -> bool:
        """Whether values for this column go to ``dialect`` aware (else naive, in UTC)."""
        return dialect.name == "postgresql" and self.timezone is not False

    def as_utc(self, value: datetime) -> datetime:
        """``value`` as an aware UTC datetime; naive values are UTC when ``naive_is_utc``.

        Raises:
            TypeError: for anything but a datetime.
            ValueError: for a naive datetime when naive values are refused.
        """
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__} {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            if self.naive_is_utc:
                return value.replace(tzinfo=UTC)
            raise ValueError(
                f"naive datetime {value.isoformat()} given for a UTC timestamp column; "
                "pass an aware datetime such as datetime.now(UTC)"
            )
        return value.astimezone(UTC)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; drop the zone for columns that cannot keep it."""
        if value is None:
            return None
        utc = self.as_utc(value)
        return utc if self.keeps_zone(dialect) else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns (it is UTC by construction)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JsonDocument(sa.TypeDecorator[Any]):
    """A JSON-safe value (dict, list, str, number, bool) in one column, on any dialect."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``JSONB`` on PostgreSQL, ``JSON`` on SQLite, text (``CLOB`` on DB2) elsewhere."""
        if dialect.name == "postgresql":
            # Imported here: the PostgreSQL dialect brings asyncio and asyncpg's, a fifth of
            # SQLAlchemy's import time, which commands on SQLite would pay for nothing.
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB(none_as_null=True))
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.JSON(none_as_null=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Native JSON types serialize themselves; text columns get ``json.dumps`` here."""
        if value is None or _native_json(dialect):
            return value
        return json.dumps(value, default=str)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Parse text back into Python values; native JSON types arrive parsed."""
        if value is None or _native_json(dialect) or not isinstance(value, str):
            return value
        return json.loads(value)


def _native_json(dialect: Dialect) -> bool:
    return dialect.name in {"postgresql", "sqlite"}
