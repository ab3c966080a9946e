"""Which URLs a source may send to, and which of them get its credentials.

A next-page URL comes from the server (a ``Link`` header, a body field a subclass reads), so a
compromised or careless API could point it anywhere. Credentials go only to the configured
``url``'s origin (scheme, host and port); another origin is followed only when its host is in
``allowed_hosts``, and then without credentials. Anything else is refused before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import attrs

from spine_host.errors import ErrorCategory, SpineError

__all__ = ["Origin", "OriginPolicy", "host_entry_problem"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@attrs.frozen
class Origin:
    """A URL's scheme, host (lower case) and port (the scheme's default when not written)."""

    scheme: str
    host: str
    port: int | None

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of ``url``.

        Raises:
            ValueError: for a port that is not a number.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return cls(scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme))

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}" + (f":{self.port}" if self.port else "")


@attrs.frozen
class OriginPolicy:
    """Decides, per URL, whether to send a request and whether to attach credentials.

    Args:
        home: the configured ``url``; its origin gets the credentials.
        allowed_hosts: other hosts (``host`` for any port, ``host:port`` for one) that may
            be followed, without credentials.
    """

    home: Origin
    allowed_hosts: frozenset[str]

    @classmethod
    def for_url(cls, url: str, allowed_hosts: Iterable[str] = ()) -> OriginPolicy:
        """The policy of a source whose configured URL is ``url``."""
        return cls(Origin.of(url), frozenset(entry.strip().lower() for entry in allowed_hosts))

    def credentials_for(self, url: str, *, shown: str, what: str = "next page URL") -> bool:
        """Whether a request to ``url`` carries the credentials.

        Args:
            url: where the request goes.
            shown: the URL as messages may show it (no secrets).
            what: what the URL is, for messages (``next page URL``, ``redirect to``).

        Raises:
            SpineError: SOURCE when ``url`` is on another origin whose host is not allowed;
                nothing has been sent to it.
        """
        try:
            origin = Origin.of(url)
        except ValueError as exc:
            raise SpineError(
                f"{what} {shown} is not a valid URL: {exc}",
                category=ErrorCategory.SOURCE,
            ) from None
        if origin == self.home:
            return True
        if origin.scheme in _DEFAULT_PORTS and self._allowed(origin):
            return False
        entry = f"{origin.host}:{origin.port}" if origin.port else origin.host
        raise SpineError(
            f"{what} {shown} is on host {entry}, not on the configured {self.home}; refusing "
            f"to follow it (list {entry!r} in allowed_hosts to follow it without credentials)",
            category=ErrorCategory.SOURCE,
            context={"host": origin.host, "port": origin.port},
        )

    def _allowed(self, origin: Origin) -> bool:
        # An IPv6 host is written in brackets when a port follows it: [::1]:8443.
        written = {origin.host, f"{origin.host}:{origin.port}", f"[{origin.host}]:{origin.port}"}
        return not written.isdisjoint(self.allowed_hosts)


def host_entry_problem(entry: str) -> str | None:
    """Why ``entry`` is not a ``host`` or ``host:port`` for ``allowed_hosts``; None if it is."""
    if not entry.strip() or any(mark in entry for mark in "/@?# "):
        return f"{entry!r} is not a host or host:port (no scheme, path or credentials)"
    return None
