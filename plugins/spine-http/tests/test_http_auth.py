"""Each auth style reaches a protected endpoint on a real local server; secrets stay hidden."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from spine_host.errors import ConfigError, ErrorCategory

ROWS = [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}]
NO_RETRY_DELAY = {"delay": 0.0, "max_attempts": 3}


def guarded(check: Any) -> Any:
    """A handler answering ROWS when ``check(request)`` holds, else 401."""
    return lambda request: ROWS if check(request) else (401, {"error": "unauthorized"})


def test_bearer_token_reaches_the_protected_endpoint(api: Any, http_source: Any) -> None:
    api.route("/data", guarded(lambda r: r.header("Authorization") == "Bearer tok-123"))
    source = http_source(url=api.url("/data"), auth={"type": "bearer", "token": "tok-123"})

    result = source.fetch()

    assert result.ok, result.error
    assert result.rows() == ROWS


def test_basic_auth_reaches_the_protected_endpoint(api: Any, http_source: Any) -> None:
    expected = "Basic " + base64.b64encode("reader:pä ss".encode()).decode()
    api.route("/data", guarded(lambda r: r.header("Authorization") == expected))
    auth = {"type": "basic", "username": "reader", "password": "pä ss"}

    result = http_source(url=api.url("/data"), auth=auth).fetch()

    assert result.ok, result.error
    assert result.row_count == 2


def test_api_key_in_a_header_reaches_the_protected_endpoint(api: Any, http_source: Any) -> None:
    api.route("/data", guarded(lambda r: r.header("X-Api-Key") == "k-777"))
    auth = {"type": "api_key", "key": "k-777", "name": "X-Api-Key", "location": "header"}

    result = http_source(url=api.url("/data"), auth=auth).fetch()

    assert result.ok, result.error
    assert "k-777" not in api.url("/data")


def test_api_key_in_the_query_reaches_the_endpoint_and_stays_out_of_metadata(
    api: Any, http_source: Any
) -> None:
    api.route("/data", guarded(lambda r: r.query.get("key") == "k-999"))
    auth = {"type": "api_key", "key": "k-999", "name": "key", "location": "query"}
    source = http_source(url=api.url("/data") + "?key=k-999-in-url", auth=auth)

    result = source.fetch()

    assert result.ok, result.error
    assert result.metadata is not None
    assert "k-999" not in result.metadata.uri
    assert "key=***" in result.metadata.uri


def _token_endpoint(api: Any, *, lifetime: int = 3600) -> list[str]:
    """Issue tok-1, tok-2... to client spine/shh-secret; returns the list of issued tokens."""
    issued: list[str] = []
    expected = "Basic " + base64.b64encode(b"spine:shh-secret").decode()

    def token(request: Any) -> Any:
        form = dict(pair.split("=") for pair in request.body.decode().split("&"))
        if request.header("Authorization") != expected or form["grant_type"] != (
            "client_credentials"
        ):
            return 401, {"error": "invalid_client"}
        issued.append(f"tok-{len(issued) + 1}")
        return {"access_token": issued[-1], "token_type": "Bearer", "expires_in": lifetime}

    api.route("/token", token)
    return issued


def _oauth2(api: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "oauth2",
        "token_url": api.url("/token"),
        "client_id": "spine",
        "client_secret": "shh-secret",
        **extra,
    }


def test_oauth2_token_is_fetched_once_and_reused(api: Any, http_source: Any) -> None:
    issued = _token_endpoint(api)
    api.route("/data", guarded(lambda r: r.header("Authorization") == f"Bearer {issued[-1]}"))
    source = http_source(url=api.url("/data"), auth=_oauth2(api, scope="prices:read"))

    first, second = source.fetch(), source.fetch()

    assert first.ok, first.error
    assert second.ok, second.error
    assert len(api.hits("/token")) == 1
    assert b"scope=prices%3Aread" in api.hits("/token")[0].body


def test_expired_oauth2_token_is_refreshed_once_after_a_401(api: Any, http_source: Any) -> None:
    issued = _token_endpoint(api)
    # The server expires tok-1 early (before its expires_in): only the newest token works.
    api.route("/data", guarded(lambda r: r.header("Authorization") == "Bearer tok-2"))
    source = http_source(url=api.url("/data"), auth=_oauth2(api))

    result = source.fetch()

    assert result.ok, result.error
    assert len(api.hits("/token")) == 2
    assert [hit.header("Authorization") for hit in api.hits("/data")] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert issued == ["tok-1", "tok-2"]


def test_oauth2_token_is_refreshed_when_its_lifetime_runs_out(api: Any, http_source: Any) -> None:
    _token_endpoint(api, lifetime=1)
    api.route("/data", lambda request: ROWS)
    source = http_source(url=api.url("/data"), auth=_oauth2(api))

    assert source.fetch().ok
    time.sleep(0.6)  # past the token's lifetime minus the refresh margin (half of 1 s)
    assert source.fetch().ok

    assert len(api.hits("/token")) == 2
    assert [hit.header("Authorization") for hit in api.hits("/data")] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_oauth2_refresh_happens_once_not_in_a_loop(api: Any, http_source: Any) -> None:
    _token_endpoint(api)
    api.route("/data", lambda request: (401, {"error": "unauthorized"}))
    source = http_source(url=api.url("/data"), auth=_oauth2(api), retry=NO_RETRY_DELAY)

    result = source.fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.AUTH
    assert len(api.hits("/token")) == 2
    assert len(api.hits("/data")) == 2


def test_refused_client_credentials_fail_as_auth_without_the_secret(
    api: Any, http_source: Any
) -> None:
    _token_endpoint(api)
    api.route("/data", lambda request: ROWS)
    auth = _oauth2(api, client_secret="wrong-secret")

    result = http_source(url=api.url("/data"), auth=auth, retry=NO_RETRY_DELAY).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.AUTH
    assert len(api.hits("/token")) == 1
    assert api.hits("/data") == []
    assert "wrong-secret" not in json.dumps(result.error.to_dict())


def test_a_wrong_bearer_token_fails_as_auth_once_and_is_not_shown(
    api: Any, http_source: Any
) -> None:
    api.route("/data", guarded(lambda r: r.header("Authorization") == "Bearer right"))
    auth = {"type": "bearer", "token": "wrong-token"}

    result = http_source(url=api.url("/data"), auth=auth, retry=NO_RETRY_DELAY).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.AUTH
    assert not result.error.retryable
    assert len(api.hits("/data")) == 1
    assert "wrong-token" not in json.dumps(result.error.to_dict())


def test_an_incomplete_auth_table_names_what_is_missing_not_the_secrets(http_source: Any) -> None:
    auth = {"type": "oauth2", "client_id": "spine", "client_secret": "do-not-print"}

    with pytest.raises(ConfigError) as caught:
        http_source("prices", url="http://127.0.0.1:9/x", auth=auth)

    assert "sources.prices.auth" in caught.value.message
    assert "token_url" in caught.value.message
    assert "do-not-print" not in caught.value.message
