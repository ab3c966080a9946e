"""The fixtures spine-host gives every test suite through its pytest11 entry point."""

from __future__ import annotations

import sqlalchemy as sa

from spine_host import Host
from spine_host.storage import schema


def test_spine_host_fixture_has_builtins_and_spine_tables(spine_host: Host) -> None:
    assert "console" in spine_host.registries.alert_channels
    assert "file" in spine_host.registries.sources
    assert spine_host.storage.query(
        sa.select(sa.func.count().label("n")).select_from(schema.executions)
    ) == [{"n": 0}]
    assert not [info for info in spine_host.plugin_report() if not info.builtin]
