"""spine.toml: discovery, ${ENV} interpolation, validation messages and secret redaction."""

from __future__ import annotations

import enum
import logging
from pathlib import Path

import attrs
import pytest

from spine_host import ConfigError, Severity, load_config
from spine_host.config import DEFAULT_STORAGE_URL
from spine_host.redaction import MASK, RedactingFilter, Redactor
from spine_host.structuring import structure


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_embedded_sqlite_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPINE_CONFIG", raising=False)
    config = load_config()
    assert config.path is None
    assert config.storage.url == DEFAULT_STORAGE_URL == "sqlite:///spine.db"


def test_discovery_order_argument_then_env_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "spine.toml").write_text('[storage]\nurl = "sqlite:///cwd.db"\n')
    env_file = tmp_path / "env.toml"
    env_file.write_text('[storage]\nurl = "sqlite:///env.db"\n')
    arg_file = tmp_path / "arg.toml"
    arg_file.write_text('[storage]\nurl = "sqlite:///arg.db"\n')
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("SPINE_CONFIG", raising=False)
    # (relative database paths are relative to the file that names them)
    assert load_config().storage.url == f"sqlite:///{cwd.resolve()}/cwd.db"
    monkeypatch.setenv("SPINE_CONFIG", str(env_file))
    assert load_config().storage.url == f"sqlite:///{tmp_path.resolve()}/env.db"
    assert load_config(arg_file).storage.url == f"sqlite:///{tmp_path.resolve()}/arg.db"


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml.*does not exist"):
        load_config(tmp_path / "nope.toml")


def test_invalid_severity_names_path_value_and_allowed_values(tmp_path: Path) -> None:
    path = write(tmp_path, '[alerts.channels.ops]\ntype = "console"\nmin_severity = "FATAL"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "alerts.channels.ops.min_severity" in message
    assert "'FATAL'" in message
    assert "INFO, WARNING, ERROR, CRITICAL" in message


def test_severity_is_parsed_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path, '[alerts.channels.ops]\ntype = "console"\nmin_severity = "error"\n')
    assert load_config(path).alerts.channels["ops"].min_severity is Severity.ERROR


def test_wrong_scalar_type_is_not_silently_converted(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"storage\.url = 5: expected a string, got an integer"):
        load_config(write(tmp_path, "[storage]\nurl = 5\n"))


def test_unknown_top_level_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown top-level table 'alert'"):
        load_config(write(tmp_path, '[alert.channels.ops]\ntype = "console"\n'))


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\.prices\.type: required but missing"):
        load_config(write(tmp_path, '[sources.prices]\npath = "x.csv"\n'))


def test_env_interpolation_and_missing_variable(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[storage]\nurl = "postgresql://spine:${PGPASS}@db/spine"\n'
        '[sources.api]\ntype = "http"\nurl = "${API_URL:-http://127.0.0.1/prices}"\n',
    )
    config = load_config(path, environ={"PGPASS": "s3cret-pass"})
    assert config.storage.url == "postgresql://spine:s3cret-pass@db/spine"
    assert config.sources["api"].options["url"] == "http://127.0.0.1/prices"
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})
    assert "PGPASS" in str(raised.value)
    assert "storage.url" in str(raised.value)


def test_redacted_config_masks_env_values_credential_keys_and_url_passwords(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[storage]\nurl = "postgresql://spine:hunter2pw@db/spine"\n'
        '[alerts.channels.ops]\ntype = "slack"\nwebhook_url = "https://hooks.example/T0/B0/abc"\n'
        '[sources.api]\ntype = "http"\nheaders = { X-Token = "${API_TOKEN}" }\n',
    )
    config = load_config(path, environ={"API_TOKEN": "tok-123456"})
    shown = str(config.redacted())
    for secret in ("hunter2pw", "hooks.example/T0/B0/abc", "tok-123456"):
        assert secret not in shown
    assert "postgresql://spine:***@db/spine" in shown
    assert config.redacted()["alerts"]["channels"]["ops"]["webhook_url"] == MASK


def test_log_filter_masks_secrets_in_messages_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("spine.test.redaction")
    handler_filter = RedactingFilter(Redactor(["tok-123456"]))
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "calling with %s", ("tok-123456",), None
    )
    assert handler_filter.filter(record)
    assert record.getMessage() == f"calling with {MASK}"


@attrs.frozen
class ApiWithPassword:
    password: str
    read_timeout: float = attrs.field(validator=attrs.validators.gt(0))


def test_validation_errors_never_show_credentials() -> None:
    with pytest.raises(ConfigError) as raised:
        structure({"password": "sekrit-pw", "read_timeout": -1}, ApiWithPassword, "sources.api")
    assert "sekrit-pw" not in str(raised.value)
    assert "sources.api.read_timeout = -1" in str(raised.value)


class Paging(enum.StrEnum):
    OFFSET = "offset"
    CURSOR = "cursor"


@attrs.frozen
class PagedApi:
    paging: Paging


def test_str_enum_fields_are_validated_with_the_allowed_values() -> None:
    assert structure({"paging": "cursor"}, PagedApi, "sources.api").paging is Paging.CURSOR
    with pytest.raises(ConfigError, match=r"sources\.api\.paging = 'pages': .*offset, cursor"):
        structure({"paging": "pages"}, PagedApi, "sources.api")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"plugins": {"disable": "db2"}}, "plugins.disable"),
        ({"alerts": {"channels": {"ops": {"type": "console", "domains": "otc"}}}}, "domains"),
    ],
)
def test_a_string_where_a_list_is_expected_is_refused_not_split(data: dict, path: str) -> None:
    from spine_host.config import parse_config

    with pytest.raises(ConfigError) as refused:
        parse_config(data)
    assert path in refused.value.message
    assert "expected a list, got a string" in refused.value.message


def test_a_validator_message_has_no_attrs_internals() -> None:
    from spine_host.config import parse_config
    from spine_host.host import Host

    host = Host(
        config=parse_config({"alerts": {"channels": {"ops": {"type": "console", "stream": "x"}}}}),
        load_entrypoints=False,
        storage_url="sqlite://",
        environ={},
    )
    with pytest.raises(ConfigError) as refused:
        host.alert_channel("ops")
    assert "Attribute(" not in refused.value.message
    assert "alerts.channels.ops.stream = 'x'" in refused.value.message


def test_relative_paths_in_spine_toml_are_relative_to_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from spine_host.config import load_config

    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "spine.toml").write_text(
        '[storage]\nurl = "sqlite:///data/spine.db"\n\n'
        '[sources.local]\ntype = "file"\npath = "in/prices.csv"\n\n'
        '[sources.absolute]\ntype = "file"\npath = "/srv/prices.csv"\n\n'
        '[alerts.channels.hook]\ntype = "webhook"\nurl = "https://h/x"\nca_bundle = "ca.pem"\n'
    )
    config = load_config(folder / "spine.toml")
    assert config.storage.url == f"sqlite:///{folder.resolve()}/data/spine.db"
    assert config.sources["local"].options["path"] == str(folder.resolve() / "in/prices.csv")
    assert config.sources["absolute"].options["path"] == "/srv/prices.csv"
    assert config.alerts.channels["hook"].options["ca_bundle"] == str(folder.resolve() / "ca.pem")
    assert config.alerts.channels["hook"].options["url"] == "https://h/x"
    memory = folder / "memory.toml"
    memory.write_text('[storage]\nurl = "sqlite:///:memory:"\n')
    assert load_config(memory).storage.url == "sqlite:///:memory:"
