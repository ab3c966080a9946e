"""The ``[sources.NAME] type = "http"`` table, as attrs classes the host structures with cattrs.

One table per concern keeps ``spine.toml`` readable::

    [sources.prices]
    type = "http"
    url = "https://api.example.com/v1/prices"
    records_path = "data.items"
    requests_per_second = 5

    [sources.prices.auth]
    type = "oauth2"
    token_url = "https://auth.example.com/token"
    client_id = "spine"
    client_secret = "${PRICES_CLIENT_SECRET}"

    [sources.prices.pagination]
    type = "cursor"
    cursor_path = "meta.next_cursor"
    cursor_param = "cursor"

Secret fields (tokens, passwords, keys, client secrets) are left out of ``repr`` so a config
printed in a log or a traceback never shows them.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from spine_http.origins import host_entry_problem

__all__ = [
    "ApiKeyLocation",
    "AuthConfig",
    "AuthType",
    "HttpSourceConfig",
    "PaginationConfig",
    "PaginationType",
    "RetryConfig",
]


class AuthType(enum.Enum):
    """How requests prove who is asking."""

    NONE = "none"
    BEARER = "bearer"
    BASIC = "basic"
    API_KEY = "api_key"
    OAUTH2 = "oauth2"


class ApiKeyLocation(enum.Enum):
    """Where an API key travels."""

    HEADER = "header"
    QUERY = "query"


class PaginationType(enum.Enum):
    """How the next page is asked for."""

    NONE = "none"
    OFFSET = "offset"
    PAGE = "page"
    CURSOR = "cursor"
    LINK = "link"


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


# The enums above are plain Enums, not StrEnums: spine_host.structuring's exact-``str`` hook
# would take a StrEnum (a str subclass) and pass the raw string through unchecked.

# Which fields each auth type needs; checked once, when the table is structured.
_AUTH_REQUIRED: dict[AuthType, tuple[str, ...]] = {
    AuthType.NONE: (),
    AuthType.BEARER: ("token",),
    AuthType.BASIC: ("username", "password"),
    AuthType.API_KEY: ("key",),
    AuthType.OAUTH2: ("token_url", "client_id", "client_secret"),
}


@attrs.frozen(kw_only=True)
class AuthConfig:
    """``[sources.NAME.auth]``: one of none, bearer, basic, api_key, oauth2.

    Args:
        type: the auth style.
        token: bearer token.
        username: basic auth user.
        password: basic auth password.
        key: the API key value.
        name: header or query parameter that carries the API key.
        location: ``header`` or ``query``.
        token_url: OAuth2 token endpoint (client credentials grant).
        client_id: OAuth2 client id.
        client_secret: OAuth2 client secret.
        scope: OAuth2 scope, sent when set.
    """

    type: AuthType = AuthType.NONE
    token: str | None = attrs.field(default=None, repr=False)
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    key: str | None = attrs.field(default=None, repr=False)
    name: str = "X-API-Key"
    location: ApiKeyLocation = ApiKeyLocation.HEADER
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    scope: str | None = None

    def missing(self) -> list[str]:
        """Fields this auth type needs but the table leaves empty.

        Checked by the source rather than in ``__attrs_post_init__``: a structuring error
        quotes the whole table, secrets included.
        """
        return [field for field in _AUTH_REQUIRED[self.type] if not getattr(self, field)]

    def secrets(self) -> list[str]:
        """The secret values in this table, for masking in messages."""
        values = (self.token, self.password, self.key, self.client_secret)
        return [value for value in values if value]


@attrs.frozen(kw_only=True)
class PaginationConfig:
    """``[sources.NAME.pagination]``: how to walk through pages.

    Args:
        type: none, offset (offset/limit), page (page number), cursor (at a JSON path), link
            (``Link: <...>; rel="next"``).
        page_size: records asked for per page (offset and page styles); a shorter page ends
            the walk.
        offset_param: query parameter for the offset.
        limit_param: query parameter for the page size (offset style).
        page_param: query parameter for the page number.
        size_param: query parameter for the page size (page style); not sent when empty.
        start_page: number of the first page.
        cursor_path: dotted JSON path to the next cursor in each response.
        cursor_param: query parameter that sends the cursor back.
        max_pages: stop with an error after this many pages (a guard against endless loops).
    """

    type: PaginationType = PaginationType.NONE
    page_size: int = attrs.field(default=100, validator=_positive)
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_param: str = "page"
    size_param: str = ""
    start_page: int = 1
    cursor_path: str = "next_cursor"
    cursor_param: str = "cursor"
    max_pages: int = attrs.field(default=10_000, validator=_positive)


@attrs.frozen(kw_only=True)
class RetryConfig:
    """``[sources.NAME.retry]``: retries of one request on 429, 5xx, timeouts and resets.

    Args:
        max_attempts: attempts per request including the first.
        delay: seconds before the first retry; doubles each time (exponential backoff).
        max_delay: cap on the backoff wait.
        max_retry_after: a server asking to wait longer than this is not waited for: the
            request fails as RATE_LIMIT with the server's ``retry_after`` for the caller.
    """

    max_attempts: int = attrs.field(default=4, validator=_positive)
    delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=120.0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class HttpSourceConfig:
    """``[sources.NAME] type = "http"``.

    Args:
        url: the endpoint (its first page).
        method: HTTP method, GET unless the API wants POST.
        params: query parameters sent with every request; ``fetch(params)`` adds to them.
        headers: extra request headers.
        records_path: dotted path to the list of records in each JSON response; empty means
            the response itself is the list.
        connect_timeout: seconds to wait for a connection.
        read_timeout: seconds to wait for the server between bytes.
        verify: verify TLS certificates (on by default).
        ca_bundle: a CA bundle file to verify against instead of the system's.
        requests_per_second: the most requests sent per second; unlimited when unset.
        allowed_hosts: hosts other than ``url``'s (``host`` for any port, ``host:port`` for
            one) that next-page URLs may point to; they are sent no credentials. A next page
            anywhere else is a SOURCE error.
        auth: the ``auth`` table.
        pagination: the ``pagination`` table.
        retry: the ``retry`` table.
    """

    url: str
    method: str = "GET"
    params: dict[str, Any] = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    records_path: str = ""
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    verify: bool = True
    ca_bundle: str | None = None
    requests_per_second: float | None = None
    allowed_hosts: list[str] = attrs.field(factory=list)
    auth: AuthConfig = attrs.field(factory=AuthConfig)
    pagination: PaginationConfig = attrs.field(factory=PaginationConfig)
    retry: RetryConfig = attrs.field(factory=RetryConfig)

    def secrets(self) -> list[str]:
        """Secret values that must never appear in messages."""
        return self.auth.secrets()

    def problems(self) -> list[str]:
        """What is wrong with this table, one message per problem, relative to its path.

        These checks run when the source is built instead of as attrs validators: a
        structuring error quotes the whole table, and this one holds the auth secrets.
        """
        problems = [
            f"{field} = {value!r}: must be > 0"
            for field, value in (
                ("connect_timeout", self.connect_timeout),
                ("read_timeout", self.read_timeout),
                ("requests_per_second", self.requests_per_second),
            )
            if value is not None and value <= 0
        ]
        missing = self.auth.missing()
        if missing:
            problems.append(f"auth: type {self.auth.type.value!r} needs {', '.join(missing)}")
        if not self.url:
            problems.append("url: required")
        problems.extend(
            f"allowed_hosts: {problem}"
            for problem in map(host_entry_problem, self.allowed_hosts)
            if problem is not None
        )
        return problems
