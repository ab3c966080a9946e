"""The error taxonomy: classification, retryability, severity and the JSON form."""

from __future__ import annotations

import json

import pytest

from spine_host import ErrorCategory, Host, Severity, SpineError, classify
from tests.plugins import sql_classifier


def test_missing_file_is_not_found_and_never_retried() -> None:
    error = classify(FileNotFoundError(2, "No such file or directory", "/data/otc.psv"))
    assert error.category is ErrorCategory.NOT_FOUND
    assert error.retryable is False
    assert "/data/otc.psv" in error.message


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (ConnectionError("peer went away"), ErrorCategory.TRANSIENT),
        (ConnectionRefusedError(111, "Connection refused"), ErrorCategory.TRANSIENT),
        (ConnectionResetError(104, "Connection reset by peer"), ErrorCategory.TRANSIENT),
        (TimeoutError("read timed out"), ErrorCategory.TIMEOUT),
        (TimeoutError("timed out"), ErrorCategory.TIMEOUT),
    ],
)
def test_connection_and_timeout_errors_are_retryable(
    exc: BaseException, category: ErrorCategory
) -> None:
    error = classify(exc)
    assert error.category is category
    assert error.retryable is True
    assert error.cause is exc


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (PermissionError("denied"), ErrorCategory.AUTH),
        (ValueError("bad week"), ErrorCategory.VALIDATION),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), ErrorCategory.PARSE),
        (RuntimeError("boom"), ErrorCategory.INTERNAL),
    ],
)
def test_other_errors_are_not_retryable(exc: BaseException, category: ErrorCategory) -> None:
    error = classify(exc)
    assert error.category is category
    assert error.retryable is False


def test_a_spine_error_is_returned_unchanged() -> None:
    original = SpineError("quota", category=ErrorCategory.RATE_LIMIT, retry_after=30)
    assert classify(original) is original
    assert original.retryable is True
    assert original.retry_after == 30


def test_explicit_retryable_overrides_the_category_rule() -> None:
    assert SpineError("x", category=ErrorCategory.STORAGE, retryable=True).retryable is True
    assert SpineError("x", category=ErrorCategory.TRANSIENT, retryable=False).retryable is False


def test_plugin_answer_wins_over_the_builtin_rules() -> None:
    host = Host(plugins=[sql_classifier], load_entrypoints=False, environ={})
    driver_error = sql_classifier.FlakyDriverError("could not serialize access")
    assert classify(driver_error).category is ErrorCategory.INTERNAL
    mapped = host.classify(driver_error)
    assert mapped.category is ErrorCategory.TRANSIENT
    assert mapped.message == "driver says: could not serialize access"
    # and it wins even where a builtin rule exists
    assert host.classify(ConnectionError("reset")).message == "driver says: reset"
    # a plugin with no answer leaves the builtin rules in force
    assert host.classify(FileNotFoundError("x")).category is ErrorCategory.NOT_FOUND


def test_every_category_has_a_default_severity() -> None:
    assert {category.severity for category in ErrorCategory} <= set(Severity)
    assert ErrorCategory.STORAGE.severity is Severity.CRITICAL
    assert ErrorCategory.TRANSIENT.severity is Severity.WARNING
    assert SpineError("x", category=ErrorCategory.AUTH).severity is Severity.CRITICAL


def test_to_dict_is_json_safe_and_keeps_the_cause() -> None:
    try:
        raise OSError("disk on fire")
    except OSError as exc:
        error = SpineError(
            "could not write",
            category=ErrorCategory.STORAGE,
            context={"table": "executions", "rows": 3, "when": object()},
            cause=exc,
        )
    data = json.loads(json.dumps(error.to_dict()))
    assert data["category"] == "STORAGE"
    assert data["retryable"] is False
    assert data["severity"] == "CRITICAL"
    assert data["context"]["table"] == "executions"
    assert data["context"]["rows"] == 3
    assert data["cause"]["type"] == "OSError"
    assert "disk on fire" in data["cause"]["traceback"]
