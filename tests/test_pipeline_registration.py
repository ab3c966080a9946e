"""@register_pipeline and the spine_register_pipelines hook."""

from __future__ import annotations

import types

import pytest

from spine_host import Host, PluginError, hookimpl
from spine_host.pipelines import FunctionPipeline, Pipeline, register_all, register_pipeline
from spine_host.retry import RetryPolicy
from tests.plugins import pipeline_duplicate, pipeline_otc


def test_decorated_function_is_a_pipeline_with_its_description_and_params() -> None:
    ingest = pipeline_otc.ingest
    assert isinstance(ingest, FunctionPipeline)
    assert isinstance(ingest, Pipeline)
    assert ingest.name == "otc.ingest"
    assert ingest.Params is pipeline_otc.IngestParams  # from the annotation
    assert ingest.description == "Ingest one week of OTC volume for a tier."
    assert (ingest.domain, ingest.stage, ingest.stages) == (
        "otc",
        "INGESTED",
        ("INGESTED", "NORMALIZED"),
    )


def test_decorated_class_becomes_one_instance_with_its_attributes() -> None:
    slow = pipeline_otc.SlowPipeline
    assert isinstance(slow, Pipeline)
    assert slow.name == "otc.slow"
    assert slow.Params is pipeline_otc.SlowParams
    assert slow.description == "Takes a while; counts how often it ran."


def test_decorator_options_are_kept() -> None:
    policy = RetryPolicy(max_attempts=5)

    @register_pipeline("prices.load", description="Load prices", domain="market",
                       retry_policy=policy)  # fmt: skip
    def load(context: object, params: None) -> None:
        return None

    assert (load.description, load.domain, load.retry_policy) == ("Load prices", "market", policy)
    assert load.Params is None


def test_decorating_registers_nothing_until_a_plugin_registers_it() -> None:
    @register_pipeline("loose.pipeline")
    def loose(context: object, params: None) -> None:
        return None

    host = Host(plugins=[pipeline_otc], load_entrypoints=False, environ={})
    assert "loose.pipeline" not in host.registries.pipelines


def test_plugin_registers_every_pipeline_of_its_module() -> None:
    host = Host(plugins=[pipeline_otc], load_entrypoints=False, environ={})
    assert host.registries.pipelines.names() == [
        "otc.flaky",
        "otc.gated",
        "otc.ingest",
        "otc.parent",
        "otc.slow",
    ]
    assert host.registries.pipelines.get("otc.ingest") is pipeline_otc.ingest


def test_register_all_skips_pipelines_imported_from_other_modules() -> None:
    module = types.ModuleType("imports_them")
    module.ingest = pipeline_otc.ingest  # type: ignore[attr-defined]
    registered: list[str] = []
    assert register_all(lambda name, value, **_: registered.append(name), module) == 0
    assert (
        register_all(lambda name, value, **_: registered.append(name), [pipeline_otc.ingest]) == 1
    )
    assert registered == ["otc.ingest"]


def test_duplicate_pipeline_names_are_an_error_naming_both_providers() -> None:
    host = Host(plugins=[pipeline_otc, pipeline_duplicate], load_entrypoints=False, environ={})
    with pytest.raises(PluginError) as caught:
        host.registries.pipelines.get("otc.ingest")
    assert "tests.plugins.pipeline_otc" in caught.value.message
    assert "tests.plugins.pipeline_duplicate" in caught.value.message
    assert "otc.slow" in host.registries.pipelines  # the rest still works


def test_replace_true_overrides_deliberately() -> None:
    class Override:
        @hookimpl
        def spine_register_pipelines(self, register: object) -> None:
            register("otc.ingest", pipeline_duplicate.other_ingest, replace=True)  # type: ignore[operator]

    host = Host(plugins=[pipeline_otc, Override()], load_entrypoints=False, environ={})
    assert host.registries.pipelines.get("otc.ingest") is pipeline_duplicate.other_ingest


def test_decorator_requires_a_name() -> None:
    with pytest.raises(TypeError, match="needs a name"):
        register_pipeline(lambda context, params: None)  # type: ignore[arg-type]
