"""Dispatcher: history, retries, idempotency, lineage, manifest skips and quality gates.

Every test runs on a SQLite file and on the session's PostgreSQL database.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from spine_host import ErrorCategory, Host, SpineError, hookimpl
from spine_host.pipelines import (
    Dispatcher,
    EventType,
    ExecutionContext,
    ExecutionRepository,
    ExecutionStatus,
    QualityStatus,
)
from spine_host.pipelines.quality import list_quality
from spine_host.pipelines.rejects import list_rejects
from spine_host.retry import Backoff, RetryPolicy
from tests.plugins import pipeline_otc
from tests.plugins.pipeline_storage import open_host, random_friday, storage_url


class RunObserver:
    """Records what the run event hooks receive."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    @hookimpl
    def spine_run_started(self, run: Any) -> None:
        self.seen.append(("started", run.run_id, run.status))

    @hookimpl
    def spine_run_finished(self, run: Any) -> None:
        self.seen.append(("finished", run.run_id, run.status))


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(storage_url(request.param, tmp_path, postgres), pipeline_otc, RunObserver())
    yield host
    host.close()


def observer(host: Host) -> RunObserver:
    return next(p for p in host.plugins.manager.get_plugins() if isinstance(p, RunObserver))


def events(host: Host, execution_id: str) -> list[tuple[str, int | None]]:
    return [
        (event.event_type.value, event.attempt)
        for event in ExecutionRepository(host.storage).events(execution_id)
    ]


def no_wait(seconds: float) -> None:
    """Retries in these tests need not wait, except where waiting is the point."""


def test_completed_run_is_recorded_with_events_result_and_hooks(host: Host) -> None:
    friday = random_friday()
    execution = Dispatcher(host).run("otc.ingest", {"week_ending": str(friday), "tier": "T2"})

    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.result == {"rows_in": 3, "rows_out": 1, "rows_rejected": 2, "tier": "T2"}
    assert (execution.rows_in, execution.rows_out, execution.rows_rejected) == (3, 1, 2)
    stored = ExecutionRepository(host.storage).get(execution.execution_id)
    assert stored is not None
    assert stored.status is ExecutionStatus.COMPLETED
    assert stored.params == {
        "week_ending": friday.isoformat(),
        "tier": "T2",
        "venues": ["XNAS"],
        "bad_lines": 2,
    }
    assert stored.result == execution.result
    assert stored.attempts == 1
    assert stored.started_at is not None
    assert stored.finished_at is not None
    assert stored.started_at <= stored.finished_at
    assert events(host, execution.execution_id) == [
        ("created", None),
        ("started", 1),
        ("completed", 1),
    ]
    assert observer(host).seen == [
        ("started", execution.execution_id, "RUNNING"),
        ("finished", execution.execution_id, "COMPLETED"),
    ]
    # What the pipeline wrote through its context is tagged with the execution.
    checks = list_quality(host.storage, execution_id=execution.execution_id)
    assert {(c.check_name, c.status) for c in checks} == {
        ("row_count", QualityStatus.PASS),
        ("rejects", QualityStatus.WARN),
    }
    rejects = list_rejects(host.storage, execution_id=execution.execution_id)
    assert [(r.pipeline, r.partition_key, r.stage) for r in rejects] == [
        ("otc.ingest", friday.isoformat(), "PARSE")
    ] * 2


def test_transient_failures_are_retried_until_success_with_every_attempt_recorded(
    host: Host,
) -> None:
    marker = uuid.uuid4().hex
    policy = RetryPolicy(max_attempts=3, delay=0.01, backoff=Backoff.FIXED)
    execution = Dispatcher(host, sleep=no_wait).run(
        "otc.flaky", {"failures": "2", "marker": marker}, retry_policy=policy
    )

    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.attempts == 3
    assert pipeline_otc.CALLS[("otc.flaky", marker)] == 3
    history = ExecutionRepository(host.storage).events(execution.execution_id)
    assert [(e.event_type.value, e.attempt) for e in history] == [
        ("created", None),
        ("started", 1),
        ("retried", 1),
        ("started", 2),
        ("retried", 2),
        ("started", 3),
        ("completed", 3),
    ]
    retried = [e for e in history if e.event_type is EventType.RETRIED]
    assert all(e.details["error"]["category"] == "TRANSIENT" for e in retried)
    assert "upstream hiccup #1" in (retried[0].message or "")
    stored = ExecutionRepository(host.storage).get(execution.execution_id)
    assert stored is not None
    assert stored.attempts == 3


def test_retries_exhausted_end_failed_with_the_classified_error(host: Host) -> None:
    marker = uuid.uuid4().hex
    policy = RetryPolicy(max_attempts=2, delay=0)
    execution = Dispatcher(host, sleep=no_wait).run(
        "otc.flaky", {"failures": "5", "marker": marker}, retry_policy=policy
    )

    assert execution.status is ExecutionStatus.FAILED
    assert execution.attempts == 2
    assert execution.error is not None
    assert execution.error.category is ErrorCategory.TRANSIENT
    stored = ExecutionRepository(host.storage).get(execution.execution_id)
    assert stored is not None
    assert stored.status is ExecutionStatus.FAILED
    assert stored.error is not None
    assert stored.error.category is ErrorCategory.TRANSIENT
    assert stored.error.message == "upstream hiccup #2"
    assert events(host, execution.execution_id)[-1] == ("failed", 2)
    assert observer(host).seen[-1] == ("finished", execution.execution_id, "FAILED")


def test_validation_error_is_not_retried(host: Host) -> None:
    marker = uuid.uuid4().hex
    execution = Dispatcher(host, sleep=no_wait).run(
        "otc.flaky",
        {"failures": "1", "category": "VALIDATION", "marker": marker},
        retry_policy=RetryPolicy(max_attempts=3, delay=0),
    )

    assert execution.status is ExecutionStatus.FAILED
    assert execution.attempts == 1
    assert pipeline_otc.CALLS[("otc.flaky", marker)] == 1
    assert execution.error is not None
    assert execution.error.category is ErrorCategory.VALIDATION
    assert "retried" not in [event for event, _ in events(host, execution.execution_id)]


def test_rate_limit_waits_for_retry_after(host: Host) -> None:
    marker = uuid.uuid4().hex
    policy = RetryPolicy(max_attempts=2, delay=0)
    started = time.monotonic()
    execution = Dispatcher(host).run(
        "otc.flaky",
        {"failures": "1", "category": "RATE_LIMIT", "retry_after": "1", "marker": marker},
        retry_policy=policy,
    )
    waited = time.monotonic() - started

    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.attempts == 2
    assert 1.0 <= waited < 3.0
    retried = [
        e
        for e in ExecutionRepository(host.storage).events(execution.execution_id)
        if e.event_type is EventType.RETRIED
    ]
    assert [e.details["delay_seconds"] for e in retried] == [1.0]


def test_same_idempotency_key_creates_one_execution(host: Host) -> None:
    key = f"test-{uuid.uuid4().hex}"
    marker = uuid.uuid4().hex
    dispatcher = Dispatcher(host)
    first = dispatcher.run("otc.slow", {"marker": marker, "seconds": "0"}, idempotency_key=key)
    second = dispatcher.run("otc.slow", {"marker": marker, "seconds": "0"}, idempotency_key=key)

    assert second.execution_id == first.execution_id
    assert second.status is ExecutionStatus.COMPLETED
    assert pipeline_otc.CALLS[("otc.slow", marker)] == 1
    assert len(ExecutionRepository(host.storage).recent(pipeline="otc.slow", limit=1000)) >= 1
    assert [e.idempotency_key for e in ExecutionRepository(host.storage).recent(
        pipeline="otc.slow", limit=1000
    )].count(key) == 1  # fmt: skip


def test_same_idempotency_key_under_a_race_runs_once(host: Host) -> None:
    key = f"race-{uuid.uuid4().hex}"
    marker = uuid.uuid4().hex
    dispatcher = Dispatcher(host)
    barrier = threading.Barrier(4)
    results: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            execution = dispatcher.run(
                "otc.slow", {"marker": marker, "seconds": "0.2"}, idempotency_key=key
            )
            results.append(execution.execution_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Exactly one does the work; the others report it as running elsewhere (never as done).
    assert len(results) == 1
    assert len(errors) == 3
    for error in errors:
        assert isinstance(error, SpineError)
        assert error.category is ErrorCategory.DEPENDENCY
        assert "is being run right now by execution " + results[0] in error.message
    assert pipeline_otc.CALLS[("otc.slow", marker)] == 1
    # Once it finished, the same key answers with that execution.
    again = dispatcher.run("otc.slow", {"marker": marker, "seconds": "0.2"}, idempotency_key=key)
    assert again.execution_id == results[0]
    assert again.status is ExecutionStatus.COMPLETED


def test_lineage_children_and_batch_are_queryable(host: Host) -> None:
    context = ExecutionContext.root(host, triggered_by="test").with_batch()
    parent = Dispatcher(host).run("otc.parent", context=context)

    assert parent.status is ExecutionStatus.COMPLETED
    repository = ExecutionRepository(host.storage)
    children = repository.children(parent.execution_id)
    assert sorted(child.execution_id for child in children) == sorted(parent.result["children"])
    assert all(child.parent_execution_id == parent.execution_id for child in children)
    assert all(child.batch_id == context.batch_id for child in children)
    assert all(child.triggered_by == "test" for child in children)
    batch = repository.batch(context.batch_id or "")
    assert {e.execution_id for e in batch} == {parent.execution_id, *parent.result["children"]}


def test_second_run_of_a_reached_partition_is_skipped_unless_forced(host: Host) -> None:
    params = {"week_ending": str(random_friday()), "bad_lines": "0"}
    dispatcher = Dispatcher(host)
    first = dispatcher.run("otc.ingest", params)
    second = dispatcher.run("otc.ingest", params)
    forced = dispatcher.run("otc.ingest", params, force=True)

    assert first.status is ExecutionStatus.COMPLETED
    assert second.status is ExecutionStatus.SKIPPED
    assert "already reached stage 'INGESTED'" in second.result["reason"]
    assert events(host, second.execution_id) == [("created", None), ("skipped", None)]
    stored = ExecutionRepository(host.storage).get(second.execution_id)
    assert stored is not None
    assert stored.status is ExecutionStatus.SKIPPED
    assert forced.status is ExecutionStatus.COMPLETED
    assert pipeline_otc.CALLS[("otc.ingest", params["week_ending"])] == 2


def test_quality_gate_failure_fails_the_run_and_keeps_every_check(host: Host) -> None:
    execution = Dispatcher(host).run("otc.gated")

    assert execution.status is ExecutionStatus.FAILED
    assert execution.error is not None
    assert execution.error.category is ErrorCategory.QUALITY
    assert "has_rows: actual 0" in execution.error.message
    stored = ExecutionRepository(host.storage).get(execution.execution_id)
    assert stored is not None
    assert stored.error is not None
    assert stored.error.category is ErrorCategory.QUALITY
    checks = list_quality(host.storage, execution_id=execution.execution_id)
    assert sorted((c.check_name, c.status.value, c.actual) for c in checks) == [
        ("fresh", "PASS", 1),
        ("has_rows", "FAIL", 0),
        ("nulls", "WARN", 3),
    ]


def test_bad_parameters_fail_before_anything_is_recorded(host: Host) -> None:
    before = len(ExecutionRepository(host.storage).recent(pipeline="otc.ingest", limit=10_000))
    with pytest.raises(Exception, match="must be a Friday") as caught:
        Dispatcher(host).run("otc.ingest", {"week_ending": "2025-12-27"})
    assert getattr(caught.value, "category", None) is ErrorCategory.VALIDATION
    after = len(ExecutionRepository(host.storage).recent(pipeline="otc.ingest", limit=10_000))
    assert after == before
