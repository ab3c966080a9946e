"""The `spine` command line as a user runs it: output, exit codes, plugin commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from spine_host import __version__
from tests.plugin_distributions import SPINE, make_distribution, pip_install, plugins_json, spine

SHIPPED = {
    "postgres": "spine-postgres",
    "db2": "spine-db2",
    "slack": "spine-slack",
    "http": "spine-http",
    "servicenow": "spine-servicenow",
}


def test_version() -> None:
    result = spine("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"spine {__version__}"


@pytest.mark.shipped_plugins
def test_plugins_lists_builtins_and_every_shipped_plugin_as_ok() -> None:
    listed = plugins_json()
    for name, distribution in SHIPPED.items():
        assert listed[name]["distribution"] == distribution
        assert listed[name]["status"] == "ok", listed[name]["error"]
        assert listed[name]["version"]
    builtins = [entry for entry in listed.values() if entry["builtin"]]
    assert builtins
    assert all(entry["distribution"] == "spine-host" for entry in builtins)
    assert all(entry["status"] == "ok" for entry in builtins)


@pytest.mark.shipped_plugins
def test_plugins_table_for_people() -> None:
    result = spine("plugins")
    assert result.returncode == 0
    header = result.stdout.splitlines()[0]
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "PROVIDES", "ERROR"]
    assert "spine-servicenow" in result.stdout


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_channel_severity_exits_2_naming_path_value_and_choices(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '[alerts.channels.ops]\ntype = "console"\nmin_severity = "FATAL"\n'
    )
    result = spine("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert "alerts.channels.ops.min_severity" in result.stderr
    assert "'FATAL'" in result.stderr
    assert "INFO, WARNING, ERROR, CRITICAL" in result.stderr


def test_missing_environment_variable_exits_2_naming_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[storage]\nurl = "postgresql://u:${NOT_SET_PG_PASS}@h/db"\n')
    result = spine("--config", str(config), "config", "show")
    assert result.returncode == 2
    assert "NOT_SET_PG_PASS" in result.stderr


def test_unknown_option_of_a_channel_type_is_reported_by_config_check(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[alerts.channels.ops]\ntype = "console"\ncolour = "red"\n')
    result = spine("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert "alerts.channels.ops: unknown key 'colour'" in result.stderr
    assert "stream" in result.stderr  # the allowed keys are listed


def test_config_show_prints_secrets_as_stars(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[storage]\nurl = "postgresql://spine:pg-secret-1@db.internal/spine"\n'
        '[alerts.channels.ops]\ntype = "console"\nmin_severity = "ERROR"\n'
        '[sources.api]\ntype = "http"\nurl = "https://api.example/prices"\n'
        'token = "${PRICE_TOKEN}"\n',
    )
    result = spine("--config", str(config), "config", "show", PRICE_TOKEN="price-token-xyz")
    assert result.returncode == 0, result.stderr
    assert "pg-secret-1" not in result.stdout
    assert "price-token-xyz" not in result.stdout
    assert "postgresql://spine:***@db.internal/spine" in result.stdout
    assert 'token = "***"' in result.stdout
    assert 'min_severity = "ERROR"' in result.stdout

    as_json = spine(
        "--config", str(config), "config", "show", "--json", PRICE_TOKEN="price-token-xyz"
    )
    data = json.loads(as_json.stdout)
    assert data["config"]["sources"]["api"]["token"] == "***"
    assert data["path"] == str(config)


def test_unknown_command_is_a_usage_error() -> None:
    result = spine("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


@pytest.mark.shipped_plugins
def test_doctor_json_lists_each_check() -> None:
    result = spine("doctor", "--json")
    checks = {check["check"]: check for check in json.loads(result.stdout)}
    assert checks["config"]["status"] == "ok"
    assert checks["plugin postgres"]["status"] == "ok"
    assert "storage" in checks
    assert result.returncode == (0 if all(c["status"] == "ok" for c in checks.values()) else 1)


HELLO_PLUGIN = '''
    import click
    from spine_host import hookimpl

    @click.command("hello")
    @click.argument("name")
    def hello(name):
        """Greet NAME."""
        click.echo(f"hello {name}")

    @hookimpl
    def spine_register_commands(cli):
        cli.add_command(hello)
'''


@pytest.fixture(scope="module")
def hello_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hello")
    site = root / "site"
    pip_install(make_distribution(root, "spine-hello-demo", HELLO_PLUGIN), target=site)
    return site


def test_a_plugin_adds_a_command(hello_site: Path) -> None:
    result = spine("hello", "world", pythonpath=hello_site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello world"
    assert "hello" in spine("--help", pythonpath=hello_site).stdout


def test_a_disabled_plugin_adds_no_command(hello_site: Path) -> None:
    result = spine(
        "hello", "world", pythonpath=hello_site, SPINE_DISABLE_PLUGINS="spine_hello_demo"
    )
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(128, 256)), "not UTF-8 text: undecodable byte 0x80 at offset 0"),
        ('[storage]\nurl = "sqlite:///x.db"\n'.encode("utf-16"), "UTF-16 byte order mark"),
        (b'[storage]\nbusy_timeout_ms = "abc"\n', "storage.busy_timeout_ms = 'abc'"),
    ],
)
def test_unreadable_or_mistyped_config_is_exit_2_without_traceback(
    tmp_path: Path, content: bytes, message: str
) -> None:
    config = tmp_path / "spine.toml"
    config.write_bytes(content)
    result = run_spine(tmp_path, "--config", str(config), "runs", "list")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_absurd_since_is_a_usage_error(tmp_path: Path) -> None:
    result = run_spine(tmp_path, "runs", "list", "--since", "99999999999d")
    assert result.returncode == 2
    assert "longer than 36500 days" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_plugin_name_that_matches_nothing_is_warned_about_on_every_command(
    tmp_path: Path,
) -> None:
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env["SPINE_DISABLE_PLUGINS"] = "nonexistent"
    result = run_spine(tmp_path, "runs", "list", env=env)
    assert (
        "warning: plugin 'nonexistent' is disabled (SPINE_DISABLE_PLUGINS or [plugins] disable) "
        "but no such plugin is installed"
    ) in result.stderr
    env.pop("SPINE_DISABLE_PLUGINS")
    env["SPINE_LOAD_PLUGINS"] = "nonexistent"
    result = run_spine(tmp_path, "plugins", env=env)
    assert "warning: SPINE_LOAD_PLUGINS names 'nonexistent', which is no installed plugin" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ('url = "sqlite:///x.db"\nchunk_size = -1', "storage.chunk_size: expected a positive"),
        ('url = "sqlite:///x.db"\nsynchronous = "MAYBE"', "storage.synchronous: expected one of"),
        ('url = "sqlite:///x.db"\nbusy_timeout_ms = "abc"', "storage.busy_timeout_ms = 'abc'"),
        ('url = "sqlite:///x.db"\nbogus = 1', "storage: unknown key 'bogus' for SQLite"),
        ('url = "sqlite:///x.db"\ntimeout = 5', "allowed keys: busy_timeout_ms, chunk_size"),
        ('url = "sqlite:///x.db"\necho = "yes"', "storage.echo = 'yes': expected true or false"),
        ('url = "mysql://h/db"', "no storage plugin handles scheme 'mysql'"),
        ('url = "::::not a url"', "has no scheme"),
        pytest.param(
            'url = "postgresql://h/db"\npool_sise = 3',
            "storage: unknown key 'pool_sise'",
            marks=pytest.mark.shipped_plugins,
        ),
    ],
)
def test_config_check_refuses_what_opening_storage_would(
    tmp_path: Path, storage: str, message: str
) -> None:
    config = tmp_path / "spine.toml"
    config.write_text(f"[storage]\n{storage}\n")
    result = run_spine(tmp_path, "--config", str(config), "config", "check")
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "x.db").exists()  # checked without connecting


def run_spine(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``spine ARGS`` in a real process, in ``cwd``."""
    return subprocess.run(
        [SPINE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


@pytest.mark.parametrize(
    "command",
    [
        ("runs", "list"),
        ("runs", "reap"),
        ("rejects", "list"),
        ("alerts", "list"),
        ("schedules", "deadlines"),
        ("db", "status"),
        ("schedules", "list"),
    ],
)
def test_reading_commands_never_create_the_sqlite_file(tmp_path: Path, command: tuple) -> None:
    config = tmp_path / "spine.toml"
    config.write_text('[storage]\nurl = "sqlite:///x.db"\n')
    result = run_spine(tmp_path, "--config", str(config), *command)
    assert not (tmp_path / "x.db").exists()
    assert "Traceback" not in result.stderr
    if result.returncode != 0:
        assert "does not exist yet" in result.stderr
