"""Real brokers and real ``spine worker`` processes for spine-celery's tests.

- Redis: ``SPINE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/9``, a database of its
  own), emptied before and after each test. When it does not answer the tests that need it
  are skipped with the reason, unless ``SPINE_REQUIRE_REDIS=1`` (CI), which fails them.
- RabbitMQ: ``amqp://guest:guest@127.0.0.1:5672//``; skipped with the reason when it does not
  answer.
- :class:`Cluster`: a ``spine.toml`` and a SQLite database in ``tmp_path`` shared by the
  runner and the workers, the workflows of ``tests/site`` (a plugin distribution on
  ``PYTHONPATH``) registered on both sides, workers started with ``spine worker`` and stopped
  (their whole process group) after the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import attrs
import pytest
import sqlalchemy as sa

from spine_host.host import Host

SITE = Path(__file__).parent / "site"
REDIS_URL = os.environ.get("SPINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
SPINE = Path(sys.executable).with_name("spine")

#: Seconds a worker may take from start to consuming.
WORKER_START = 30.0


def redis_required() -> bool:
    """True when a Redis that does not answer must fail the tests instead of skipping them."""
    return os.environ.get("SPINE_REQUIRE_REDIS", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The tests' Redis database, empty."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _redis_unavailable(f"Redis at {REDIS_URL} did not answer: {exc}")
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def rabbitmq_url() -> str:
    """RabbitMQ on this machine, or the test is skipped saying why."""
    from kombu import Connection

    with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
        try:
            connection.ensure_connection(max_retries=0, timeout=2)
        except Exception as exc:
            pytest.skip(f"RabbitMQ at 127.0.0.1:5672 did not answer: {exc}")
    return RABBITMQ_URL


def _redis_unavailable(reason: str) -> NoReturn:
    if redis_required():
        pytest.fail(f"SPINE_REQUIRE_REDIS is set but Redis is unavailable: {reason}")
    pytest.skip(reason)


@attrs.define
class Worker:
    """A ``spine worker`` process (the leader of its own process group)."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The worker's main process."""
        return self.process.pid

    def output(self) -> str:
        """What it printed and logged so far."""
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = WORKER_START) -> None:
        """Wait until Celery says it consumes; fail with its output if it exits or is slow."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.process.poll() is not None:
                pytest.fail(f"spine worker exited {self.process.returncode}:\n{self.output()}")
            time.sleep(0.05)
        pytest.fail(f"spine worker not ready after {timeout:g}s:\n{self.output()}")

    def terminate(self) -> None:
        """Ask it to stop (Celery's warm shutdown)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, grace: float = 3.0) -> None:
        """Stop it and its pool processes: a warm shutdown, killed after ``grace`` seconds.

        (With RabbitMQ a warm shutdown waits for the worker's next timer, up to ten seconds;
        the tests' steps are over by then, so they do not wait for it.)
        """
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@attrs.define
class Cluster:
    """A spine installation in a directory: config, SQLite database, workers."""

    root: Path
    config: Path
    database_url: str
    environment: dict[str, str]
    workers: list[Worker] = attrs.field(factory=list)

    def start_worker(self, *options: str) -> Worker:
        """Start ``spine worker OPTIONS`` (not waiting for it: see :meth:`Worker.wait_ready`)."""
        log = self.root / f"worker-{len(self.workers) + 1}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(SPINE), "worker", *options],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=self.environment,
                cwd=self.root,
                start_new_session=True,
            )
        worker = Worker(process, log)
        self.workers.append(worker)
        return worker

    def start_workers(self, *option_lists: tuple[str, ...]) -> list[Worker]:
        """Start several workers at once and wait until all consume."""
        started = [self.start_worker(*options) for options in option_lists]
        for worker in started:
            worker.wait_ready()
        return started

    def spine(self, *arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``spine ARGUMENTS`` here, with this cluster's configuration."""
        return subprocess.run(
            [str(SPINE), *arguments],
            capture_output=True,
            text=True,
            env=self.environment,
            cwd=self.root,
            timeout=timeout,
            check=False,
        )

    def host(self) -> Host:
        """A host in this process, configured as the runner's and the workers' (the caller
        puts ``SITE`` on ``sys.path`` so the test workflows register)."""
        return Host.from_config(self.config, environ=self.environment)

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of ``sql`` on the shared database."""
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def stop(self) -> None:
        """Stop every worker (all asked at once)."""
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.stop()


def build_cluster(root: Path, executor: Mapping[str, Any]) -> Cluster:
    """A cluster in ``root`` whose ``[executors.celery]`` table is ``executor``; its database
    migrated, with the ``celery_marks`` table the killable step writes to."""
    from spine_host.storage import migrations

    database = root / "spine.db"
    database_url = f"sqlite:///{database}"
    lines = ["[storage]", f'url = "{database_url}"', "", "[executors.celery]"]
    lines += [f"{key} = {_toml(value)}" for key, value in executor.items()]
    config = root / "spine.toml"
    config.write_text("\n".join(lines) + "\n")
    migrations.upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE celery_marks (step TEXT, attempt INT, pid INT)"))
    engine.dispose()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    environment["SPINE_CONFIG"] = str(config)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SITE), os.environ.get("PYTHONPATH")])
    )
    return Cluster(root, config, database_url, environment)


@pytest.fixture
def make_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Mapping[str, Any]], Cluster]]:
    """``make_cluster({"broker_url": ...})``: a cluster in ``tmp_path`` with that
    ``[executors.celery]`` table; its workers are stopped after the test. The test workflows
    are registered in this process too."""
    monkeypatch.syspath_prepend(str(SITE))
    made: list[Cluster] = []

    def make(executor: Mapping[str, Any]) -> Cluster:
        cluster = build_cluster(tmp_path, executor)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.stop()


@pytest.fixture
def cluster(redis_url: str, make_cluster: Callable[[Mapping[str, Any]], Cluster]) -> Cluster:
    """A cluster on the tests' Redis."""
    return make_cluster({"broker_url": redis_url, "connect_timeout": 2.0})


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
