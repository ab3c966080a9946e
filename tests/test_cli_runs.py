"""``spine runs list|show|resume|retry|reap`` on SQLite and PostgreSQL history."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from spine_host import hookimpl
from spine_host.cli.context import CliState
from spine_host.cli.runs import parse_since, runs_group
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.retry import RetryPolicy
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from tests.plugins.workflow_fixtures import make_host, storage_url

__all__ = ["storage_url"]


class Flaky:
    """A plugin with one workflow whose second step fails until ``fixed``."""

    def __init__(self) -> None:
        self.fixed = False
        self.workflow = Workflow(
            "cli.flaky",
            [
                Step("prepare", lambda c, i, p: {"ready": True}),
                Step("fetch", self.fetch, ["prepare"], retry=RetryPolicy(max_attempts=3, delay=0)),
            ],
        )

    def fetch(self, context, inputs, params):
        if not self.fixed:
            raise ConnectionError("feed unreachable")
        return {"rows_out": 3}

    @hookimpl
    def spine_register_workflows(self, register):
        register(self.workflow)
        register(
            Workflow(
                "cli.three",
                [
                    Step("one", self.fetch),
                    Step("two", lambda c, i, p: 2, ["one"]),
                    Step("three", lambda c, i, p: 3, ["two"]),
                ],
            )
        )


@pytest.fixture
def flaky():
    return Flaky()


@pytest.fixture
def host(storage_url, flaky):
    made = make_host(storage_url, flaky)
    yield made
    made.close()


def invoke(host, *args: str):
    state = CliState(config_path=None, host=host)
    return CliRunner().invoke(runs_group, list(args), obj=state, catch_exceptions=False)


def age(host, run_id, delta):
    host.storage.execute(
        sa.update(schema.workflow_runs)
        .where(schema.workflow_runs.c.run_id == run_id)
        .values(started_at=utc_now() - delta)
    )


def test_list_failed_since_returns_exactly_the_failed_runs_of_the_last_hour(host, flaky) -> None:
    runner = WorkflowRunner(host)
    recent = [runner.run("cli.flaky").run_id for _ in range(2)]
    old = runner.run("cli.flaky").run_id
    age(host, old, timedelta(hours=2))
    flaky.fixed = True
    runner.run("cli.flaky")  # COMPLETED

    result = invoke(host, "list", "--status", "FAILED", "--since", "1h", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert sorted(run["run_id"] for run in listed) == sorted(recent)
    assert {run["status"] for run in listed} == {"FAILED"}
    table = invoke(host, "list", "--workflow", "cli.flaky").output
    assert table.splitlines()[0].split() == [
        "RUN",
        "WORKFLOW",
        "STATUS",
        "STARTED",
        "(UTC)",
        "DURATION",
        "STEPS",
        "ERROR",
    ]
    assert len(table.splitlines()) == 2 + 4


def test_show_lists_every_attempt_with_its_error_category(host) -> None:
    run = WorkflowRunner(host).run("cli.flaky")
    result = invoke(host, "show", run.run_id)
    assert result.exit_code == 0
    assert "status    FAILED" in result.output
    fetch = [line for line in result.output.splitlines() if line.startswith("fetch")]
    assert len(fetch) == 3
    assert all(
        "FAILED" in line and "[TRANSIENT] ConnectionError: feed unreachable" in line
        for line in fetch
    )
    shown = json.loads(invoke(host, "show", run.run_id, "--json").output)
    assert [(s["step_name"], s["attempt"], s["error_category"]) for s in shown["steps"]] == [
        ("prepare", 1, None),
        ("fetch", 1, "TRANSIENT"),
        ("fetch", 2, "TRANSIENT"),
        ("fetch", 3, "TRANSIENT"),
    ]
    missing = invoke(host, "show", "no-such-run")
    assert missing.exit_code == 2  # a usage error: the id named no run
    assert "no workflow run 'no-such-run'" in missing.output


def test_resume_finishes_the_run_in_place_and_retry_makes_a_linked_one(host, flaky) -> None:
    failed = WorkflowRunner(host).run("cli.flaky")
    still = invoke(host, "resume", failed.run_id)
    assert still.exit_code == 1  # still broken: the run fails again
    flaky.fixed = True
    resumed = invoke(host, "resume", failed.run_id, "--json")
    assert resumed.exit_code == 0, resumed.output
    run = json.loads(resumed.output)
    assert run["run_id"] == failed.run_id
    assert run["status"] == "COMPLETED"
    assert [s["step_name"] for s in run["steps"]].count("prepare") == 1

    retried = invoke(host, "retry", failed.run_id, "--json")
    assert retried.exit_code == 0
    assert json.loads(retried.output)["parent_run_id"] == failed.run_id


def test_reap_marks_silent_runs_crashed(host) -> None:
    host.storage.execute(
        sa.insert(schema.workflow_runs).values(
            run_id="silent-run",
            workflow="cli.flaky",
            status="RUNNING",
            heartbeat_at=utc_now() - timedelta(minutes=5),
            started_at=utc_now(),
        )
    )
    spared = invoke(host, "reap", "--stale-after", "10m")
    assert "0 run(s) and 0 execution(s) marked CRASHED" in spared.output
    result = invoke(host, "reap", "--stale-after", "60s")
    assert result.exit_code == 0
    assert "CRASHED run silent-run cli.flaky" in result.output
    listed = json.loads(invoke(host, "list", "--status", "crashed", "--json").output)
    assert [run["run_id"] for run in listed] == ["silent-run"]


def test_bad_durations_are_usage_errors(host) -> None:
    assert invoke(host, "list", "--since", "yesterday").exit_code == 2
    assert invoke(host, "reap", "--stale-after", "soon").exit_code == 2
    assert parse_since("2025-12-26T06:00").isoformat() == "2025-12-26T06:00:00+00:00"


def test_list_refuses_an_unknown_status_naming_the_allowed_ones(host) -> None:
    result = invoke(host, "list", "--status", "bogus")
    assert result.exit_code == 2
    assert "'bogus' is not one of" in result.output
    assert "'completed'" in result.output.lower()
    assert "'crashed'" in result.output.lower()
    assert invoke(host, "list", "--status", "Failed").exit_code == 0  # any case


def test_resume_of_a_run_that_cannot_be_resumed_is_a_usage_error(host) -> None:
    # A COMPLETED run of a workflow no plugin registers any more: its status is the problem.
    done = WorkflowRunner(host).run(Workflow("gone", [Step("x", lambda c, i, p: 1)]))
    result = invoke(host, "resume", done.run_id)
    assert result.exit_code == 2
    assert f"run {done.run_id} is COMPLETED; only CANCELLED, CRASHED, FAILED" in result.output
    host.storage.execute(
        sa.insert(schema.workflow_runs).values(
            run_id="live-run",
            workflow="cli.flaky",
            status="RUNNING",
            heartbeat_at=utc_now(),
            started_at=utc_now(),
        )
    )
    live = invoke(host, "resume", "live-run")
    assert live.exit_code == 2
    assert "run live-run is RUNNING" in live.output


def test_reap_refuses_a_limit_shorter_than_two_heartbeats(host) -> None:
    result = invoke(host, "reap", "--stale-after", "5s")
    assert result.exit_code == 2
    assert "shorter than two heartbeat intervals (2 x 10s)" in result.output


def test_show_lists_the_steps_a_run_failed_before_starting(host) -> None:
    failed = WorkflowRunner(host).run("cli.three")
    assert failed.status.value == "FAILED"
    shown = invoke(host, "show", failed.run_id)
    assert shown.exit_code == 0
    lines = {line.split()[0]: line.split() for line in shown.output.splitlines() if line.strip()}
    assert lines["one"][2] == "FAILED"
    assert lines["two"][1:3] == ["-", "NOT_STARTED"]
    assert lines["three"][1:3] == ["-", "NOT_STARTED"]
    assert "0 completed, 0 skipped, 1 failed, of 3" in shown.output
    data = json.loads(invoke(host, "show", failed.run_id, "--json").output)
    assert data["steps_not_started"] == ["two", "three"]
    assert [step["step_name"] for step in data["steps"]] == ["one"]


def test_listing_filters_say_what_matched_nothing(host) -> None:  # type: ignore[no-untyped-def]
    assert invoke(host, "list", "--limit", "0").exit_code == 2
    assert invoke(host, "list", "--limit", "-1").exit_code == 2
    unknown = invoke(host, "list", "--workflow", "nope")
    assert unknown.exit_code == 2
    assert "unknown workflow 'nope': not registered and no run of it recorded" in unknown.output
    # A workflow no longer registered (its plugin removed) still lists the runs it left.
    WorkflowRunner(host).run(Workflow("retired", [Step("x", lambda c, i, p: 1)]))
    retired = invoke(host, "list", "--workflow", "retired")
    assert retired.exit_code == 0, retired.output
    assert "retired" in retired.output
    assert "COMPLETED" in retired.output
    none_failed = invoke(host, "list", "--workflow", "retired", "--status", "failed")
    assert none_failed.exit_code == 0
    assert "no runs match workflow retired, status FAILED ('retired' is not a registered" in (
        none_failed.output
    )
    long_id = "x" * 100_000
    missing = invoke(host, "show", long_id)
    assert missing.exit_code == 2
    assert "(100000 characters)" in missing.output
    assert len(missing.output) < 1000


@pytest.mark.parametrize("command", ["show", "resume", "retry"])
def test_an_unknown_run_id_is_a_usage_error_before_anything_runs(host, command: str) -> None:  # type: ignore[no-untyped-def]
    result = invoke(host, command, "no-such-run")
    assert result.exit_code == 2
    assert "no workflow run 'no-such-run'" in result.output
