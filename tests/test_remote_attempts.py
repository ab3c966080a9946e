"""Remote executors: steps go out by reference, workers claim, heartbeat and record attempts.

The executor here is the kit's :class:`LoopbackExecutor` (every attempt crosses a JSON boundary
to a worker thread running ``run_step_ref``), so the protocol is exercised without a broker;
spine-celery's own suite runs the same protocol on real Celery workers.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from spine_host.errors import SpineError
from spine_host.host import Host
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.remote_worker import NOT_CLAIMED, run_step_ref
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.step_context import StepContext
from spine_host.orchestration.step_ref import StepRef
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.plugins import hookimpl
from spine_host.retry import RetryPolicy
from spine_host.storage import schema
from spine_host.testing.loopback import LoopbackExecutor, loopback_plugin
from tests.plugins.workflow_fixtures import make_host, storage_url  # noqa: F401

log = logging.getLogger("tests.remote")

#: Rows the steps commit through spine's storage, to see which attempts' work counted.
_MARKS = sa.table("remote_marks", sa.column("step"), sa.column("attempt"))


def extract(context: StepContext, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A first step: logs a line and returns rows."""
    log.info("extracting for %s", params.get("day"))
    return {"rows_out": 3, "day": params.get("day")}


def load(context: StepContext, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A second step: commits a mark through spine's storage and passes its input on."""
    context.host.storage.execute(
        sa.insert(_MARKS).values(step=context.step_name, attempt=context.attempt)
    )
    return {"loaded": inputs["extract"]["rows_out"]}


_TWICE = RetryPolicy(max_attempts=2, delay=0.01)


def _workflows() -> list[Workflow]:
    return [
        Workflow(
            "remote.demo",
            [
                Step("extract", extract),
                Step(
                    "load",
                    load,
                    depends_on=["extract"],
                    retry=RetryPolicy(max_attempts=2, delay=0.01),
                ),
            ],
            executor="loopback",
        ),
        Workflow("remote.inline", [Step("shout", lambda context, inputs, params: 1)]),
    ]


class _Workflows:
    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        for workflow in _workflows():
            register(workflow)


def _host(url: str, **executor: Any) -> tuple[Host, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    plugin = loopback_plugin(lambda host: LoopbackExecutor(host, sent=sent, **executor))
    host = make_host(url, _Workflows(), plugin)
    engine = host.storage.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS remote_marks"))
        connection.execute(sa.text("CREATE TABLE remote_marks (step VARCHAR(50), attempt INT)"))
    return host, sent


def _marks(host: Host) -> list[tuple[str, int]]:
    rows = host.storage.query("SELECT step, attempt FROM remote_marks ORDER BY step, attempt")
    return [(row["step"], row["attempt"]) for row in rows]


def _attempt_rows(host: Host, run_id: str) -> list[dict[str, Any]]:
    steps = schema.workflow_steps
    return host.storage.query(
        sa.select(steps)
        .where(steps.c.run_id == run_id)
        .order_by(steps.c.step_name, steps.c.attempt)
    )


def test_a_registered_workflow_runs_by_reference_and_workers_record_their_attempts(
    storage_url: str,  # noqa: F811
) -> None:
    host, sent = _host(storage_url)
    run = WorkflowRunner(host).run("remote.demo", {"day": "2026-12-03"})

    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs == {"load": {"loaded": 3}}
    # What crossed the boundary: names, ids, params and upstream outputs, as plain JSON.
    assert [message["step"] for message in sent] == ["extract", "load"]
    assert sent[1]["inputs"] == {"extract": {"rows_out": 3, "day": "2026-12-03"}}
    assert sent[1]["token"] == sent[1]["execution_id"]
    rows = _attempt_rows(host, run.run_id)
    assert [(row["step_name"], row["status"]) for row in rows] == [
        ("extract", "COMPLETED"),
        ("load", "COMPLETED"),
    ]
    assert all(row["worker"] and row["claimed_at"] and row["heartbeat_at"] for row in rows)
    assert rows[0]["rows_out"] == 3
    assert _marks(host) == [("load", 1)]
    # The worker kept the step's log line, as the local executor does.
    logs = host.storage.query(
        sa.select(schema.workflow_step_logs.c.message).where(
            schema.workflow_step_logs.c.run_id == run.run_id
        )
    )
    assert [row["message"] for row in logs] == ["extracting for 2026-12-03"]


def test_a_message_delivered_twice_runs_once(storage_url: str) -> None:  # noqa: F811
    host, sent = _host(storage_url)
    run = WorkflowRunner(host).run("remote.demo", {"day": "d"})
    assert run.status is RunStatus.COMPLETED

    again = run_step_ref(host, StepRef.from_json(json.loads(json.dumps(sent[1]))))

    assert again.status is StepStatus.CRASHED
    assert again.error is not None
    assert again.error.context[NOT_CLAIMED]
    assert "was not run" in again.error.message
    assert _marks(host) == [("load", 1)]  # the redelivery did no work
    assert [row["status"] for row in _attempt_rows(host, run.run_id)] == ["COMPLETED"] * 2


def test_a_silent_worker_s_attempt_is_crashed_and_retried_and_commits_nothing_later(
    storage_url: str,  # noqa: F811
) -> None:
    host, sent = _host(storage_url, lose={("load", 1)})
    runner = WorkflowRunner(host, heartbeat_interval=0.1, stale_after=0.5)
    run = runner.run("remote.demo", {"day": "d"})

    assert run.status is RunStatus.COMPLETED, run.error
    rows = [row for row in _attempt_rows(host, run.run_id) if row["step_name"] == "load"]
    assert [(row["attempt"], row["status"]) for row in rows] == [(1, "CRASHED"), (2, "COMPLETED")]
    assert "sent no heartbeat" in rows[0]["error"]["message"]
    assert rows[0]["worker"].endswith("-lost")
    # The lost worker "comes back" and runs its message: its attempt is gone, nothing counts.
    late = run_step_ref(host, StepRef.from_json(sent[1]), worker=rows[0]["worker"])
    assert late.status is StepStatus.CRASHED
    assert _marks(host) == [("load", 2)]


def test_a_commit_after_the_attempt_was_taken_from_its_worker_is_refused(
    storage_url: str,  # noqa: F811
) -> None:
    host, sent = _host(storage_url)
    run = WorkflowRunner(host).run("remote.demo", {"day": "d"})
    ref = StepRef.from_json({**sent[1], "attempt": 2, "token": "t2", "execution_id": "t2"})
    # A second attempt recorded RUNNING (as the runner writes it), claimed by a worker whose
    # attempt the runner then ends (timed out) while the step still runs.
    steps = schema.workflow_steps
    host.storage.execute(
        sa.insert(steps).values(
            run_id=run.run_id, step_name="load", attempt=2, status="RUNNING", execution_id="t2"
        )
    )
    host.storage.execute(
        sa.update(schema.workflow_runs)
        .where(schema.workflow_runs.c.run_id == run.run_id)
        .values(status="RUNNING")
    )
    started, release = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def worker() -> None:
        outcome.append(run_step_ref(host, ref, worker="w-1"))

    original = load.__code__
    try:
        globals()["_hold"] = (started, release)
        load.__code__ = _held_load.__code__
        thread = threading.Thread(target=worker)
        thread.start()
        assert started.wait(10)
        host.storage.execute(
            sa.update(steps)
            .where(steps.c.run_id == run.run_id, steps.c.attempt == 2)
            .values(status="TIMED_OUT")
        )
        release.set()
        thread.join(10)
    finally:
        load.__code__ = original
    assert outcome[0].status is StepStatus.CRASHED  # its end came too late to count
    assert _marks(host) == [("load", 1)]  # the step's own commit was refused


def _held_load(context: StepContext, inputs: dict[str, Any], params: dict[str, Any]) -> Any:
    started, release = globals()["_hold"]
    started.set()
    release.wait(10)
    context.host.storage.execute(
        sa.insert(_MARKS).values(step=context.step_name, attempt=context.attempt)
    )
    return {}


def test_an_inline_callable_is_refused_before_anything_is_recorded(
    storage_url: str,  # noqa: F811
) -> None:
    host, sent = _host(storage_url)
    runner = WorkflowRunner(host)

    with pytest.raises(SpineError) as raised:
        runner.run("remote.inline", executor="loopback")

    message = raised.value.message
    assert raised.value.category.value == "VALIDATION"
    assert "step 'shout' runs an inline callable" in message
    assert "a lambda" in message
    assert "register the workflow in a plugin" in message
    assert sent == []
    assert host.storage.query(sa.select(schema.workflow_runs)) == []


def test_a_workflow_built_in_a_script_is_refused_on_a_remote_executor(
    storage_url: str,  # noqa: F811
) -> None:
    host, _ = _host(storage_url)
    scripted = Workflow("scripted", [Step("extract", extract)], executor="loopback")

    with pytest.raises(SpineError, match="not registered by any plugin"):
        WorkflowRunner(host).run(scripted)


def test_the_local_executor_still_runs_inline_callables(storage_url: str) -> None:  # noqa: F811
    host, _ = _host(storage_url)
    run = WorkflowRunner(host).run("remote.inline")
    assert run.status is RunStatus.COMPLETED
    assert [attempt.worker for attempt in run.steps] == [None]


# -- resume_on_crash: a scheduler replica that reaps a run resumes it -----------------------------


def _dead_runners_run(host: Host, workflow: str) -> str:
    """A RUNNING run of ``workflow`` whose runner (on another machine) went silent an hour ago,
    with ``extract`` COMPLETED and ``load`` RUNNING."""
    from datetime import timedelta

    from spine_host.storage.types import utc_now

    run_id = f"dead-{workflow}"
    then = utc_now() - timedelta(hours=1)
    host.storage.execute(
        sa.insert(schema.workflow_runs).values(
            run_id=run_id,
            workflow=workflow,
            status="RUNNING",
            params={"day": "d"},
            triggered_by="schedule",
            owner="elsewhere:4242:deadbeef",
            heartbeat_at=then,
            started_at=then,
            steps_total=2,
            created_at=then,
        )
    )
    for name, status, outputs in (
        ("extract", "COMPLETED", {"rows_out": 7, "day": "d"}),
        ("load", "RUNNING", None),
    ):
        host.storage.execute(
            sa.insert(schema.workflow_steps).values(
                run_id=run_id,
                step_name=name,
                attempt=1,
                status=status,
                outputs=outputs,
                execution_id=f"{run_id}-{name}",
                started_at=then,
                finished_at=then if status == "COMPLETED" else None,
                created_at=then,
            )
        )
    return run_id


class _Resumable:
    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        steps = [Step("extract", extract), Step("load", load, depends_on=["extract"])]
        register(Workflow("resume.yes", steps, executor="loopback", resume_on_crash=True))
        register(Workflow("resume.no", steps, executor="loopback"))


def test_a_replica_reaping_a_run_of_a_resume_on_crash_workflow_resumes_it_in_place(
    storage_url: str,  # noqa: F811
) -> None:
    from spine_host.orchestration.scheduler import SchedulerService

    plugin = loopback_plugin(lambda host: LoopbackExecutor(host))
    host = make_host(storage_url, _Resumable(), plugin)
    _host_marks(host)
    resumed, left = _dead_runners_run(host, "resume.yes"), _dead_runners_run(host, "resume.no")
    service = SchedulerService(host, schedules=[], heartbeat_interval=0.2, stale_after=1.0)

    service.housekeep()

    history = WorkflowRunner(host).history
    run = history.require_run(resumed)
    assert run.status is RunStatus.COMPLETED, run.error
    attempts = [(a.step_name, a.attempt, a.status.value) for a in run.steps]
    assert attempts == [
        ("extract", 1, "COMPLETED"),  # finished before the crash: not run again
        ("load", 1, "CRASHED"),
        ("load", 2, "COMPLETED"),
    ]
    assert run.outputs == {"load": {"loaded": 7}}  # extract's stored output was reused
    assert _marks(host) == [("load", 2)]
    assert history.require_run(left).status is RunStatus.CRASHED


def _host_marks(host: Host) -> None:
    engine = host.storage.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS remote_marks"))
        connection.execute(sa.text("CREATE TABLE remote_marks (step VARCHAR(50), attempt INT)"))


def test_an_attempt_recorded_by_its_worker_whose_answer_never_came_ends_as_recorded(
    storage_url: str,  # noqa: F811
) -> None:
    host, _ = _host(storage_url, mute={("extract", 1)})
    runner = WorkflowRunner(host, heartbeat_interval=0.1, stale_after=0.5)
    run = runner.run("remote.demo", {"day": "d"})

    assert run.status is RunStatus.COMPLETED, run.error
    assert [(a.step_name, a.attempt, a.status.value) for a in run.steps] == [
        ("extract", 1, "COMPLETED"),  # not run again: the history said it was done
        ("load", 1, "COMPLETED"),
    ]
    assert run.outputs == {"load": {"loaded": 3}}  # its recorded outputs reached `load`


def test_runs_show_names_the_worker_of_each_remote_attempt(storage_url: str) -> None:  # noqa: F811
    from click.testing import CliRunner

    from spine_host.cli.context import CliState
    from spine_host.cli.runs import runs_group

    host, _ = _host(storage_url)
    run = WorkflowRunner(host).run("remote.demo", {"day": "d"})
    result = CliRunner().invoke(
        runs_group, ["show", run.run_id], obj=CliState(config_path=None, host=host)
    )
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("STEP"))
    assert "WORKER" in header.split()
    worker = _attempt_rows(host, run.run_id)[0]["worker"]
    assert ":".join(worker.split(":")[:2]) in result.output
