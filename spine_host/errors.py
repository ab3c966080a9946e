"""One error taxonomy for the whole host: every failure becomes a :class:`SpineError`.

A ``SpineError`` carries a category (what kind of failure), whether retrying can help, how long to
wait first, context for people, and the original exception. Runners retry on ``retryable``, alert
routing reads ``severity``, and history stores ``to_dict()``.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Callable, Mapping
from typing import Any

from spine_host.json_values import json_safe
from spine_host.severity import Severity

__all__ = [
    "ConfigError",
    "ErrorCategory",
    "PluginError",
    "SpineError",
    "classify",
]


class ErrorCategory(enum.StrEnum):
    """What kind of failure an error is; decides retry and default alert severity."""

    CONFIG = "CONFIG"
    VALIDATION = "VALIDATION"
    SOURCE = "SOURCE"
    NOT_FOUND = "NOT_FOUND"
    PARSE = "PARSE"
    STORAGE = "STORAGE"
    TRANSIENT = "TRANSIENT"
    TIMEOUT = "TIMEOUT"
    RATE_LIMIT = "RATE_LIMIT"
    AUTH = "AUTH"
    DEPENDENCY = "DEPENDENCY"
    PLUGIN = "PLUGIN"
    QUALITY = "QUALITY"
    INTERNAL = "INTERNAL"

    @property
    def retryable(self) -> bool:
        """True for the categories where trying again can succeed without a change by a person."""
        return self in _RETRYABLE

    @property
    def severity(self) -> Severity:
        """The alert severity a failure of this category gets unless someone says otherwise."""
        return _DEFAULT_SEVERITY[self]


_RETRYABLE = frozenset({ErrorCategory.TRANSIENT, ErrorCategory.TIMEOUT, ErrorCategory.RATE_LIMIT})

_DEFAULT_SEVERITY: Mapping[ErrorCategory, Severity] = {
    ErrorCategory.CONFIG: Severity.ERROR,
    ErrorCategory.VALIDATION: Severity.ERROR,
    ErrorCategory.SOURCE: Severity.ERROR,
    ErrorCategory.NOT_FOUND: Severity.ERROR,
    ErrorCategory.PARSE: Severity.ERROR,
    ErrorCategory.STORAGE: Severity.CRITICAL,
    ErrorCategory.TRANSIENT: Severity.WARNING,
    ErrorCategory.TIMEOUT: Severity.WARNING,
    ErrorCategory.RATE_LIMIT: Severity.WARNING,
    ErrorCategory.AUTH: Severity.CRITICAL,
    ErrorCategory.DEPENDENCY: Severity.ERROR,
    ErrorCategory.PLUGIN: Severity.ERROR,
    ErrorCategory.QUALITY: Severity.ERROR,
    ErrorCategory.INTERNAL: Severity.CRITICAL,
}


class SpineError(Exception):
    """A classified failure.

    Args:
        message: what went wrong, for a person; never contains a secret.
        category: the kind of failure.
        retryable: whether retrying can help; defaults to the category's rule.
        retry_after: seconds to wait before a retry, when the other side said so.
        context: small JSON-safe facts (path, table, status code) for history and alerts.
        cause: the original exception, kept for tracebacks.

    ``withhold_cause_text`` (an attribute) keeps the cause's own message out of ``to_dict()``:
    database drivers put row values in theirs (``DETAIL: Key (token)=(...)``), and history and
    alerts must not store data or secrets. Storage adapters set it for driver errors.
    """

    default_category = ErrorCategory.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        category: ErrorCategory | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        context: Mapping[str, Any] | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.category = category if category is not None else self.default_category
        self.retryable = self.category.retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.context: dict[str, Any] = dict(context or {})
        self.cause = cause
        self.withhold_cause_text = False
        if cause is not None:
            self.__cause__ = cause

    @property
    def severity(self) -> Severity:
        """The default alert severity of this error's category."""
        return self.category.severity

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for run history and alert payloads, URL credentials masked
        (``redact_url`` on every string: user-info passwords and secret query parameters)."""
        from spine_host.redaction import redact_strings

        data = self._raw_dict()
        cleaned: dict[str, Any] = redact_strings(data)
        return cleaned

    def _raw_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message": self.message,
            "category": self.category.value,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "severity": self.severity.name,
            "context": {key: json_safe(value) for key, value in self.context.items()},
        }
        if self.cause is not None:
            import traceback  # only for errors that are written down: start-up stays light

            cause_type = _qualified_name(type(self.cause))
            if self.withhold_cause_text:
                frames = "".join(traceback.format_tb(self.cause.__traceback__))
                data["cause"] = {
                    "type": cause_type,
                    "message": "(withheld: driver messages can hold row values)",
                    "traceback": f"{frames}{cause_type}: (message withheld)".rstrip(),
                }
            else:
                data["cause"] = {
                    "type": cause_type,
                    "message": str(self.cause),
                    "traceback": "".join(traceback.format_exception(self.cause)).rstrip(),
                }
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, category={self.category.value})"


class ConfigError(SpineError):
    """The configuration (spine.toml, environment, a CLI option) is wrong; exit code 2."""

    default_category = ErrorCategory.CONFIG


class PluginError(SpineError):
    """A plugin is broken, incompatible, or collides with another one."""

    default_category = ErrorCategory.PLUGIN


Classifier = Callable[[BaseException], "SpineError | None"]


def classify(exc: BaseException, *, plugin_classifier: Classifier | None = None) -> SpineError:
    """Turn any exception into a :class:`SpineError`.

    A ``SpineError`` is returned unchanged. Otherwise ``plugin_classifier`` (the host passes its
    ``spine_classify_error`` hook) is asked first, so a storage plugin can map its driver's
    exceptions; the built-in rules below apply when it has no answer.
    """
    if isinstance(exc, SpineError):
        return exc
    if plugin_classifier is not None:
        answer = plugin_classifier(exc)
        if answer is not None:
            return answer
    detail = str(exc)
    message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return SpineError(message, category=_builtin_category(exc), cause=exc)


def _builtin_category(exc: BaseException) -> ErrorCategory:
    # Order matters: FileNotFoundError is an OSError, TimeoutError is an OSError too.
    if isinstance(exc, FileNotFoundError):
        return ErrorCategory.NOT_FOUND
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return ErrorCategory.TIMEOUT
    if isinstance(exc, PermissionError):
        return ErrorCategory.AUTH
    if isinstance(exc, ConnectionError):
        return ErrorCategory.TRANSIENT
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return ErrorCategory.TRANSIENT
    if isinstance(exc, UnicodeError):
        return ErrorCategory.PARSE
    if isinstance(exc, ValueError | TypeError):
        return ErrorCategory.VALIDATION
    return ErrorCategory.INTERNAL


_TRANSIENT_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EPIPE,
        errno.EAGAIN,
    }
)


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
