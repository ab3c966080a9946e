"""Hosts for tests: chosen plugins, a database built as ``spine db upgrade`` builds it.

    from spine_host.testing.hosts import make_test_host

    with make_test_host(spine_acme) as host:        # builtins + the plugin, in-memory SQLite
        Dispatcher(host).run("acme.load", {...})

Installed plugins are not loaded (``load_entrypoints=False``): a test sees the plugins it names,
whatever else is installed on the machine. A plugin passed as an object is named as it is when
installed (its ``spine`` entry point's name, when one points at it), so messages, ``spine
plugins`` output and ``[plugins] disable`` read the same in tests and in production.
The ``spine_host_factory`` pytest fixture wraps this and closes what it made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from spine_host.config import SpineConfig
from spine_host.host import Host

__all__ = ["make_test_host"]


@contextmanager
def make_test_host(
    *plugins: object,
    storage_url: str = "sqlite://",
    config: SpineConfig | None = None,
    environ: Mapping[str, str] | None = None,
    migrate: bool = True,
    **host_options: Any,
) -> Iterator[Host]:
    """A host with builtins and ``plugins``, spine's and the plugins' tables created; closed after.

    Args:
        plugins: plugin objects (modules or instances with ``@hookimpl`` functions).
        storage_url: the database (default: a private in-memory SQLite).
        config: a parsed configuration (``parse_config({...})``) for sources, channels...
        environ: the environment the host reads (default: empty, so the machine's
            ``SPINE_*`` variables cannot change a test).
        migrate: create the tables (``spine db upgrade``); False for an empty database.
    """
    host = Host(
        config=config,
        plugins=plugins,
        load_entrypoints=False,
        storage_url=storage_url,
        environ=environ if environ is not None else {},
        **host_options,
    )
    try:
        if migrate:
            from spine_host.storage.upgrade_all import upgrade_all

            upgrade_all(host)
        yield host
    finally:
        host.close()
