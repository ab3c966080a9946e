"""How requests prove who is asking: bearer token, basic, API key, OAuth2 client credentials.

An authenticator adds its credentials to each request's headers or query parameters. Only
OAuth2 can do anything about a 401: drop its cached token and fetch a new one, which the client
does once per request. Nothing here imports requests; the OAuth2 token call goes through the
:class:`TokenTransport` the client hands in.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_http.config import ApiKeyLocation, AuthConfig, AuthType
from spine_http.errors import error_for_status, safe_url

__all__ = [
    "ApiKeyAuth",
    "Authenticator",
    "BasicAuth",
    "BearerAuth",
    "NoAuth",
    "OAuth2ClientCredentials",
    "TokenResponse",
    "TokenTransport",
    "authenticator_for",
]


class Authenticator(Protocol):
    """Adds credentials to a request."""

    #: Query parameters that carry a secret, masked wherever a URL is shown.
    secret_params: Collection[str]

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Add credentials to one request's headers or query parameters, in place."""

    def refresh(self) -> bool:
        """After a 401: forget cached credentials; True when a new attempt could succeed."""


@attrs.frozen(kw_only=True)
class TokenResponse:
    """What the token endpoint answered."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class TokenTransport(Protocol):
    """Sends the OAuth2 token request (the HTTP client implements it)."""

    def post_form(
        self, url: str, data: Mapping[str, str], *, basic: tuple[str, str] | None
    ) -> TokenResponse:
        """POST ``data`` form-encoded to ``url``, with HTTP basic auth when given."""


def authenticator_for(config: AuthConfig, transport: TokenTransport) -> Authenticator:
    """The authenticator for a ``[sources.NAME.auth]`` table (already checked complete)."""
    if config.type is AuthType.BEARER:
        return BearerAuth(str(config.token))
    if config.type is AuthType.BASIC:
        return BasicAuth(str(config.username), str(config.password))
    if config.type is AuthType.API_KEY:
        return ApiKeyAuth(str(config.key), name=config.name, location=config.location)
    if config.type is AuthType.OAUTH2:
        return OAuth2ClientCredentials(config, transport)
    return NoAuth()


class NoAuth:
    """Anonymous requests."""

    secret_params: Collection[str] = ()

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Add nothing."""

    def refresh(self) -> bool:
        """Nothing to refresh."""
        return False


class BearerAuth:
    """``Authorization: Bearer <token>`` with a fixed token."""

    secret_params: Collection[str] = ()

    def __init__(self, token: str) -> None:
        self._token = token

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Send the token."""
        headers["Authorization"] = f"Bearer {self._token}"

    def refresh(self) -> bool:
        """A fixed token cannot be refreshed."""
        return False

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class BasicAuth:
    """HTTP basic auth (RFC 7617), UTF-8 encoded."""

    secret_params: Collection[str] = ()

    def __init__(self, username: str, password: str) -> None:
        credentials = f"{username}:{password}".encode()
        self._header = f"Basic {base64.b64encode(credentials).decode('ascii')}"

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Send user and password."""
        headers["Authorization"] = self._header

    def refresh(self) -> bool:
        """Fixed credentials cannot be refreshed."""
        return False

    def __repr__(self) -> str:
        return "BasicAuth(***)"


class ApiKeyAuth:
    """An API key in a named header or query parameter."""

    def __init__(self, key: str, *, name: str, location: ApiKeyLocation) -> None:
        self._key = key
        self.name = name
        self.location = location
        self.secret_params: Collection[str] = (name,) if location is ApiKeyLocation.QUERY else ()

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Send the key where the API expects it."""
        if self.location is ApiKeyLocation.QUERY:
            params[self.name] = self._key
        else:
            headers[self.name] = self._key

    def refresh(self) -> bool:
        """A fixed key cannot be refreshed."""
        return False

    def __repr__(self) -> str:
        return f"ApiKeyAuth(name={self.name!r}, location={self.location.value!r}, key=***)"


# Refresh a token this long before the server says it expires (at most half its lifetime), so
# a request never leaves with a token that dies on the way.
_EXPIRY_MARGIN_SECONDS = 30.0


class OAuth2ClientCredentials:
    """OAuth2 client credentials grant (RFC 6749 §4.4) with a cached token.

    The token is fetched on first use and reused until shortly before ``expires_in`` runs out,
    or until :meth:`refresh` after a 401 (a token revoked early). The client authenticates to
    the token endpoint with HTTP basic auth, which RFC 6749 §2.3.1 makes every server accept.
    Thread-safe: concurrent requests share one token and one token call.

    Args:
        config: the auth table (token_url, client_id, client_secret, scope).
        transport: sends the token request.
        clock: monotonic seconds; injectable for tests.
    """

    secret_params: Collection[str] = ()

    def __init__(
        self,
        config: AuthConfig,
        transport: TokenTransport,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: float | None = None

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Send the cached token, fetching a new one when there is none or it expired."""
        headers["Authorization"] = f"Bearer {self._current_token()}"

    def refresh(self) -> bool:
        """Forget the token so the next request fetches a fresh one."""
        with self._lock:
            self._token = None
            self._expires_at = None
        return True

    def _current_token(self) -> str:
        with self._lock:
            expired = self._expires_at is not None and self._clock() >= self._expires_at
            if self._token is None or expired:
                self._token, self._expires_at = self._request_token()
            return self._token

    def _request_token(self) -> tuple[str, float | None]:
        config = self._config
        url = safe_url(str(config.token_url))
        data = {"grant_type": "client_credentials"}
        if config.scope:
            data["scope"] = config.scope
        basic = (str(config.client_id), str(config.client_secret))
        response = self._transport.post_form(str(config.token_url), data, basic=basic)
        if response.status in (400, 401, 403):
            # RFC 6749 §5.2: invalid_client / invalid_grant come back as 400 or 401.
            raise SpineError(
                f"OAuth2 token request to {url} refused the client credentials "
                f"(HTTP {response.status})",
                category=ErrorCategory.AUTH,
                context={"status": response.status, "url": url},
            )
        error = error_for_status(response.status, response.headers, method="POST", url=url)
        if error is not None:
            raise error
        return self._parse_token(response.body, url)

    def _parse_token(self, body: bytes, url: str) -> tuple[str, float | None]:
        try:
            answer = json.loads(body)
            token = answer["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SpineError(
                f"OAuth2 token response from {url} has no access_token",
                category=ErrorCategory.AUTH,
                context={"url": url},
            ) from exc
        lifetime = answer.get("expires_in")
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
            return str(token), None
        margin = min(_EXPIRY_MARGIN_SECONDS, lifetime / 2)
        return str(token), self._clock() + lifetime - margin

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self._config.token_url!r}, client_secret=***)"
