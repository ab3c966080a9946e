"""WorkflowHistoryRepository: filters, ordering, failed-since, guarded terminal states."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus, WorkflowRun
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from tests.plugins.workflow_fixtures import host, storage_url

__all__ = ["host", "storage_url"]


def a_run(run_id, workflow="w", status=RunStatus.COMPLETED, age=timedelta(0)):
    started = utc_now() - age
    return WorkflowRun(
        run_id=run_id,
        workflow=workflow,
        status=status,
        started_at=started,
        finished_at=started + timedelta(seconds=1),
        params={"k": run_id},
    )


def test_list_runs_filters_by_workflow_status_and_since_newest_first(host) -> None:
    history = WorkflowHistoryRepository(host.storage)
    history.save_run(a_run("old-failed", status=RunStatus.FAILED, age=timedelta(hours=3)))
    history.save_run(a_run("new-failed", status=RunStatus.FAILED, age=timedelta(minutes=5)))
    history.save_run(a_run("newer-failed", "other", RunStatus.FAILED, timedelta(minutes=1)))
    history.save_run(a_run("ok", age=timedelta(minutes=2)))
    history.save_run(a_run("crashed", status=RunStatus.CRASHED, age=timedelta(minutes=3)))

    def ids(**filters):
        return [run.run_id for run in history.list_runs(**filters)]

    assert ids() == ["newer-failed", "ok", "crashed", "new-failed", "old-failed"]
    assert ids(status="FAILED") == ["newer-failed", "new-failed", "old-failed"]
    since = utc_now() - timedelta(hours=1)
    assert ids(status="FAILED", since=since) == ["newer-failed", "new-failed"]
    assert ids(workflow="w", status="FAILED", since=since) == ["new-failed"]
    assert ids(limit=2) == ["newer-failed", "ok"]
    assert [r.run_id for r in history.get_failed_runs(since)] == [
        "newer-failed",
        "crashed",
        "new-failed",
    ]
    run = history.get_run("ok")
    assert run is not None
    assert run.params == {"k": "ok"}
    assert run.started_at is not None
    assert run.started_at.tzinfo is not None
    assert history.get_run("nope") is None


def test_terminal_runs_are_never_overwritten_by_save(host) -> None:
    history = WorkflowHistoryRepository(host.storage)
    run = a_run("r1", status=RunStatus.RUNNING)
    assert history.save_run(run)
    run.status = RunStatus.CRASHED
    assert history.save_run(run)
    run.status = RunStatus.COMPLETED
    assert not history.save_run(run)  # CRASHED stays CRASHED
    assert history.require_run("r1").status is RunStatus.CRASHED


def test_one_row_per_attempt_and_quick_attempts_written_once(host) -> None:
    history = WorkflowHistoryRepository(host.storage)
    running = a_run("r2", status=RunStatus.RUNNING)
    running.owner = "runner-1"
    history.save_run(running)
    now = utc_now()
    slow = StepAttempt(
        run_id="r2", step_name="s", attempt=1, status=StepStatus.RUNNING, started_at=now
    )
    assert history.record_attempts([slow], [], owner="runner-1")
    assert history.require_run("r2").steps[0].status is StepStatus.RUNNING
    slow.status, slow.finished_at, slow.outputs = StepStatus.FAILED, now, None
    retry = StepAttempt(
        run_id="r2",
        step_name="s",
        attempt=2,
        status=StepStatus.COMPLETED,
        started_at=now + timedelta(seconds=1),
        outputs={"n": 1},
    )
    # started and finished in one batch
    assert history.record_attempts([retry], [slow, retry], owner="runner-1")
    stored = history.require_run("r2").steps
    assert [(a.attempt, a.status, a.outputs) for a in stored] == [
        (1, StepStatus.FAILED, None),
        (2, StepStatus.COMPLETED, {"n": 1}),
    ]


def test_failed_since_query_uses_the_status_started_at_index(host) -> None:
    history = WorkflowHistoryRepository(host.storage)
    history.save_run(a_run("x", status=RunStatus.FAILED))
    statement = (
        sa.select(schema.workflow_runs)
        .where(
            schema.workflow_runs.c.status == "FAILED",
            schema.workflow_runs.c.started_at >= utc_now() - timedelta(hours=1),
        )
        .order_by(schema.workflow_runs.c.started_at.desc())
        .limit(50)
    )
    compiled = statement.compile(host.storage.engine, compile_kwargs={"literal_binds": True})
    if host.storage.dialect == "sqlite":
        plan = host.storage.query(f"EXPLAIN QUERY PLAN {compiled}")
        assert "ix_workflow_runs_status_started_at" in str(plan)
    else:
        with host.storage.engine.connect() as connection:
            connection.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: force honesty
            plan = connection.exec_driver_sql(f"EXPLAIN {compiled}").all()
        assert "ix_workflow_runs_status_started_at" in str(plan)


def test_attempts_are_written_only_while_their_runner_owns_the_running_run(host) -> None:
    history = WorkflowHistoryRepository(host.storage)
    run = a_run("r3", status=RunStatus.RUNNING)
    run.owner = "runner-1"
    history.save_run(run)

    def attempt(number):
        return StepAttempt(run_id="r3", step_name="s", attempt=number, status=StepStatus.RUNNING)

    assert not history.record_attempts([attempt(1)], [], owner="runner-2")
    assert history.require_run("r3").steps == []  # another runner's batch is dropped whole
    assert history.record_attempts([attempt(1)], [], owner="runner-1")
    history.crash_stale_runs(utc_now() + timedelta(hours=1), {"message": "reaped"})
    assert not history.record_attempts([attempt(2)], [], owner="runner-1")  # reaped: not its own
    assert [(a.attempt, a.status) for a in history.require_run("r3").steps] == [
        (1, StepStatus.CRASHED)
    ]


def test_a_driver_error_in_a_history_write_comes_out_classified(host) -> None:
    history = WorkflowHistoryRepository(host.storage)
    run = a_run("r4", status=RunStatus.RUNNING)
    run.owner = "runner-1"
    history.save_run(run)
    first = StepAttempt(run_id="r4", step_name="s", attempt=1, status=StepStatus.RUNNING)
    assert history.record_attempts([first], [], owner="runner-1")
    with pytest.raises(SpineError) as caught:  # the same attempt twice: a unique key violation
        history.record_attempts([first], [], owner="runner-1")
    assert caught.value.category is ErrorCategory.STORAGE
    assert "workflow_steps" in caught.value.message or "unique" in caught.value.message.lower()
