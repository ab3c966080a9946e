"""What every command shares: the ``--config`` path, a lazily built Host, and exit codes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click

from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import Redactor

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliState",
    "SpineCommandGroup",
    "pass_state",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliState:
    """Per-invocation state; the host is built on first use so ``--help`` stays cheap.

    A plain class, not attrs: importing attrs is a sixth of ``spine --help``'s start-up.
    """

    def __init__(self, config_path: str | None = None, host: Host | None = None) -> None:
        self.config_path = config_path
        self._host = host  # given by tests and embedders; built from config_path otherwise

    def __repr__(self) -> str:
        return f"CliState(config_path={self.config_path!r})"

    def host(self) -> Host:
        """The host for this invocation (configuration read and plugins loaded once)."""
        if self._host is None:
            from spine_host.host import Host
            from spine_host.redaction import RedactingFilter

            self._host = Host.from_config(self.config_path)
            for handler in logging.getLogger().handlers:
                handler.addFilter(RedactingFilter(self._host.redactor))
            for line in self._host.warnings():
                click.echo(f"warning: {self._host.redactor.redact(line)}", err=True)
        return self._host

    def close(self) -> None:
        """Release the host's resources."""
        if self._host is not None:
            self._host.close()
            self._host = None


pass_state = click.make_pass_decorator(CliState, ensure=True)


_USAGE_CATEGORIES = frozenset({ErrorCategory.CONFIG, ErrorCategory.VALIDATION})


class SpineCommandGroup(click.Group):
    """A group that reports a SpineError as ``error: message`` and its exit code, no traceback.

    CONFIG and VALIDATION errors (bad configuration or input, found before any work ran) exit
    2, every other category 1. The root ``spine`` group is one; noun groups use it too, so they
    behave the same when invoked on their own (tests, embedding).
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, turning a SpineError into a message and an exit code."""
        try:
            return super().invoke(ctx)
        except SpineError as exc:
            state = ctx.find_object(CliState)
            host = state._host if state is not None else None
            redactor = host.redactor if host is not None else Redactor()
            click.echo(f"error: {redactor.redact(exc.message)}", err=True)
            ctx.exit(EXIT_USAGE if exc.category in _USAGE_CATEGORIES else EXIT_FAILURE)
