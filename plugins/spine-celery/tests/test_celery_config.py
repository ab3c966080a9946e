"""``[executors.celery]``: defaults, the result backend each broker gets, and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from spine_celery.config import CeleryConfig
from spine_celery.executor import CeleryExecutor

from spine_host.errors import ConfigError
from spine_host.host import Host


def _executor(tmp_path: Path, table: str) -> CeleryExecutor:
    config = tmp_path / "spine.toml"
    config.write_text(f'[storage]\nurl = "sqlite://"\n\n[executors.celery]\n{table}\n')
    host = Host.from_config(config, environ={})
    executor = host.executor("celery")
    assert isinstance(executor, CeleryExecutor)
    return executor


def test_by_default_steps_go_to_a_local_redis_and_queue_spine() -> None:
    config = CeleryConfig()

    assert config.broker_url == "redis://127.0.0.1:6379/0"
    assert config.backend_url == "redis://127.0.0.1:6379/0"
    assert config.queue == "spine"


@pytest.mark.parametrize(
    ("broker", "backend"),
    [
        ("redis://:pw@cache:6379/2", "redis://:pw@cache:6379/2"),
        ("rediss://cache:6380/0", "rediss://cache:6380/0"),
        ("amqp://spine:pw@rabbit:5672//", "rpc://"),
        ("pyamqp://rabbit//", "rpc://"),
    ],
)
def test_the_result_backend_defaults_to_redis_itself_or_rpc_for_rabbitmq(
    broker: str, backend: str
) -> None:
    assert CeleryConfig(broker_url=broker).backend_url == backend


def test_the_table_is_read_into_the_executor(tmp_path: Path) -> None:
    executor = _executor(
        tmp_path,
        'broker_url = "amqp://spine:s3cret@rabbit:5672//"\n'
        'result_backend = "redis://results:6379/1"\nqueue = "heavy"\nconnect_timeout = 1.5',
    )

    assert executor.config.queue == "heavy"
    assert executor.config.connect_timeout == 1.5
    assert executor.config.backend_url == "redis://results:6379/1"
    # Building it connects nowhere (spine config check builds every configured executor).
    assert "s3cret" not in repr(executor)
    assert "amqp://spine:***@rabbit:5672//" in repr(executor)
    executor.shutdown()


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ("connect_timeout = 0", "executors.celery"),
        ('broker_url = "127.0.0.1:6379"', "executors.celery"),
        ('queue = "a,b"', "executors.celery"),
        ("brokr_url = 1", "brokr_url"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_table(tmp_path: Path, table: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _executor(tmp_path, table)

    assert named in raised.value.message


def test_an_empty_url_asks_whether_its_variable_is_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _executor(tmp_path, 'result_backend = "   "')

    assert "result_backend is empty (is its environment variable set?)" in raised.value.message
