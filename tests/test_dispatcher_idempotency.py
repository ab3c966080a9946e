"""Dispatcher idempotency keys: one key, one piece of work; reusing it for other work fails.

Every test runs on a SQLite file and on the session's PostgreSQL database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from spine_host import ErrorCategory, Host, SpineError, hookimpl
from spine_host.pipelines import (
    Dispatcher,
    ExecutionContext,
    ExecutionRepository,
    ExecutionStatus,
    register_pipeline,
)
from tests.plugins import pipeline_otc
from tests.plugins.pipeline_storage import open_host, random_friday, storage_url

#: What to do, once, between a run's idempotency check and its insert, by key.
RIVALS: dict[str, Callable[[], object]] = {}


@attrs.frozen
class ContestedParams:
    key: str
    value: str


def _rival_runs_first(params: ContestedParams) -> str:
    # The partition is worked out between the idempotency check and the insert, which makes
    # it the one place a test can let another caller take the key first, deterministically.
    rival = RIVALS.pop(params.key, None)
    if rival is not None:
        rival()
    return params.value


@register_pipeline("test.contested", params=ContestedParams, partition=_rival_runs_first)
def contested(context: ExecutionContext, params: ContestedParams) -> dict[str, str]:
    """Returns the value it was given."""
    return {"value": params.value}


class ContestedPlugin:
    @hookimpl
    def spine_register_pipelines(self, register: Any) -> None:
        register(contested.name, contested)


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(
        storage_url(request.param, tmp_path, postgres), pipeline_otc, ContestedPlugin()
    )
    yield host
    host.close()


def with_key(host: Host, key: str) -> list[str]:
    executions = ExecutionRepository(host.storage).recent(limit=100_000)
    return [e.execution_id for e in executions if e.idempotency_key == key]


def refused(run: Callable[[], object]) -> SpineError:
    with pytest.raises(SpineError) as caught:
        run()
    assert caught.value.category is ErrorCategory.VALIDATION
    return caught.value


def test_same_work_spelled_differently_returns_the_earlier_execution(host: Host) -> None:
    key = f"same-{uuid.uuid4().hex}"
    marker = uuid.uuid4().hex
    dispatcher = Dispatcher(host)
    first = dispatcher.run("otc.slow", {"marker": marker, "seconds": "0"}, idempotency_key=key)
    # Compared once structured: the number 0 is the same seconds as the text "0".
    again = dispatcher.run("otc.slow", {"seconds": 0, "marker": marker}, idempotency_key=key)

    assert again.execution_id == first.execution_id
    assert pipeline_otc.CALLS[("otc.slow", marker)] == 1


def test_key_reused_for_another_pipeline_is_refused_naming_the_earlier_run(host: Host) -> None:
    key = f"k1-{uuid.uuid4().hex}"
    friday = random_friday().isoformat()
    dispatcher = Dispatcher(host)
    ingest = dispatcher.run("otc.ingest", {"week_ending": friday}, idempotency_key=key)
    marker = uuid.uuid4().hex

    error = refused(lambda: dispatcher.run("otc.slow", {"marker": marker}, idempotency_key=key))

    assert f"idempotency key {key!r}" in error.message
    assert ingest.execution_id in error.message
    assert "'otc.ingest'" in error.message
    assert f'"week_ending":"{friday}"' in error.message
    assert error.context["execution_id"] == ingest.execution_id
    assert error.context["params"]["week_ending"] == friday
    assert pipeline_otc.CALLS[("otc.slow", marker)] == 0
    assert with_key(host, key) == [ingest.execution_id]


def test_key_reused_with_other_params_is_refused(host: Host) -> None:
    key = f"params-{uuid.uuid4().hex}"
    dispatcher = Dispatcher(host)
    first = dispatcher.run("otc.slow", {"marker": "a", "seconds": "0"}, idempotency_key=key)

    error = refused(
        lambda: dispatcher.run("otc.slow", {"marker": "b", "seconds": "0"}, idempotency_key=key)
    )

    assert first.execution_id in error.message
    assert '"marker":"a"' in error.message
    assert '"marker":"b"' in error.message
    assert with_key(host, key) == [first.execution_id]


def test_a_rival_taking_the_key_first_with_the_same_work_wins(host: Host) -> None:
    key = f"race-same-{uuid.uuid4().hex}"
    dispatcher = Dispatcher(host)
    rival: list[str] = []
    RIVALS[key] = lambda: rival.append(
        dispatcher.run(
            "test.contested", {"key": key, "value": "v"}, idempotency_key=key
        ).execution_id
    )

    ours = dispatcher.run("test.contested", {"key": key, "value": "v"}, idempotency_key=key)

    assert ours.execution_id == rival[0]
    assert ours.status is ExecutionStatus.COMPLETED
    assert with_key(host, key) == rival


def test_a_rival_taking_the_key_first_with_other_work_is_refused(host: Host) -> None:
    key = f"race-other-{uuid.uuid4().hex}"
    dispatcher = Dispatcher(host)
    rival: list[str] = []
    RIVALS[key] = lambda: rival.append(
        dispatcher.run(
            "test.contested", {"key": key, "value": "theirs"}, idempotency_key=key
        ).execution_id
    )

    error = refused(
        lambda: dispatcher.run("test.contested", {"key": key, "value": "ours"}, idempotency_key=key)
    )

    assert rival[0] in error.message
    assert '"value":"theirs"' in error.message
    assert with_key(host, key) == rival
