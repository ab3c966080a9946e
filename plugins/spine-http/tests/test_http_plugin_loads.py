"""The spine-http distribution installs, is found through its entry point and loads."""

from spine_host import Host


def test_entry_point_loads_and_is_listed() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    info = {plugin.name: plugin for plugin in host.plugin_report()}["http"]
    assert info.distribution == "spine-http"
    assert info.status.value == "ok", info.errors
