"""``register.lazy(name, "module:attribute")``: names known at once, targets imported on first use.

Each test writes its target modules into a fresh package under ``tmp_path``, so whether a module
has been imported is read from ``sys.modules``.
"""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from spine_host import Host, PluginError, hookimpl
from spine_host.cli.doctor import run_checks
from spine_host.errors import ErrorCategory
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines import register_pipeline
from spine_host.plugins import PluginStatus
from spine_host.registry import Registry

_packages = itertools.count()


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A function writing ``{module: source}`` into a new importable package; returns its
    name."""
    name = f"lazy_targets_{next(_packages)}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(modules: dict[str, str]) -> str:
        for module, source in modules.items():
            (root / f"{module}.py").write_text(textwrap.dedent(source))
        return name

    yield write
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


PIPELINES = """
    from spine_host.pipelines import register_pipeline

    @register_pipeline("lazy.greet")
    def greet(context, params):
        '''Say hello.'''
        return {"greeting": "hello"}
"""


class LazyPipelines:
    """A plugin registering pipelines by target."""

    def __init__(self, *targets: tuple[str, str]) -> None:
        self.targets = targets

    @hookimpl
    def spine_register_pipelines(self, register: Any) -> None:
        for name, target in self.targets:
            register.lazy(name, target)


def make_host(*plugins: object) -> Host:
    return Host(plugins=plugins, load_entrypoints=False, storage_url="sqlite://", environ={})


def plugin_info(host: Host, name: str) -> Any:
    return {info.name: info for info in host.plugin_report()}[name]


def test_a_lazy_pipeline_is_listed_without_importing_its_module(package: Any) -> None:
    name = package({"pipelines": PIPELINES})
    host = make_host(LazyPipelines(("lazy.greet", f"{name}.pipelines:greet")))

    assert "lazy.greet" in host.registries.pipelines
    assert host.registries.pipelines.names() == ["lazy.greet"]
    assert plugin_info(host, "LazyPipelines").provides == {"pipelines": ["lazy.greet"]}
    assert f"{name}.pipelines" not in sys.modules


def test_a_lazy_pipeline_is_imported_on_first_use_and_runs(package: Any) -> None:
    name = package({"pipelines": PIPELINES})
    host = make_host(LazyPipelines(("lazy.greet", f"{name}.pipelines:greet")))

    pipeline = host.registries.pipelines.get("lazy.greet")

    assert f"{name}.pipelines" in sys.modules
    assert pipeline is sys.modules[f"{name}.pipelines"].greet
    assert pipeline.run(None, None) == {"greeting": "hello"}
    assert host.registries.pipelines.get("lazy.greet") is pipeline  # imported once


def test_a_target_that_fails_to_import_is_a_plugin_error_naming_plugin_and_target(
    package: Any,
) -> None:
    name = package({"pipelines": "import a_module_that_is_not_installed\n"})
    target = f"{name}.pipelines:greet"
    host = make_host(LazyPipelines(("lazy.greet", target)))
    assert "lazy.greet" in host.registries.pipelines  # registering it imported nothing

    with pytest.raises(PluginError) as caught:
        host.registries.pipelines.get("lazy.greet")

    message = caught.value.message
    assert "LazyPipelines" in message
    assert target in message
    assert "lazy.greet" in message
    assert "a_module_that_is_not_installed" in message
    assert caught.value.category is ErrorCategory.PLUGIN
    with pytest.raises(PluginError, match="a_module_that_is_not_installed"):
        host.registries.pipelines.get("lazy.greet")  # and again on the next use


def test_a_missing_attribute_is_a_plugin_error_naming_the_target(package: Any) -> None:
    name = package({"pipelines": PIPELINES})
    host = make_host(LazyPipelines(("lazy.greet", f"{name}.pipelines:gret")))

    with pytest.raises(PluginError, match=rf"'{name}\.pipelines:gret'.*has no attribute 'gret'"):
        host.registries.pipelines.get("lazy.greet")


def test_a_malformed_target_breaks_the_plugin_at_registration() -> None:
    host = make_host(LazyPipelines(("lazy.greet", "no_colon_here")))

    broken = plugin_info(host, "LazyPipelines")
    assert broken.status is PluginStatus.BROKEN
    assert "no_colon_here" in broken.errors[0]
    assert "package.module:attribute" in broken.errors[0]
    assert "lazy.greet" not in host.registries.pipelines


def test_a_lazy_and_an_eager_claim_on_one_name_conflict_without_an_import(
    package: Any,
) -> None:
    name = package({"pipelines": PIPELINES})

    class EagerPipelines:
        @hookimpl
        def spine_register_pipelines(self, register: Any) -> None:
            register("lazy.greet", register_pipeline("lazy.greet")(lambda context, params: 1))

    host = make_host(LazyPipelines(("lazy.greet", f"{name}.pipelines:greet")), EagerPipelines())

    assert "lazy.greet" not in host.registries.pipelines
    assert plugin_info(host, "LazyPipelines").status is PluginStatus.CONFLICT
    with pytest.raises(PluginError, match="plugin 'LazyPipelines' and plugin 'EagerPipelines'"):
        host.registries.pipelines.get("lazy.greet")
    assert f"{name}.pipelines" not in sys.modules


def test_a_lazy_replacement_wins_without_importing_either(package: Any) -> None:
    name = package({"pipelines": PIPELINES, "others": PIPELINES})

    class Override:
        @hookimpl
        def spine_register_pipelines(self, register: Any) -> None:
            register.lazy("lazy.greet", f"{name}.others:greet", replace=True)

    host = make_host(LazyPipelines(("lazy.greet", f"{name}.pipelines:greet")), Override())

    winner = host.registries.pipelines.winner("lazy.greet")
    assert winner is not None
    assert winner.provider == "Override"
    assert host.registries.pipelines.get("lazy.greet") is sys.modules[f"{name}.others"].greet
    assert f"{name}.pipelines" not in sys.modules


WORKFLOW = """
    from spine_host.orchestration.workflow import Step, Workflow

    refresh = Workflow(name="lazy.refresh", steps=[Step("greet", "lazy.greet")])
"""


class LazyWorkflow:
    """A plugin registering a workflow (a thing that carries its own name) by target."""

    def __init__(self, name: str, target: str) -> None:
        self.name, self.target = name, target

    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register.lazy(self.name, self.target)


def test_a_named_thing_is_registered_lazily_under_the_name_given(package: Any) -> None:
    name = package({"workflow": WORKFLOW})
    host = make_host(LazyWorkflow("lazy.refresh", f"{name}.workflow:refresh"))

    assert host.registries.workflows.names() == ["lazy.refresh"]
    assert f"{name}.workflow" not in sys.modules
    workflow = host.registries.workflows.get("lazy.refresh")
    assert isinstance(workflow, Workflow)
    assert workflow.name == "lazy.refresh"


def test_a_named_thing_whose_name_differs_is_a_plugin_error(package: Any) -> None:
    name = package({"workflow": WORKFLOW})
    host = make_host(LazyWorkflow("lazy.other", f"{name}.workflow:refresh"))

    with pytest.raises(PluginError, match=r"'lazy\.other'.*it is named 'lazy\.refresh'"):
        host.registries.workflows.get("lazy.other")


def test_eager_registration_still_works_beside_lazy_registration() -> None:
    workflow = Workflow(name="eager.refresh", steps=[Step("greet", "lazy.greet")])

    class Eager:
        @hookimpl
        def spine_register_workflows(self, register: Any) -> None:
            register(workflow)

    host = make_host(Eager())
    claim = host.registries.workflows.winner("eager.refresh")
    assert claim is not None
    assert claim.target is None
    assert claim.loaded
    assert host.registries.workflows.get("eager.refresh") is workflow


def test_doctor_imports_every_lazy_target_and_fails_on_one_that_cannot_load(
    package: Any,
) -> None:
    name = package({"pipelines": PIPELINES, "broken": "raise RuntimeError('no licence file')\n"})
    host = make_host(
        LazyPipelines(
            ("lazy.greet", f"{name}.pipelines:greet"),
            ("lazy.broken", f"{name}.broken:greet"),
        )
    )

    failed = [check for check in run_checks(host) if not check.ok]

    assert any(
        "lazy.broken" in check.detail
        and f"{name}.broken:greet" in check.detail
        and "no licence file" in check.detail
        for check in failed
    )
    assert f"{name}.pipelines" in sys.modules  # the good one was imported to check it


def test_registry_counts_and_lists_lazy_entries_without_loading_them() -> None:
    registry: Registry[object] = Registry("pipelines", "pipeline")
    registry.add_lazy("a.one", "not_a_module_anywhere:one", provider="p")
    registry.add_lazy("a.two", "not_a_module_anywhere:two", provider="p")
    registry.add("a.three", object(), provider="q")

    assert len(registry) == 3
    assert registry.names() == ["a.one", "a.three", "a.two"]
    assert [claim.loaded for claim in registry.registrations()] == [False, True, False]
    assert len(registry.load_errors()) == 2
