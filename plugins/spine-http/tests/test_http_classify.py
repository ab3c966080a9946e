"""spine_classify_error maps real requests failures; the entry module stays cheap to import."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from spine_host import Host
from spine_host.config import load_config
from spine_host.errors import ErrorCategory


@pytest.fixture
def host() -> Any:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    yield host
    host.close()


def test_a_requests_timeout_classifies_as_timeout(api: Any, host: Any) -> None:
    api.route("/slow", lambda request: time.sleep(0.5) or [])

    with pytest.raises(requests.Timeout) as caught:
        requests.get(api.url("/slow"), timeout=0.1)

    assert host.classify(caught.value).category is ErrorCategory.TIMEOUT


def test_a_refused_connection_classifies_as_transient(closed_port_url: str, host: Any) -> None:
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(closed_port_url + "?token=abc123", timeout=1)

    error = host.classify(caught.value)

    assert error.category is ErrorCategory.TRANSIENT
    assert "abc123" not in error.message


def test_a_tls_failure_classifies_as_source_and_is_not_retried(api: Any, host: Any) -> None:
    # Speaking TLS to a plain-HTTP server fails the handshake: a real SSLError.
    with pytest.raises(requests.exceptions.SSLError) as caught:
        requests.get(api.base_url.replace("http://", "https://") + "/data", timeout=1)

    error = host.classify(caught.value)

    assert error.category is ErrorCategory.SOURCE
    assert not error.retryable
    assert "ca_bundle" in error.message


def test_other_exceptions_are_left_to_the_builtin_rules(host: Any) -> None:
    assert host.classify(FileNotFoundError("x.csv")).category is ErrorCategory.NOT_FOUND


def test_http_sources_are_built_from_spine_toml_through_the_entry_point(
    api: Any, tmp_path: Path
) -> None:
    api.route("/rows", lambda request: {"items": [{"id": 1}]})
    config_file = tmp_path / "spine.toml"
    config_file.write_text(
        f'[sources.rows]\ntype = "http"\nurl = "{api.url("/rows")}"\nrecords_path = "items"\n',
        encoding="utf-8",
    )
    host = Host(config=load_config(config_file), storage_url="sqlite://", environ={})

    assert host.source("rows").fetch().rows() == [{"id": 1}]
    host.close()


def test_importing_the_entry_module_loads_neither_requests_nor_pyarrow() -> None:
    code = (
        "import sys, spine_http; "
        "print(sorted({'requests', 'urllib3', 'pyarrow'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "[]"
