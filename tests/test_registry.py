"""The named registry shared by every kind of registered thing."""

from __future__ import annotations

import pytest

from spine_host import ConfigError, PluginError
from spine_host.registry import Registry


def test_single_claim_wins_and_is_listed() -> None:
    registry: Registry[str] = Registry("sources", "source type")
    registry.add("file", "FileSource", provider="builtin.sources")
    assert registry.get("file") == "FileSource"
    assert registry.names() == ["file"]
    assert "file" in registry


def test_two_replacing_claims_are_still_a_conflict() -> None:
    registry: Registry[str] = Registry("sources", "source type")
    registry.add("csv", "A", provider="a", replace=True)
    registry.add("csv", "B", provider="b", replace=True)
    with pytest.raises(PluginError, match="provided by both a and b"):
        registry.get("csv")
    assert "csv" not in registry
    assert registry.conflicts().keys() == {"csv"}


def test_conflict_messages_use_the_provider_description() -> None:
    registry: Registry[str] = Registry("sources", "source type", lambda p: f"{p} (dist-{p} 1.0)")
    registry.add("csv", "A", provider="a")
    registry.add("csv", "B", provider="b")
    (message,) = registry.conflict_messages()
    assert "a (dist-a 1.0) and b (dist-b 1.0)" in message


def test_removing_a_provider_resolves_its_conflicts() -> None:
    registry: Registry[str] = Registry("sources", "source type")
    registry.add("csv", "A", provider="a")
    registry.add("csv", "B", provider="b")
    registry.remove_provider("b")
    assert registry.get("csv") == "A"


def test_invalid_names_are_refused_naming_the_provider() -> None:
    registry: Registry[str] = Registry("pipelines", "pipeline")
    with pytest.raises(PluginError, match="otc_plugin registered a pipeline with an invalid name"):
        registry.add("", "x", provider="otc_plugin")


def test_unknown_name_lists_known_names() -> None:
    registry: Registry[str] = Registry("pipelines", "pipeline")
    registry.add("otc.ingest", "x", provider="otc")
    with pytest.raises(ConfigError, match=r"unknown pipeline 'otc.ingst'; registered: otc.ingest"):
        registry.get("otc.ingst")
