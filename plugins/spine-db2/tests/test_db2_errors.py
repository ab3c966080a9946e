"""DB2 driver errors come back in the spine taxonomy, with no password in the message.

No DB2 server can run here. The communication error (SQL30081N) is real: the real CLI driver
fails to reach a closed port on 127.0.0.1. The other messages are the exact texts DB2 returns, in
the format ibm_db raises them (a plain ``Exception``: ``[IBM][CLI Driver][DB2/LINUXX8664] SQLnnnnN
<text>  SQLSTATE=xxxxx SQLCODE=-n``, prefixed by ``Statement Execute Failed:`` when a statement
fails), then passed through the real ``ibm_db_dbi._get_exception`` (the DB-API class a statement
raises) and the real SQLAlchemy wrapping (``DBAPIError.instance``), as they would be in production.
"""

from __future__ import annotations

import socket
from typing import Any

import ibm_db_dbi
import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from spine_db2 import spine_classify_error
from spine_db2.errors import UPGRADE_HINT, classify_db2_error

from spine_host import Host
from spine_host.errors import ErrorCategory

_SERVER = "[IBM][CLI Driver][DB2/LINUXX8664] "
_EXECUTE = "Statement Execute Failed: "

DEADLOCK = (
    _EXECUTE + _SERVER + "SQL0911N  The current transaction has been rolled back because of a "
    'deadlock or timeout.  Reason code "2".  SQLSTATE=40001 SQLCODE=-911'
)
LOCK_TIMEOUT = (
    _EXECUTE + _SERVER + "SQL0911N  The current transaction has been rolled back because of a "
    'deadlock or timeout.  Reason code "68".  SQLSTATE=40001 SQLCODE=-911'
)
STATEMENT_DEADLOCK = (
    _EXECUTE + _SERVER + "SQL0913N  Unsuccessful execution caused by deadlock or timeout.  "
    'Reason code "68".  SQLSTATE=57033 SQLCODE=-913'
)
FORCED_OFF = (
    _EXECUTE + _SERVER + "SQL1224N  The database manager is not able to accept new requests, "
    "has terminated all requests in progress, or has terminated the specified request because "
    "of an error or a forced interrupt.  SQLSTATE=55032 SQLCODE=-1224"
)
REROUTED = (
    _EXECUTE + _SERVER + "SQL30108N  A connection failed in an automatic client reroute "
    'environment. The transaction was rolled back. Host name or IP address: "db2b.example". '
    'Service name or port number: "50000". Reason code: "1". Connection failure code: "2". '
    'Underlying error: "*".  SQLSTATE=08506 SQLCODE=-30108'
)
INTERRUPTED = (
    _EXECUTE + _SERVER + "SQL0952N  Processing was cancelled due to an interrupt.  "
    "SQLSTATE=57014 SQLCODE=-952"
)
DUPLICATE_KEY = (
    _EXECUTE + _SERVER + "SQL0803N  One or more values in the INSERT statement, UPDATE "
    "statement, or foreign key update caused by a DELETE statement are not valid because the "
    'primary key, unique constraint or unique index identified by "1" constrains table '
    '"DB2INST1.CORE_LOCKS" from having duplicate values for the index key.  '
    "SQLSTATE=23505 SQLCODE=-803"
)
UNDEFINED_NAME = (
    _SERVER + 'SQL0204N  "DB2INST1.WORKFLOW_RUNS" is an undefined name.  '
    "SQLSTATE=42704 SQLCODE=-204"
)
BAD_PASSWORD = (
    '[IBM][CLI Driver] SQL30082N  Security processing failed with reason "24" '
    '("USERNAME AND/OR PASSWORD INVALID").  SQLSTATE=08001 SQLCODE=-30082'
)


def _as_raised(message: str) -> sqlalchemy.exc.DBAPIError:
    """The error as the adapter sees it: ibm_db's Exception -> ibm_db_dbi class -> SQLAlchemy."""
    dbapi_error = ibm_db_dbi._get_exception(Exception(message))
    return sqlalchemy.exc.DBAPIError.instance(
        "SELECT 1 FROM SYSIBM.SYSDUMMY1", (), dbapi_error, ibm_db_dbi.Error
    )


@pytest.mark.parametrize(
    ("message", "category", "retryable", "sqlcode", "words"),
    [
        (DEADLOCK, ErrorCategory.TRANSIENT, True, -911, "deadlock"),
        (LOCK_TIMEOUT, ErrorCategory.TRANSIENT, True, -911, "lock timeout"),
        (STATEMENT_DEADLOCK, ErrorCategory.TRANSIENT, True, -913, "lock timeout"),
        (FORCED_OFF, ErrorCategory.TRANSIENT, True, -1224, "cannot accept requests"),
        (REROUTED, ErrorCategory.TRANSIENT, True, -30108, "re-routed"),
        (INTERRUPTED, ErrorCategory.TIMEOUT, True, -952, "cancelled"),
        (DUPLICATE_KEY, ErrorCategory.STORAGE, False, -803, "duplicate key"),
        (UNDEFINED_NAME, ErrorCategory.STORAGE, False, -204, "spine db upgrade"),
        (BAD_PASSWORD, ErrorCategory.AUTH, False, -30082, "user name or password"),
    ],
)
def test_driver_errors_are_classified(
    message: str, category: ErrorCategory, retryable: bool, sqlcode: int, words: str
) -> None:
    for raised in (Exception(message), ibm_db_dbi._get_exception(Exception(message))):
        error = classify_db2_error(raised)
        assert error is not None
        assert (error.category, error.retryable) == (category, retryable)
        assert error.context["sqlcode"] == sqlcode
        assert words in error.message
    wrapped = classify_db2_error(_as_raised(message))
    assert wrapped is not None
    assert (wrapped.category, wrapped.retryable) == (category, retryable)


def test_the_driver_maps_these_messages_to_the_dbapi_classes_spine_expects() -> None:
    # The DB-API class alone would mislead: SQL0911N is a ProgrammingError to ibm_db_dbi.
    assert type(ibm_db_dbi._get_exception(Exception(DUPLICATE_KEY))) is ibm_db_dbi.IntegrityError
    assert type(ibm_db_dbi._get_exception(Exception(DEADLOCK))) is ibm_db_dbi.ProgrammingError
    assert isinstance(_as_raised(DEADLOCK), sqlalchemy.exc.ProgrammingError)


def test_context_and_message_name_the_codes() -> None:
    error = classify_db2_error(_as_raised(DEADLOCK))
    assert error is not None
    assert error.context == {
        "message_id": "SQL0911N",
        "sqlcode": -911,
        "sqlstate": "40001",
        "reason_code": "2",
    }
    assert error.message.startswith("DB2 SQL0911N (SQLCODE -911, SQLSTATE 40001): ")
    assert "ibm_db_dbi::" not in error.message


def test_undefined_table_tells_how_to_fix_it() -> None:
    error = classify_db2_error(_as_raised(UNDEFINED_NAME))
    assert error is not None
    assert UPGRADE_HINT in error.message
    assert '"DB2INST1.WORKFLOW_RUNS" is an undefined name' in error.message


def test_unknown_db2_errors_fall_back_on_the_sqlstate_class() -> None:
    truncated = (
        "[IBM][CLI Driver] CLI0109E  String data right truncation. SQLSTATE=22001 SQLCODE=-99999"
    )
    assert _category(truncated) == ErrorCategory.VALIDATION
    check_violation = (
        _SERVER + "SQL0545N  The requested operation is not allowed because a row does not "
        'satisfy the check constraint "DB2INST1.T.CK1".  SQLSTATE=23513 SQLCODE=-545'
    )
    assert _category(check_violation) == ErrorCategory.STORAGE
    syntax = (
        _SERVER + 'SQL0104N  An unexpected token "FORM" was found following "SELECT * ".  '
        'Expected tokens may include:  "FROM".  SQLSTATE=42601 SQLCODE=-104'
    )
    assert _category(syntax) == ErrorCategory.STORAGE


def test_a_dropped_connection_without_sqlstate_is_transient() -> None:
    error = classify_db2_error(ibm_db_dbi.ProgrammingError("Connection is not active"))
    assert error is not None
    assert error.category == ErrorCategory.TRANSIENT


def test_errors_of_other_drivers_are_left_to_others() -> None:
    assert classify_db2_error(ValueError("SQLSTATE=40001 somewhere else")) is None
    assert classify_db2_error(ConnectionRefusedError(111, "Connection refused")) is None
    wrapped = sqlalchemy.exc.OperationalError("SELECT 1", (), RuntimeError("no such table: x"))
    assert classify_db2_error(wrapped) is None


def test_passwords_in_driver_text_are_masked() -> None:
    text = (
        '[IBM][CLI Driver] SQL1013N  The database alias name or database name "NOPE" could not '
        "be found.  SQLSTATE=42705 SQLCODE=-1013 while using DATABASE=NOPE;UID=spine;"
        "PWD=s3cret-pw; from db2+ibm_db://spine:s3cret-pw@db2.example:50000/NOPE"
    )
    error = classify_db2_error(Exception(text))
    assert error is not None
    assert "s3cret-pw" not in error.message
    assert "PWD=***" in error.message


def test_a_real_communication_error_from_the_driver_is_transient() -> None:
    """The real CLI driver against a closed port on 127.0.0.1 (takes the driver about 5 s)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    engine = sa.create_engine(f"db2+ibm_db://spine:s3cret-pw@127.0.0.1:{port}/SPINEDB")
    with pytest.raises(sqlalchemy.exc.OperationalError) as raised:
        engine.connect()
    engine.dispose()
    assert "SQL30081N" in str(raised.value)
    error = classify_db2_error(raised.value)
    assert error is not None
    assert (error.category, error.retryable) == (ErrorCategory.TRANSIENT, True)
    assert error.context["sqlcode"] == -30081
    assert "communication error" in error.message
    assert "s3cret-pw" not in error.message


def test_the_host_classifies_through_the_plugin_hook() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    try:
        error = host.classify(_as_raised(DUPLICATE_KEY))
    finally:
        host.close()
    assert (error.category, error.retryable) == (ErrorCategory.STORAGE, False)
    assert error.context["sqlcode"] == -803
    assert spine_classify_error(ValueError("not mine")) is None


def _category(message: str) -> Any:
    error = classify_db2_error(Exception(message))
    assert error is not None
    return error.category
