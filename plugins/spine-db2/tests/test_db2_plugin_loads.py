"""The spine-db2 distribution installs, is found through its entry point and loads."""

from spine_host import Host


def test_entry_point_loads_and_is_listed() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    info = {plugin.name: plugin for plugin in host.plugin_report()}["db2"]
    assert info.distribution == "spine-db2"
    assert info.status.value == "ok", info.errors


def test_the_host_opens_a_db2_url_through_the_plugin() -> None:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    adapter = host.open_storage("db2+ibm_db://spine:s3cret-pw@db2.example:50000/SPINE")
    try:
        assert adapter.dialect == "ibm_db_sa"  # building the engine does not connect
    finally:
        adapter.close()
        host.close()
