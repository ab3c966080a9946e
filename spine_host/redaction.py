"""Keeping secrets out of everything spine prints: config dumps, logs, errors and alerts.

A secret is any value interpolated from ``${ENV}`` in ``spine.toml``, any value under a key that
names a credential (``password``, ``token``, ``webhook_url``...), and the password in a URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MASK",
    "RedactingFilter",
    "Redactor",
    "is_secret_key",
    "redact_strings",
    "redact_url",
]

MASK = "***"

_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api_key|apikey|private_key|webhook_url|credential|client_secret)",
    re.IGNORECASE,
)
# A password cannot hold a raw "/" (it would be percent-encoded): without that rule the port
# and path of "https://h:8080/a@b" would be taken for a user and password.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s/]*)@")
# A query parameter named like a credential (``?password=``, ``&api_key=``...): its value.
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;](?:password|passwd|pass|pwd|token|api_key|apikey|key|secret|signature|sig|"
    r"access_token|refresh_token|client_secret|auth|authorization|credentials?)=)"
    r"(?P<value>[^&#;\s'\"<>]+)",
    re.IGNORECASE,
)
# Shorter values would mask ordinary words in messages; such secrets are masked by key instead.
_MIN_SECRET_LENGTH = 4


def is_secret_key(key: str) -> bool:
    """True when a configuration key names a credential."""
    return bool(_SECRET_KEY.search(key))


def redact_url(text: str) -> str:
    """Mask URL credentials in ``text``: the password of every ``scheme://user:password@host``
    and the value of every query parameter named like one (``?password=``, ``&api_key=``,
    ``token``, ``key``, ``signature``...)."""
    text = _URL_PASSWORD.sub(lambda match: f"{match['head']}{MASK}@", text)
    if "=" not in text:
        return text
    return _QUERY_SECRET.sub(lambda match: f"{match['head']}{MASK}", text)


def redact_strings(data: Any) -> Any:
    """A copy of JSON-like ``data`` with :func:`redact_url` applied to every string in it."""
    if isinstance(data, str):
        return redact_url(data)
    if isinstance(data, Mapping):
        return {key: redact_strings(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [redact_strings(item) for item in data]
    return data


class Redactor:
    """Masks known secret values (and URL passwords) wherever they appear in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember more secret values."""
        self._secrets.update(value for value in secrets if len(value) >= _MIN_SECRET_LENGTH)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and URL password replaced by ``***``."""
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return redact_url(text)

    def redact_data(self, data: Any, key: str = "") -> Any:
        """A copy of nested dicts and lists with secret keys and secret values masked."""
        if isinstance(data, Mapping):
            return {name: self.redact_data(value, str(name)) for name, value in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(item, key) for item in data]
        if isinstance(data, str):
            if key and is_secret_key(key) and data:
                return MASK
            return self.redact(data)
        return data


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's rendered message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message, mask it, and keep the record.

        A record whose arguments do not fit its format (``log.info("%d", "x")``) is kept with
        its format string as the message: logging reports such a record instead of raising
        inside the caller, and a filter must not raise either (filters run before that guard).
        """
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!s} (its arguments could not be formatted)"
            record.msg, record.args = message, None
        masked = self._redactor.redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._redactor.redact(text)
        return True
