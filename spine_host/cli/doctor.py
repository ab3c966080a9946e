"""``spine doctor``: is this installation fit to run? Exits 1 when any check fails."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import click

from spine_host.cli.context import EXIT_FAILURE, CliState, pass_state
from spine_host.cli.output import emit_json, emit_table
from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["Check", "doctor_command", "run_checks"]


@attrs.frozen
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {"check": self.name, "status": "ok" if self.ok else "fail", "detail": self.detail}


def run_checks(host: Host) -> list[Check]:
    """Configuration, every plugin, configured sources and channels, and the storage database."""
    config = host.config
    checks = [Check("config", True, str(config.path) if config.path else "defaults (no file)")]
    for info in host.plugin_report():
        detail = "; ".join(info.errors) or f"{info.distribution} {info.version}"
        checks.append(Check(f"plugin {info.name}", not info.problem, f"{info.status}: {detail}"))
    checks.extend(_registration_checks(host))
    for problem in host.check_configured():
        checks.append(Check("configured", False, problem))
    checks.extend(_executor_checks(host))
    checks.extend(_plugin_checks(host))
    storage = _check("storage", lambda: _storage_detail(host), host)
    checks.append(storage)
    if storage.ok:
        checks.append(_check("schema", lambda: _schema_detail(host), host))
    return checks


def _registration_checks(host: Host) -> list[Check]:
    """Import every lazily registered thing: a target that cannot be loaded fails here, not
    first in the middle of a run."""
    lazy = [
        claim
        for registry in host.registries.all()
        for name in registry.names()
        if (claim := registry.winner(name)) is not None and claim.target is not None
    ]
    failed = [error for registry in host.registries.all() for error in registry.load_errors()]
    checks = [Check("registration", False, host.redactor.redact(e.message)) for e in failed]
    if not failed:
        checks.append(Check("registrations", True, f"{len(lazy)} lazy registration(s) load"))
    return checks


def _executor_checks(host: Host) -> list[Check]:
    """Each executor configured in ``[executors]`` that can check itself (``health()``, e.g.
    spine-celery reaching its broker), built as a run would build it."""
    checks = []
    for name in sorted(host.config.executors):
        if name not in host.registries.executors:
            known = ", ".join(sorted(host.registries.executors.names()))
            checks.append(Check(f"executor {name}", False, f"no executor {name!r}; known: {known}"))
            continue
        checks.append(
            _check(f"executor {name}", functools.partial(_executor_detail, host, name), host)
        )
    return checks


def _plugin_checks(host: Host) -> list[Check]:
    """What plugins check themselves (``spine_doctor_checks``), secrets masked."""
    checks = []
    redact = host.redactor.redact
    for plugin, result in host.plugins.call_each(
        "spine_doctor_checks", {"host": host}, on_error="return"
    ):
        if isinstance(result, Exception):
            detail = f"its doctor check raised {type(result).__name__}: {result}"
            checks.append(Check(f"plugin {plugin}", False, redact(detail)))
            continue
        try:
            lines = [(str(name), bool(ok), str(detail)) for name, ok, detail in result or ()]
        except (TypeError, ValueError) as exc:
            detail = f"its doctor check did not give (check, ok, detail) lines: {exc}"
            checks.append(Check(f"plugin {plugin}", False, redact(detail)))
            continue
        checks.extend(Check(redact(name), ok, redact(detail)) for name, ok, detail in lines)
    return checks


def _executor_detail(host: Host, name: str) -> str:
    executor = host.executor(name)
    try:
        health = getattr(executor, "health", None)
        return str(health()) if health is not None else "configured (no check offered)"
    finally:
        executor.shutdown(wait=False)


def _check(name: str, probe: Callable[[], str], host: Host) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:
        error = host.classify(exc)
        return Check(name, False, host.redactor.redact(f"{error.category}: {error.message}"))


def _storage_detail(host: Host) -> str:
    adapter = host.storage
    rows = adapter.query("SELECT 1 AS ok")
    if not rows or rows[0].get("ok") != 1:
        raise SpineError(f"{adapter.dialect}: SELECT 1 returned {rows!r}")
    return host.redactor.redact(f"{adapter.dialect} reachable at {host.config.storage.url}")


def _schema_detail(host: Host) -> str:
    from spine_host.storage import migrations
    from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

    adapter = host.storage
    if not isinstance(adapter, SqlAlchemyAdapter):
        return f"not checked: {type(adapter).__name__} is not SQLAlchemy-based"
    current, head = migrations.current_revision(adapter), migrations.head_revision()
    if current != head:
        raise SpineError(
            f"schema at revision {current or 'none'}, head is {head}: run `spine db upgrade`",
            category=ErrorCategory.CONFIG,
        )
    return f"revision {current} (head)"


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def doctor_command(state: CliState, as_json: bool) -> None:
    """Check configuration, plugins and storage; exit 1 if anything is wrong."""
    checks = run_checks(state.host())
    if as_json:
        emit_json([check.to_dict() for check in checks])
    else:
        emit_table(
            ["CHECK", "STATUS", "DETAIL"],
            [(check.name, "ok" if check.ok else "FAIL", check.detail) for check in checks],
        )
    if not all(check.ok for check in checks):
        click.get_current_context().exit(EXIT_FAILURE)
