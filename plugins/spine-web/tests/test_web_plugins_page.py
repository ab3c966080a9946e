"""The plugins page shows what ``spine plugins`` shows, a broken plugin highlighted with its
error (served in-process: the broken plugin is an object, not an installed distribution)."""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import spine_web
from spine_web.app import create_app
from spine_web.settings import WebSettings

from spine_host import hookimpl
from spine_host.testing.hosts import make_test_host

with warnings.catch_warnings():  # starlette asks for httpx2 in place of httpx; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def misspelled_plugin() -> types.ModuleType:
    """A plugin implementing ``spine_register_source`` (no final s): broken, with a hint."""
    module = types.ModuleType("spine_misspelled")

    @hookimpl
    def spine_register_source(register: object) -> None:
        """Never called: the hook does not exist."""

    module.spine_register_source = spine_register_source  # type: ignore[attr-defined]
    return module


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    storage = f"sqlite:///{tmp_path / 'spine.db'}"
    with make_test_host(spine_web, misspelled_plugin(), storage_url=storage) as host:
        app = create_app(host, WebSettings())
        with TestClient(app, base_url="http://127.0.0.1:8150") as client:
            yield client


def test_a_broken_plugin_is_highlighted_with_its_error(client: TestClient) -> None:
    html = client.get("/plugins").text
    rows = re.findall(r'<tr class="plugin-row( problem)?" data-plugin="([^"]+)"', html)
    highlighted = {name: bool(problem) for problem, name in rows}
    assert highlighted["spine_misspelled"] is True
    assert highlighted["web"] is False
    assert highlighted["builtin.sqlite"] is False
    assert "spine_register_sources" in html  # the loader's "did you mean", shown as the error
    assert 'id="plugin-warnings"' in html
