"""The command line with the celery executor: refused workflows, ``spine doctor``, bad tables."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cluster

NOBODY = "redis://:s3cret@127.0.0.1:6390/0"


@pytest.fixture
def nothing_on_6390() -> None:
    """Port 6390 must be closed for the "broker down" tests to mean anything."""
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", 6390)) == 0:
            pytest.skip("something listens on 127.0.0.1:6390, the port these tests need closed")


def test_an_inline_callable_step_on_celery_is_refused_with_what_to_do(
    make_cluster: Callable[[Mapping[str, Any]], Cluster],
) -> None:
    # Refused before anything is sent, so no broker is needed.
    cluster = make_cluster({"broker_url": NOBODY})

    done = cluster.spine("workflows", "run", "celery_checks.inline", "--executor", "celery")

    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr
    assert "workflow 'celery_checks.inline' cannot run on the remote executor 'celery'" in message
    assert "step 'shout' runs an inline callable" in message
    assert "lambda" in message
    assert "register the workflow in a plugin" in message
    assert cluster.query("SELECT run_id FROM workflow_runs") == []


@pytest.mark.usefixtures("nothing_on_6390")
def test_doctor_names_the_broker_that_is_down_password_masked(
    make_cluster: Callable[[Mapping[str, Any]], Cluster],
) -> None:
    cluster = make_cluster({"broker_url": NOBODY})

    done = cluster.spine("doctor")

    assert done.returncode == 1, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("executor celery"))
    assert "FAIL" in line
    assert "the Celery broker redis://:***@127.0.0.1:6390/0 is unreachable" in line
    assert "s3cret" not in done.stdout + done.stderr


def test_doctor_reaches_a_broker_that_is_up(
    redis_url: str, make_cluster: Callable[[Mapping[str, Any]], Cluster]
) -> None:
    cluster = make_cluster({"broker_url": redis_url})

    done = cluster.spine("doctor", "--json")

    assert _check(done.stdout) == ("ok", f"broker {redis_url} reachable")


@pytest.mark.usefixtures("nothing_on_6390")
def test_config_check_shows_no_password_of_a_bad_table(
    make_cluster: Callable[[Mapping[str, Any]], Cluster],
) -> None:
    cluster = make_cluster({"broker_url": NOBODY, "connect_timeout": 0})

    done = cluster.spine("config", "check")

    assert done.returncode == 2
    assert "connect_timeout must be > 0" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr


def _check(output: str) -> tuple[str, str]:
    for check in json.loads(output):
        if check["check"] == "executor celery":
            return check["status"], check["detail"].split(",")[0]
    raise AssertionError(f"no executor check in {output}")
