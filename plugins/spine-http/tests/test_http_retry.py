"""Retries, Retry-After, status mapping, timeouts and the rate limit, against a real server."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from spine_http.errors import parse_retry_after

from spine_host.errors import ErrorCategory, SpineError

ROWS = [{"id": 1}, {"id": 2}]
FAST_RETRY = {"delay": 0.01, "max_delay": 0.05, "max_attempts": 4}


def scripted(*answers: Any) -> Any:
    """A handler giving ``answers`` in order, then repeating the last one."""
    queue = list(answers)
    return lambda request: queue.pop(0) if len(queue) > 1 else queue[0]


def test_a_429_with_retry_after_is_retried_after_about_a_second(api: Any, http_source: Any) -> None:
    api.route("/data", scripted((429, {"error": "slow down"}, {"Retry-After": "1"}), ROWS))

    result = http_source(url=api.url("/data"), retry=FAST_RETRY).fetch()

    assert result.ok, result.error
    first, second = api.hits("/data")
    assert second.at - first.at >= 0.9


def test_500_twice_then_200_succeeds(api: Any, http_source: Any) -> None:
    api.route("/data", scripted((500, {"error": "boom"}), (502, b"bad gateway"), ROWS))

    result = http_source(url=api.url("/data"), retry=FAST_RETRY).fetch()

    assert result.ok, result.error
    assert result.rows() == ROWS
    assert len(api.hits("/data")) == 3


def test_backoff_grows_exponentially_up_to_its_cap(api: Any, http_source: Any) -> None:
    api.route("/data", scripted((503, None), (503, None), (503, None), ROWS))
    retry = {"delay": 0.1, "max_delay": 0.15, "max_attempts": 4}

    assert http_source(url=api.url("/data"), retry=retry).fetch().ok

    gaps = [later.at - earlier.at for earlier, later in pairwise(api.hits("/data"))]
    assert gaps[0] >= 0.09  # delay
    assert gaps[1] >= 0.14  # 0.2, capped at 0.15
    assert gaps[2] < 0.5  # still capped


def test_a_server_error_that_persists_fails_as_transient_after_max_attempts(
    api: Any, http_source: Any
) -> None:
    api.route("/data", lambda request: (503, {"error": "down"}))

    result = http_source(url=api.url("/data"), retry={**FAST_RETRY, "max_attempts": 3}).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.TRANSIENT
    assert result.error.context["status"] == 503
    assert result.error.context["attempts"] == 3
    assert len(api.hits("/data")) == 3


def test_a_401_fails_as_auth_with_no_retry(api: Any, http_source: Any) -> None:
    api.route("/data", lambda request: (401, {"error": "who are you"}))

    result = http_source(url=api.url("/data"), retry=FAST_RETRY).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.AUTH
    assert len(api.hits("/data")) == 1


def test_a_403_fails_as_auth(api: Any, http_source: Any) -> None:
    api.route("/data", lambda request: (403, {"error": "forbidden"}))

    result = http_source(url=api.url("/data"), retry=FAST_RETRY).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.AUTH


def test_a_missing_url_is_a_failed_not_found_result(api: Any, http_source: Any) -> None:
    result = http_source(url=api.url("/nowhere"), retry=FAST_RETRY).fetch()

    assert not result.ok
    assert result.error is not None
    assert result.error.category is ErrorCategory.NOT_FOUND
    assert not result.error.retryable
    assert len(api.hits("/nowhere")) == 1


def test_a_retry_after_beyond_the_limit_fails_at_once_with_the_wait(
    api: Any, http_source: Any
) -> None:
    api.route("/data", lambda request: (429, None, {"Retry-After": "3600"}))
    retry = {**FAST_RETRY, "max_retry_after": 60}

    result = http_source(url=api.url("/data"), retry=retry).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.RATE_LIMIT
    assert result.error.retry_after == 3600
    assert not result.error.retryable
    assert len(api.hits("/data")) == 1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("7", now=now) == 7
    assert parse_retry_after("Mon, 02 Jun 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Mon, 02 Jun 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_a_slow_server_fails_as_timeout(api: Any, http_source: Any) -> None:
    api.route("/data", lambda request: time.sleep(0.5) or ROWS)
    retry = {"max_attempts": 1}

    result = http_source(url=api.url("/data"), read_timeout=0.1, retry=retry).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.TIMEOUT
    assert result.error.retryable


def test_connection_refused_is_transient_and_hides_a_query_api_key(
    closed_port_url: str, http_source: Any
) -> None:
    auth = {"type": "api_key", "key": "s3cr3t/key+1", "name": "key", "location": "query"}
    source = http_source(url=closed_port_url, auth=auth, retry={**FAST_RETRY, "max_attempts": 2})

    result = source.fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.TRANSIENT
    assert result.error.context["attempts"] == 2
    dumped = json.dumps(result.error.to_dict())
    assert "s3cr3t" not in dumped
    assert "127.0.0.1" in dumped


def test_a_body_that_is_not_json_fails_as_parse(api: Any, http_source: Any) -> None:
    api.route(
        "/data", lambda request: (200, b"<html>maintenance</html>", {"Content-Type": "text/html"})
    )

    result = http_source(url=api.url("/data")).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.PARSE
    assert "text/html" in result.error.message


def test_a_records_path_that_is_missing_fails_as_parse(api: Any, http_source: Any) -> None:
    api.route("/data", lambda request: {"items": ROWS})

    result = http_source(url=api.url("/data"), records_path="data.items").fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.PARSE
    assert "data.items" in result.error.message


def test_requests_per_second_spaces_the_requests(api: Any, http_source: Any) -> None:
    api.route("/data", lambda r: [{"id": int(r.query["page"])}] if int(r.query["page"]) < 5 else [])
    source = http_source(url=api.url("/data"), pagination={"type": "page"}, requests_per_second=10)

    assert source.fetch().row_count == 4

    gaps = [later.at - earlier.at for earlier, later in pairwise(api.hits("/data"))]
    assert len(gaps) == 4
    # 1/10 s apart as sent; arrival times at the server jitter by a few milliseconds.
    assert min(gaps) >= 0.08
    assert sum(gaps) >= 0.38


def test_stream_raises_the_classified_error(api: Any, http_source: Any) -> None:
    source = http_source(url=api.url("/nowhere"))

    with pytest.raises(SpineError) as caught:
        list(source.stream())

    assert caught.value.category is ErrorCategory.NOT_FOUND
