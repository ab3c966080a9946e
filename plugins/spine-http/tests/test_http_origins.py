"""Credentials go only to the configured URL's origin, whatever next pages and redirects say.

Two real servers on 127.0.0.1 with different ports are two origins: ``home`` is the configured
``url``, ``other`` is where a hostile or careless API points its next page or redirect.
"""

from __future__ import annotations

from typing import Any

import pytest

from spine_host.errors import ConfigError, ErrorCategory

BEARER = {"type": "bearer", "token": "tok-SECRET-123"}
QUERY_KEY = {"type": "api_key", "key": "KEY-SECRET", "location": "query", "name": "api_key"}
HEADER_KEY = {"type": "api_key", "key": "KEY-SECRET", "name": "X-Api-Key"}


# ApiServer, from conftest (which --import-mode=importlib does not let a test import).
ApiServer = Any


@pytest.fixture
def other(other_api: ApiServer) -> ApiServer:
    other_api.route("/steal", lambda r: [{"id": 2}])
    return other_api


def host_port(server: ApiServer) -> str:
    return server.base_url.removeprefix("http://")


def credentials_seen(
    server: ApiServer, path: str
) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (hit.header("Authorization"), hit.header("X-Api-Key"), hit.query.get("api_key"))
        for hit in server.hits(path)
    ]


def link_to(target: str) -> Any:
    return lambda r: (200, [{"id": 1}], {"Link": f'<{target}>; rel="next"'})


@pytest.mark.parametrize("auth", [BEARER, QUERY_KEY, HEADER_KEY])
def test_a_next_page_on_another_origin_is_refused_before_anything_is_sent(
    api: ApiServer, other: ApiServer, http_source: Any, auth: dict[str, str]
) -> None:
    api.route("/items", link_to(other.url("/steal")))

    result = http_source(url=api.url("/items"), auth=auth, pagination={"type": "link"}).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.SOURCE
    assert host_port(other) in result.error.message
    assert "allowed_hosts" in result.error.message
    assert other.received == []
    assert "SECRET" not in result.error.message


def test_another_scheme_on_the_same_host_and_port_is_another_origin(
    api: ApiServer, http_source: Any
) -> None:
    api.route("/items", link_to(api.url("/items").replace("http://", "https://")))

    result = http_source(url=api.url("/items"), auth=BEARER, pagination={"type": "link"}).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.SOURCE
    assert "allowed_hosts" in result.error.message
    assert len(api.hits("/items")) == 1


@pytest.mark.parametrize("entry", ["{host_port}", "127.0.0.1"])
@pytest.mark.parametrize("auth", [BEARER, QUERY_KEY, HEADER_KEY])
def test_an_allowed_host_is_followed_without_credentials(
    api: ApiServer, other: ApiServer, http_source: Any, auth: dict[str, str], entry: str
) -> None:
    api.route("/items", link_to(other.url("/steal")))
    source = http_source(
        url=api.url("/items"),
        auth=auth,
        pagination={"type": "link"},
        allowed_hosts=[entry.format(host_port=host_port(other))],
    )

    result = source.fetch()

    assert result.ok, result.error
    assert [row["id"] for row in result.rows()] == [1, 2]
    assert credentials_seen(other, "/steal") == [(None, None, None)]
    assert credentials_seen(api, "/items") != [(None, None, None)]


def test_next_pages_on_the_configured_origin_keep_their_credentials(
    api: ApiServer, http_source: Any
) -> None:
    api.route(
        "/items",
        lambda r: [{"id": 9}] if r.query.get("page") else link_to(api.url("/items?page=2"))(r),
    )

    result = http_source(url=api.url("/items"), auth=BEARER, pagination={"type": "link"}).fetch()

    assert result.ok, result.error
    assert credentials_seen(api, "/items") == [("Bearer tok-SECRET-123", None, None)] * 2


@pytest.mark.parametrize("auth", [BEARER, QUERY_KEY, HEADER_KEY])
def test_a_redirect_to_another_origin_is_refused(
    api: ApiServer, other: ApiServer, http_source: Any, auth: dict[str, str]
) -> None:
    api.route("/items", lambda r: (302, None, {"Location": other.url("/steal")}))

    result = http_source(url=api.url("/items"), auth=auth).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.SOURCE
    assert "redirect" in result.error.message
    assert other.received == []


@pytest.mark.parametrize("auth", [BEARER, QUERY_KEY, HEADER_KEY])
def test_a_redirect_to_an_allowed_host_carries_no_credentials(
    api: ApiServer, other: ApiServer, http_source: Any, auth: dict[str, str]
) -> None:
    api.route("/items", lambda r: (302, None, {"Location": other.url("/steal?keep=1")}))
    source = http_source(url=api.url("/items"), auth=auth, allowed_hosts=[host_port(other)])

    result = source.fetch()

    assert result.ok, result.error
    assert credentials_seen(other, "/steal") == [(None, None, None)]
    assert other.hits("/steal")[0].query == {"keep": "1"}


def test_a_redirect_that_repeats_the_query_key_loses_it_on_another_origin(
    api: ApiServer, other: ApiServer, http_source: Any
) -> None:
    target = other.url("/steal?api_key=KEY-SECRET&keep=1")
    api.route("/items", lambda r: (302, None, {"Location": target}))
    source = http_source(url=api.url("/items"), auth=QUERY_KEY, allowed_hosts=[host_port(other)])

    result = source.fetch()

    assert result.ok, result.error
    assert other.hits("/steal")[0].query == {"keep": "1"}


@pytest.mark.parametrize("entry", ["https://api.example.com", "api.example.com/v1", "", "u@h"])
def test_allowed_hosts_must_be_hosts(http_source: Any, entry: str) -> None:
    with pytest.raises(ConfigError, match=r"sources\.api\.allowed_hosts"):
        http_source(url="http://127.0.0.1/items", allowed_hosts=[entry])


def test_a_configured_ca_bundle_and_verify_false_win_over_requests_ca_bundle(
    tls_api: Any, http_source: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    server, cert = tls_api
    server.route("/data", lambda request: [{"id": 1}])
    # An environment bundle that does not trust the server (requests would let it win).
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())

    trusted = http_source(url=server.url("/data"), ca_bundle=cert).fetch()
    assert trusted.ok, trusted.error
    unverified = http_source(url=server.url("/data"), verify=False).fetch()
    assert unverified.ok, unverified.error
    default = http_source(url=server.url("/data"), retry={"max_attempts": 1}).fetch()
    assert not default.ok  # nothing configured: the environment's bundle applies, and refuses
