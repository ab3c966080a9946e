"""DB2 driver errors mapped to the spine error taxonomy, read from the message text.

``ibm_db`` raises a plain ``Exception`` whose message carries the DB2 message id, the SQLSTATE and
the SQLCODE, e.g. ``[IBM][CLI Driver][DB2/LINUXX8664] SQL0911N  The current transaction has been
rolled back because of a deadlock or timeout.  Reason code "2".  SQLSTATE=40001 SQLCODE=-911``;
``ibm_db_dbi`` wraps that text in its DB-API classes (``ibm_db_dbi::IntegrityError: Statement
Execute Failed: [IBM]...``) and SQLAlchemy wraps those again (``DBAPIError.orig``). The codes in
the text are the only reliable signal across the three layers, so this module parses them and
imports neither ``ibm_db`` nor SQLAlchemy (it runs inside ``spine_classify_error`` for any error).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import MASK, redact_url

__all__ = ["Db2Diagnostic", "classify_db2_error", "parse_db2_diagnostic"]

UPGRADE_HINT = "the spine tables may be missing or older than this version: run `spine db upgrade`"

_MESSAGE_ID = re.compile(r"\b(?P<id>(?:SQL|CLI)(?P<number>\d{4,5})[NWCE])\b")
_SQLSTATE = re.compile(r"SQLSTATE\s*=\s*(?P<state>[0-9A-Z]{5})")
_SQLCODE = re.compile(r"SQLCODE\s*=\s*(?P<code>-?\d+)")
_REASON = re.compile(r"[Rr]eason(?: code)?:?\s+\"(?P<reason>[^\"]*)\"")
# Connection strings may appear in driver messages: PWD=...; and URL passwords are masked.
_CONNECTION_STRING_PASSWORD = re.compile(r"(?i)\b(PWD|PASSWORD)\s*=\s*[^;\s]*")
_DBAPI_PREFIX = re.compile(r"^ibm_db_dbi::\w+:\s*")
# ibm_db's own (non-SQL) texts for a connection the server or network already dropped.
_LOST_CONNECTION_TEXTS = (
    "Connection is not active",
    "connection is no longer active",
    "Connection Resource cannot be found",
)

# DB2 lock timeout (reason 68) and deadlock (reason 2) share SQLCODE -911 and -913.
_LOCK_REASONS = {"2": "deadlock", "68": "lock timeout", "72": "lock timeout"}


@attrs.frozen
class Db2Diagnostic:
    """What a DB2 error message says: its codes and its text (password-free)."""

    text: str
    message_id: str | None = None
    sqlcode: int | None = None
    sqlstate: str | None = None
    reason: str | None = None


@attrs.frozen
class _Rule:
    category: ErrorCategory
    summary: str
    retryable: bool | None = None
    hint: str | None = None


# By SQLCODE: the conditions spine knows how to react to.
_RULES_BY_SQLCODE: dict[int, _Rule] = {
    -911: _Rule(ErrorCategory.TRANSIENT, "the transaction was rolled back by a {lock}"),
    -913: _Rule(
        ErrorCategory.TRANSIENT,
        "the statement failed on a {lock} (the transaction is still open)",
    ),
    -30081: _Rule(ErrorCategory.TRANSIENT, "communication error with the DB2 server"),
    -1224: _Rule(
        ErrorCategory.TRANSIENT,
        "the DB2 server cannot accept requests or ended this connection",
    ),
    -30108: _Rule(
        ErrorCategory.TRANSIENT,
        "the connection was re-routed to another server and the transaction rolled back",
    ),
    -952: _Rule(ErrorCategory.TIMEOUT, "processing was cancelled by an interrupt or timeout"),
    -803: _Rule(
        ErrorCategory.STORAGE,
        "duplicate key: a row with these key values already exists",
        retryable=False,
    ),
    -204: _Rule(ErrorCategory.STORAGE, "undefined name", retryable=False, hint=UPGRADE_HINT),
    -30082: _Rule(ErrorCategory.AUTH, "the DB2 server rejected the user name or password"),
    -551: _Rule(ErrorCategory.AUTH, "the user is not authorized for this operation"),
    -552: _Rule(ErrorCategory.AUTH, "the user is not authorized for this operation"),
}

# By SQLSTATE class, for the rest of what DB2 reports.
_RULES_BY_SQLSTATE_CLASS: dict[str, _Rule] = {
    "08": _Rule(ErrorCategory.TRANSIENT, "connection error"),
    "40": _Rule(ErrorCategory.TRANSIENT, "the transaction was rolled back"),
    "23": _Rule(ErrorCategory.STORAGE, "integrity constraint violation", retryable=False),
    "22": _Rule(ErrorCategory.VALIDATION, "a value does not fit its column"),
    "28": _Rule(ErrorCategory.AUTH, "authorization failed"),
}
_DEFAULT_RULE = _Rule(ErrorCategory.STORAGE, "database error", retryable=False)
# ibm_db.execute_many binds parameter arrays and refuses a column whose Python type changes.
_MIXED_TYPES_TEXT = "not homogeneous with previous tuple"
_MIXED_TYPES_RULE = _Rule(
    ErrorCategory.VALIDATION,
    "a column's values have different Python types across the rows of one executemany "
    "(ibm_db needs one type per column, e.g. all int or all Decimal)",
)
_LOST_CONNECTION_RULE = _Rule(ErrorCategory.TRANSIENT, "the connection to DB2 was lost")


def classify_db2_error(exc: BaseException) -> SpineError | None:
    """The :class:`SpineError` for an ``ibm_db`` error (also wrapped by SQLAlchemy), else None.

    Only errors that are recognisably DB2's are answered: a DB2 message (``[IBM]`` with a
    ``SQLnnnnN`` id or ``SQLSTATE=``) or an exception class from ``ibm_db``/``ibm_db_dbi``.
    Passwords never reach the message.
    """
    for candidate in _driver_errors(exc):
        diagnostic = parse_db2_diagnostic(candidate)
        if diagnostic is not None:
            return _to_spine_error(diagnostic, cause=exc)
    return None


def parse_db2_diagnostic(exc: BaseException) -> Db2Diagnostic | None:
    """Read the message id, SQLCODE, SQLSTATE and reason code out of one driver exception."""
    raw = str(exc)
    from_driver = type(exc).__module__.startswith("ibm_db")
    if not (from_driver or "[IBM]" in raw):
        return None
    message_id = _MESSAGE_ID.search(raw)
    sqlcode = _SQLCODE.search(raw)
    sqlstate = _SQLSTATE.search(raw)
    reason = _REASON.search(raw)
    lost_connection = any(text in raw for text in _LOST_CONNECTION_TEXTS)
    if not (message_id or sqlcode or sqlstate or from_driver or lost_connection):
        return None
    code: int | None = int(sqlcode["code"]) if sqlcode else None
    if code is None and message_id is not None and message_id["id"].startswith("SQL"):
        # "SQL0911N" is SQLCODE -911: N(egative) messages are errors, W(arning) positive.
        number = int(message_id["number"])
        code = -number if message_id["id"].endswith("N") else number
    return Db2Diagnostic(
        text=_clean(raw),
        message_id=message_id["id"] if message_id else None,
        sqlcode=code,
        sqlstate=sqlstate["state"] if sqlstate else None,
        reason=reason["reason"] if reason else None,
    )


def _driver_errors(exc: BaseException) -> Iterator[BaseException]:
    # SQLAlchemy keeps the DB-API error in .orig; other wrappers chain it as __cause__.
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        original = getattr(current, "orig", None)
        if isinstance(original, BaseException):
            yield original
        yield current
        current = current.__cause__


def _to_spine_error(diagnostic: Db2Diagnostic, *, cause: BaseException) -> SpineError:
    rule = _rule_for(diagnostic)
    lock = _LOCK_REASONS.get(diagnostic.reason or "", "deadlock or lock timeout")
    codes = ", ".join(
        part
        for part in (
            f"SQLCODE {diagnostic.sqlcode}" if diagnostic.sqlcode is not None else None,
            f"SQLSTATE {diagnostic.sqlstate}" if diagnostic.sqlstate else None,
        )
        if part
    )
    head = f"DB2 {diagnostic.message_id or 'error'}" + (f" ({codes})" if codes else "")
    message = f"{head}: {rule.summary.format(lock=lock)}"
    if rule.hint:
        message += f"; {rule.hint}"
    message += f". Driver: {diagnostic.text}"
    context = {
        key: value
        for key, value in (
            ("message_id", diagnostic.message_id),
            ("sqlcode", diagnostic.sqlcode),
            ("sqlstate", diagnostic.sqlstate),
            ("reason_code", diagnostic.reason),
        )
        if value is not None
    }
    return SpineError(
        message, category=rule.category, retryable=rule.retryable, context=context, cause=cause
    )


def _rule_for(diagnostic: Db2Diagnostic) -> _Rule:
    if diagnostic.sqlcode is not None and diagnostic.sqlcode in _RULES_BY_SQLCODE:
        return _RULES_BY_SQLCODE[diagnostic.sqlcode]
    if _MIXED_TYPES_TEXT in diagnostic.text:
        return _MIXED_TYPES_RULE
    if diagnostic.sqlstate is None and any(
        text in diagnostic.text for text in _LOST_CONNECTION_TEXTS
    ):
        return _LOST_CONNECTION_RULE
    if diagnostic.sqlstate is not None:
        rule = _RULES_BY_SQLSTATE_CLASS.get(diagnostic.sqlstate[:2])
        if rule is not None:
            return rule
    return _DEFAULT_RULE


def _clean(raw: str) -> str:
    text = _DBAPI_PREFIX.sub("", raw.strip())
    text = _CONNECTION_STRING_PASSWORD.sub(lambda match: f"{match[1]}={MASK}", text)
    return redact_url(re.sub(r"\s+", " ", text))
