"""Turning SQLAlchemy exceptions into spine's error taxonomy, with no secret in the message.

Dialect plugins map their driver's errors first (``SqlAlchemyAdapter.classify_error``); what they
leave is mapped here by SQLAlchemy's own exception classes, which every dialect shares.
"""

from __future__ import annotations

import sqlalchemy.exc as sa_exc

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import redact_url

__all__ = ["classify_sqlalchemy_error", "driver_message"]

_STATEMENT_EXCERPT = 300


def classify_sqlalchemy_error(exc: BaseException, *, where: str) -> SpineError | None:
    """Map a SQLAlchemy exception to a SpineError; None when ``exc`` is not one.

    Args:
        exc: the exception raised by SQLAlchemy or under it.
        where: what the adapter talks to (``"postgresql at db:5432/spine"``), already redacted.
    """
    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    category, retryable = _category(exc)
    message = redact_url(f"{where}: {driver_message(exc)}")
    context: dict[str, object] = {"error_type": type(exc).__name__}
    statement = getattr(exc, "statement", None)
    if isinstance(statement, str):
        # The statement, never its parameters: those are data and may be secrets.
        context["statement"] = redact_url(" ".join(statement.split())[:_STATEMENT_EXCERPT])
    return SpineError(message, category=category, retryable=retryable, context=context, cause=exc)


def driver_message(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement and parameter dump."""
    original = getattr(exc, "orig", None)
    if isinstance(exc, sa_exc.StatementError) and original is not None:
        text = str(original).strip() or type(original).__name__
        return f"{type(original).__name__}: {text}"
    if isinstance(exc, sa_exc.NoSuchTableError):
        return f"table {exc.args[0]!r} does not exist"
    return f"{type(exc).__name__}: {exc}"


def _category(exc: sa_exc.SQLAlchemyError) -> tuple[ErrorCategory, bool | None]:
    # Order matters: IntegrityError and OperationalError are both DBAPIErrors.
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return ErrorCategory.TRANSIENT, None
    if isinstance(exc, sa_exc.IntegrityError):
        return ErrorCategory.STORAGE, False
    if isinstance(exc, sa_exc.DBAPIError):
        return ErrorCategory.STORAGE, None
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return ErrorCategory.TIMEOUT, None
    if isinstance(exc, sa_exc.NoSuchModuleError):
        return ErrorCategory.DEPENDENCY, None
    if isinstance(exc, sa_exc.ArgumentError):
        return ErrorCategory.CONFIG, None
    if isinstance(exc, sa_exc.NoSuchTableError):
        return ErrorCategory.STORAGE, None
    if isinstance(exc, sa_exc.StatementError | sa_exc.CompileError | sa_exc.InvalidRequestError):
        # A bad parameter (missing bind, naive datetime, unknown column): the caller's mistake.
        return ErrorCategory.VALIDATION, None
    return ErrorCategory.STORAGE, None
