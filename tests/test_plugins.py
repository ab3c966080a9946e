"""The plugin loader: broken plugins are isolated and reported; collisions name both sides."""

from __future__ import annotations

import pytest

from spine_host import Host, PluginError, hookimpl
from spine_host.errors import ConfigError
from spine_host.plugins import PluginStatus
from tests.plugins import (
    csv_source_a,
    csv_source_b,
    csv_source_override,
    misnamed_argument,
    misspelled_hook,
    raising_observer,
    raising_registration,
)


def make_host(*plugins: object, environ: dict[str, str] | None = None) -> Host:
    return Host(
        plugins=plugins, load_entrypoints=False, storage_url="sqlite://", environ=environ or {}
    )


def info(host: Host, name: str):
    return {plugin.name: plugin for plugin in host.plugin_report()}[name]


def test_builtins_are_listed_as_plugins_of_spine_host() -> None:
    host = make_host()
    builtin = info(host, "builtin.alerts")
    assert builtin.builtin
    assert builtin.distribution == "spine-host"
    assert builtin.status is PluginStatus.OK
    assert builtin.provides == {"alert_channels": ["console", "email"]}
    assert "console" in host.registries.alert_channels


def test_misspelled_hook_is_broken_with_did_you_mean() -> None:
    host = make_host(misspelled_hook)
    broken = info(host, "tests.plugins.misspelled_hook")
    assert broken.status is PluginStatus.BROKEN
    assert "spine_register_source" in broken.errors[0]
    assert "did you mean 'spine_register_sources'" in broken.errors[0]
    # the host still works without it, and nothing of it was registered
    assert "never" not in host.registries.sources
    assert host.problems()


def test_misnamed_hook_argument_is_broken_and_named() -> None:
    host = make_host(misnamed_argument)
    broken = info(host, "tests.plugins.misnamed_argument")
    assert broken.status is PluginStatus.BROKEN
    assert "regster" in broken.errors[0]
    assert "never" not in host.registries.sources


def test_two_providers_of_one_source_type_is_an_error_naming_both() -> None:
    host = make_host(csv_source_a, csv_source_b)
    with pytest.raises(PluginError) as raised:
        host.registries.sources.get("csv")
    message = str(raised.value)
    assert "tests.plugins.csv_source_a" in message
    assert "tests.plugins.csv_source_b" in message
    assert info(host, "tests.plugins.csv_source_a").status is PluginStatus.CONFLICT
    assert info(host, "tests.plugins.csv_source_b").status is PluginStatus.CONFLICT


@pytest.mark.parametrize("order", ["override last", "override first"])
def test_replace_true_wins_whatever_the_order(order: str) -> None:
    plugins = [csv_source_a, csv_source_override]
    if order == "override first":
        plugins.reverse()
    host = make_host(*plugins)
    assert host.registries.sources.get("csv") is csv_source_override.CsvSourceOverride
    assert info(host, "tests.plugins.csv_source_override").provides == {"sources": ["csv"]}
    loser = info(host, "tests.plugins.csv_source_a")
    assert loser.status is PluginStatus.OK
    assert loser.provides == {"sources": ["csv (overridden by tests.plugins.csv_source_override)"]}


def test_strict_mode_turns_a_problem_into_an_error_naming_the_plugin() -> None:
    with pytest.raises(PluginError, match=r"tests\.plugins\.misspelled_hook"):
        make_host(misspelled_hook, environ={"SPINE_STRICT_PLUGINS": "1"})


def test_registration_that_raises_leaves_nothing_half_registered() -> None:
    host = make_host(raising_registration)
    broken = info(host, "tests.plugins.raising_registration")
    assert broken.status is PluginStatus.BROKEN
    assert "registration failed halfway" in broken.errors[0]
    assert "half_done" not in host.registries.sources


class RecordingObserver:
    """Records every finished run it is told about."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def spine_run_finished(self, run) -> None:
        self.seen.append(run.run_id)


class FakeRun:
    run_id = "run-1"
    status = "FAILED"


@pytest.mark.parametrize("raising_first", [True, False])
def test_a_raising_observer_does_not_silence_the_others(raising_first: bool) -> None:
    observer = RecordingObserver()
    plugins = [raising_observer, observer] if raising_first else [observer, raising_observer]
    host = make_host(*plugins)
    host.notify("spine_run_finished", run=FakeRun())
    assert observer.seen == ["run-1"]


def test_unknown_name_lists_what_is_registered() -> None:
    host = make_host()
    with pytest.raises(
        ConfigError, match=r"unknown alert channel type 'pager'; registered: console"
    ):
        host.registries.alert_channels.get("pager")


def test_disabling_a_builtin_by_name() -> None:
    host = make_host(environ={"SPINE_DISABLE_PLUGINS": "builtin.alerts"})
    assert info(host, "builtin.alerts").status is PluginStatus.DISABLED
    assert "console" not in host.registries.alert_channels


class HalfBroken:
    """Registers a storage scheme, then breaks in its pipelines hook, and observes runs."""

    def __init__(self) -> None:
        self.finished: list[str] = []

    @hookimpl
    def spine_register_storage(self, register) -> None:
        register("bogus", object)

    @hookimpl
    def spine_register_pipelines(self, register) -> None:
        raise RuntimeError("pipelines could not be loaded")

    @hookimpl
    def spine_run_finished(self, run) -> None:
        self.finished.append(run.run_id)


def test_a_plugin_broken_in_one_hook_is_out_of_every_registry_and_event() -> None:
    plugin = HalfBroken()
    host = make_host(plugin)
    broken = info(host, "HalfBroken")
    assert broken.status is PluginStatus.BROKEN
    assert "pipelines could not be loaded" in broken.errors[0]
    assert "bogus" not in host.registries.storage
    assert broken.provides == {}
    host.notify("spine_run_finished", run=FakeRun())
    assert plugin.finished == []


class RegistersTwice:
    @hookimpl
    def spine_register_sources(self, register) -> None:
        register("csv", object)
        register("csv", object)


def test_a_plugin_registering_one_name_twice_is_broken_with_a_clear_message() -> None:
    host = make_host(RegistersTwice())
    broken = info(host, "RegistersTwice")
    assert broken.status is PluginStatus.BROKEN
    assert "registered source type 'csv' twice" in broken.errors[0]
    assert "csv" not in host.registries.sources


def test_a_plugin_that_provides_nothing_is_not_ok_but_an_observer_is() -> None:
    from spine_host import hookimpl

    class Empty:
        pass

    class Observer:
        @hookimpl
        def spine_run_finished(self, run):  # type: ignore[no-untyped-def]
            pass

    host = Host(plugins=[Empty(), Observer()], load_entrypoints=False, storage_url="sqlite://")
    report = {item.name: item for item in host.plugin_report()}
    empty = next(item for name, item in report.items() if "Empty" in name)
    observer = next(item for name, item in report.items() if "Observer" in name)
    assert empty.status is PluginStatus.EMPTY
    assert empty.errors == ["provides nothing: it registers nothing and implements no event hook"]
    assert not empty.problem  # reported, not fatal under SPINE_STRICT_PLUGINS
    assert observer.status is PluginStatus.OK
    assert observer.provides == {"hooks": ["spine_run_finished"]}
