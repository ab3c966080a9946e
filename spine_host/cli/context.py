"""What every command shares: the ``--config`` path, a lazily built Host, and exit codes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs
import click

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "CliState", "pass_state"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


@attrs.define
class CliState:
    """Per-invocation state; the host is built on first use so ``--help`` stays cheap."""

    config_path: str | None = None
    _host: Host | None = None

    def host(self) -> Host:
        """The host for this invocation (configuration read and plugins loaded once)."""
        if self._host is None:
            from spine_host.host import Host
            from spine_host.redaction import RedactingFilter

            self._host = Host.from_config(self.config_path)
            for handler in logging.getLogger().handlers:
                handler.addFilter(RedactingFilter(self._host.redactor))
        return self._host

    def close(self) -> None:
        """Release the host's resources."""
        if self._host is not None:
            self._host.close()
            self._host = None


pass_state = click.make_pass_decorator(CliState, ensure=True)
