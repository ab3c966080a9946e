"""Mapping psycopg errors (bare or wrapped by SQLAlchemy) to the spine error taxonomy.

PostgreSQL reports every server-side failure with a five-character SQLSTATE; the category follows
from it. A failure to connect has no SQLSTATE and is recognised by its exception type. Messages
name the server (host, port, database, user) when the adapter knows it, never the password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import redact_url

__all__ = ["PostgresServer", "classify_postgres_error", "driver_error"]

UPGRADE_HINT = "run `spine db upgrade` to create or migrate the spine tables"

# Exact SQLSTATEs first, then the two-character class.
_BY_SQLSTATE: Mapping[str, ErrorCategory] = {
    "40001": ErrorCategory.TRANSIENT,  # serialization_failure
    "40P01": ErrorCategory.TRANSIENT,  # deadlock_detected
    "57P01": ErrorCategory.TRANSIENT,  # admin_shutdown (also pg_terminate_backend)
    "57P02": ErrorCategory.TRANSIENT,  # crash_shutdown
    "57P03": ErrorCategory.TRANSIENT,  # cannot_connect_now (server starting up)
    "53300": ErrorCategory.TRANSIENT,  # too_many_connections
    "55P03": ErrorCategory.TIMEOUT,  # lock_not_available (lock_timeout, NOWAIT)
    "28P01": ErrorCategory.AUTH,  # invalid_password
    "28000": ErrorCategory.AUTH,  # invalid_authorization_specification (pg_hba reject)
    "42501": ErrorCategory.AUTH,  # insufficient_privilege
    "3D000": ErrorCategory.CONFIG,  # invalid_catalog_name: the database does not exist
}
_BY_CLASS: Mapping[str, ErrorCategory] = {
    "08": ErrorCategory.TRANSIENT,  # connection exceptions
    "22": ErrorCategory.VALIDATION,  # data exceptions: the value does not fit the column
}
# A failed connection attempt carries no SQLSTATE, only the server's FATAL message as text.
_CONNECTION_REFUSALS: tuple[tuple[re.Pattern[str], ErrorCategory], ...] = (
    (
        re.compile(r"password authentication failed|authentication failed for user"),
        ErrorCategory.AUTH,
    ),
    (re.compile(r'role ".*" does not exist|no pg_hba\.conf entry'), ErrorCategory.AUTH),
    (re.compile(r'database ".*" does not exist'), ErrorCategory.CONFIG),
)
_QUERY_CANCELED = "57014"
# Unique, foreign-key and exclusion violations detail the key as ``Key (a, b)=(1, x) ...``.
_KEY_PREFIX, _KEY_VALUES = "Key (", ")=("
_DATA_EXCEPTION_CLASS = "22"  # its messages quote the value: invalid input syntax for type ..: "x"
_QUOTED_VALUE = re.compile(r'"(?:[^"]|"")*"')
# A data exception inside COPY says where in its CONTEXT: ``COPY t, line 2, column v[: "value"]``;
# only the part before the value is read.
_COPY_POSITION = re.compile(r"COPY (?P<table>[^,]+), line (?P<row>\d+), column (?P<column>[^:]+)")
_UNDEFINED_TABLE = "42P01"
_UNDEFINED_COLUMN = "42703"  # a column of a newer spine-host than the database's schema


@attrs.frozen
class PostgresServer:
    """Where the adapter connects, for messages: never holds the password."""

    host: str
    port: int
    database: str
    user: str

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """Read host, port, database and user from a ``postgresql[+driver]://`` URL."""
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or 5432,
            database=parts.path.lstrip("/"),
            user=parts.username or "",
        )

    def describe(self) -> str:
        """``127.0.0.1:5432/spine (user spine)``."""
        user = f" (user {self.user})" if self.user else ""
        return f"{self.host}:{self.port}/{self.database}{user}"


def driver_error(exc: BaseException) -> BaseException | None:
    """The psycopg exception behind ``exc`` (itself, or SQLAlchemy's ``.orig``), else None.

    Checks the exception's module name, so psycopg is never imported to answer "not mine".
    """
    if _from_psycopg(exc):
        return exc
    original = getattr(exc, "orig", None)
    if isinstance(original, BaseException) and _from_psycopg(original):
        return original
    return None


def classify_postgres_error(
    exc: BaseException, *, server: PostgresServer | None = None
) -> SpineError | None:
    """Return the SpineError for a psycopg error (bare or SQLAlchemy-wrapped), or None.

    Args:
        exc: any exception.
        server: where the failing connection pointed; named in the message when given.
    """
    error = driver_error(exc)
    if error is None:
        return None
    sqlstate: str | None = getattr(error, "sqlstate", None)
    primary = _primary_message(error, sqlstate)
    category = _category(error, sqlstate, primary, wrapper=exc)
    where = f" at {server.describe()}" if server is not None else ""
    if sqlstate is None and isinstance(error, _connection_error_types()):
        if "connection failed" in primary or category is ErrorCategory.TIMEOUT:
            # libpq's own text already names the host and port it tried.
            message = f"cannot connect to PostgreSQL{where}: {primary}" if where else primary
        else:
            message = f"lost the connection to PostgreSQL{where}: {primary}"
    else:
        code = f" [{sqlstate}]" if sqlstate else ""
        message = f"PostgreSQL{where}{code}: {primary}"
    if sqlstate in (_UNDEFINED_TABLE, _UNDEFINED_COLUMN):
        message = f"{message}; {UPGRADE_HINT}"
    context = _context(error, sqlstate, server)
    position = _copy_position(error, sqlstate)
    if position is not None:
        # The server's message names the type, not the column: say which row and column.
        message = (
            f"{message} (bulk insert into {position['table']}: row {position['row']}, "
            f"column {position['column']})"
        )
        context.update(position)
    return SpineError(redact_url(message), category=category, context=context, cause=exc)


def _from_psycopg(exc: BaseException) -> bool:
    return type(exc).__module__.split(".", 1)[0] in {"psycopg", "psycopg_binary", "psycopg_c"}


def _category(
    error: BaseException, sqlstate: str | None, primary: str, *, wrapper: BaseException
) -> ErrorCategory:
    if sqlstate is None:
        return _category_without_sqlstate(error, primary, wrapper)
    if sqlstate == _QUERY_CANCELED:
        # statement_timeout and pg_cancel_backend share the code; only the text tells them apart.
        return ErrorCategory.TIMEOUT if "timeout" in primary else ErrorCategory.TRANSIENT
    if sqlstate in _BY_SQLSTATE:
        return _BY_SQLSTATE[sqlstate]
    return _BY_CLASS.get(sqlstate[:2], ErrorCategory.STORAGE)


def _category_without_sqlstate(
    error: BaseException, primary: str, wrapper: BaseException
) -> ErrorCategory:
    import psycopg  # already imported: the error came from it

    if isinstance(error, psycopg.errors.ConnectionTimeout):
        return ErrorCategory.TIMEOUT
    if isinstance(error, psycopg.OperationalError):
        for pattern, category in _CONNECTION_REFUSALS:
            if pattern.search(primary):
                return category
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        # Refused, reset, closed by the server: the connection is gone, a new one may work.
        return ErrorCategory.TRANSIENT
    if getattr(wrapper, "connection_invalidated", False):
        return ErrorCategory.TRANSIENT
    if isinstance(error, psycopg.DataError):
        # Raised client-side when a value cannot be dumped as the column's declared type.
        return ErrorCategory.VALIDATION
    return ErrorCategory.STORAGE


def _connection_error_types() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.OperationalError, psycopg.InterfaceError)


def _primary_message(error: BaseException, sqlstate: str | None) -> str:
    """The server's one-line message, naming constraints and columns but never row values.

    The message goes into run history and alerts, so ``message_detail`` (``Key (api_token)=(…)
    already exists``, ``Failing row contains (…)``) is never copied: only the key's column list
    is taken from it. Data exceptions quote the offending value; the quote is masked.
    """
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(error) or type(error).__name__
    detail = getattr(diag, "message_detail", None) if diag is not None else None
    if not primary and detail:
        # str() of a server error carries the DETAIL (and the statement's LINE) below the primary.
        text = text.split("\n", 1)[0]
    if sqlstate is not None and sqlstate.startswith(_DATA_EXCEPTION_CLASS):
        text = _QUOTED_VALUE.sub("<value>", text)
    columns = _key_columns(detail)
    if columns is not None:
        text = f"{text} on ({columns})"
    # libpq's connection messages span lines with tab-indented hints; keep one line.
    text = re.sub(r"\s*\n\s*", "; ", text.strip())
    return re.sub(r"[ \t]+", " ", text)


def _copy_position(error: BaseException, sqlstate: str | None) -> dict[str, Any] | None:
    """Table, row (of the COPY, from 1) and column of a data exception raised inside COPY."""
    if sqlstate is None or not sqlstate.startswith(_DATA_EXCEPTION_CLASS):
        return None
    diag = getattr(error, "diag", None)
    text = getattr(diag, "context", None) if diag is not None else None
    match = _COPY_POSITION.match(text or "")
    if match is None:
        return None
    return {
        "table": match["table"],
        "row": int(match["row"]),
        "column": match["column"].strip(),
    }


def _key_columns(detail: str | None) -> str | None:
    """The column list of a ``Key (columns)=(values) ...`` detail, without the values."""
    if not detail or not detail.startswith(_KEY_PREFIX):
        return None
    columns, separator, _ = detail[len(_KEY_PREFIX) :].partition(_KEY_VALUES)
    return columns if separator else None


def _context(
    error: BaseException, sqlstate: str | None, server: PostgresServer | None
) -> dict[str, Any]:
    context: dict[str, Any] = {"driver": "psycopg"}
    if sqlstate:
        context["sqlstate"] = sqlstate
    diag = getattr(error, "diag", None)
    for field in ("table_name", "constraint_name", "column_name"):
        value = getattr(diag, field, None) if diag is not None else None
        if value:
            context[field.removesuffix("_name")] = value
    if server is not None:
        context.update(host=server.host, port=server.port, database=server.database)
    return context
