"""``spine_doctor_checks``: plugins add lines to ``spine doctor``, isolated and redacted."""

from __future__ import annotations

from spine_host import hookimpl
from spine_host.cli.doctor import run_checks
from spine_host.config import parse_config
from spine_host.host import Host


class Healthy:
    @hookimpl
    def spine_doctor_checks(self, host):
        yield ("thing reachable", True, f"storage {host.config.storage.url}")


class Raises:
    @hookimpl
    def spine_doctor_checks(self, host):
        raise RuntimeError("cannot reach hunter2-secret")


class Garbage:
    @hookimpl
    def spine_doctor_checks(self, host):
        return [("only a name",)]


def _checks(*plugins: object) -> dict[str, tuple[bool, str]]:
    config = parse_config(
        {
            "storage": {"url": "sqlite://"},
            "sources": {"x": {"type": "file", "path": "a.csv", "password": "hunter2-secret"}},
        },
        environ={},
    )
    host = Host(config=config, plugins=plugins, load_entrypoints=False, environ={})
    return {check.name: (check.ok, check.detail) for check in run_checks(host)}


def test_a_plugin_s_lines_appear_and_one_that_raises_fails_by_name_without_its_secret() -> None:
    checks = _checks(Healthy(), Raises(), Garbage())
    assert checks["thing reachable"] == (True, "storage sqlite://")
    ok, detail = checks["plugin Raises"]
    assert not ok
    assert "RuntimeError" in detail
    assert "hunter2-secret" not in detail
    assert checks["plugin Garbage"][0] is False
    assert "(check, ok, detail)" in checks["plugin Garbage"][1]


def test_a_password_in_a_url_without_a_scheme_is_masked_in_config_and_doctor() -> None:
    """``user:secret@host`` written without ``redis://`` is still a credential."""
    config = parse_config(
        {"executors": {"local": {"broker_url": "user:s3cretpass@host:6379"}}}, environ={}
    )
    assert "s3cretpass" in config.secrets
    assert "s3cretpass" not in str(config.redacted())
    host = Host(config=config, load_entrypoints=False, environ={})
    problems = host.check_configured()  # `local` takes no options: the error quotes them
    assert problems
    assert all("s3cretpass" not in problem for problem in problems)
    assert all("s3cretpass" not in check.detail for check in run_checks(host))
