"""The workflow runner as a user sees it: order, concurrency, retries, branches, timeouts,
failure policies, params, pipeline steps, hooks, and history complete when run() returns.

Every test runs on SQLite and on PostgreSQL (the ``host`` fixture)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Branch, Step, Workflow
from spine_host.retry import RetryPolicy
from tests.plugins import workflow_pipelines
from tests.plugins.workflow_fixtures import host, make_host, storage_url
from tests.plugins.workflow_observer import RunObserver

__all__ = ["host", "storage_url"]


def sleeper(seconds, result=None):
    def step(context, inputs, params):
        time.sleep(seconds)
        return result

    return step


def constant(value):
    return lambda context, inputs, params: value


def diamond(max_concurrency):
    return Workflow(
        "diamond",
        [
            Step("A", sleeper(0.05, "a")),
            Step("B", sleeper(0.4, "b"), ["A"]),
            Step("C", sleeper(0.4, "c"), ["A"]),
            Step("D", lambda context, inputs, params: sorted(inputs.items()), ["B", "C"]),
        ],
        max_concurrency=max_concurrency,
    )


def spans(run):
    return {a.step_name: (a.started_at, a.finished_at) for a in run.steps}


def test_diamond_runs_a_first_d_last_and_b_c_overlap(host) -> None:
    run = WorkflowRunner(host).run(diamond(max_concurrency=2))
    assert run.status is RunStatus.COMPLETED
    stored = WorkflowHistoryRepository(host.storage).require_run(run.run_id)
    span = spans(stored)
    assert span["A"][1] <= min(span["B"][0], span["C"][0])
    assert span["D"][0] >= max(span["B"][1], span["C"][1])
    assert span["B"][0] < span["C"][1]  # B and C overlap
    assert span["C"][0] < span["B"][1]
    assert stored.outputs == {"D": [["B", "b"], ["C", "c"]]}


def test_max_concurrency_one_runs_b_and_c_one_after_the_other(host) -> None:
    run = WorkflowRunner(host).run(diamond(max_concurrency=1))
    span = spans(run)
    first, second = sorted([span["B"], span["C"]])
    assert first[1] <= second[0]


def test_retryable_failure_is_attempted_three_times_then_the_run_fails(host) -> None:
    calls = []

    def flaky(context, inputs, params):
        calls.append(context.attempt)
        raise ConnectionError("upstream reset")

    policy = RetryPolicy(max_attempts=3, delay=0.01)
    workflow = Workflow(
        "flaky", [Step("fetch", flaky, retry=policy), Step("after", noop, ["fetch"])]
    )
    run = WorkflowRunner(host).run(workflow)
    assert run.status is RunStatus.FAILED
    assert run.error_category == "TRANSIENT"
    stored = WorkflowHistoryRepository(host.storage).require_run(run.run_id)
    fetch = [a for a in stored.steps if a.step_name == "fetch"]
    assert [(a.attempt, a.status) for a in fetch] == [(n, StepStatus.FAILED) for n in (1, 2, 3)]
    assert {a.error_category for a in fetch} == {"TRANSIENT"}
    assert calls == [1, 2, 3]
    assert "after" not in stored.latest_attempts()  # never started


def test_retry_that_succeeds_completes_and_non_retryable_errors_are_not_retried(host) -> None:
    attempts = Counter()

    def second_time_lucky(context, inputs, params):
        attempts["lucky"] += 1
        if attempts["lucky"] < 2:
            raise TimeoutError("slow upstream")
        return "ok"

    def bad_input(context, inputs, params):
        attempts["bad"] += 1
        raise ValueError("week_ending must be a Friday")

    policy = RetryPolicy(max_attempts=3, delay=0.01)
    run = WorkflowRunner(host).run(
        Workflow(
            "mixed",
            [
                Step("lucky", second_time_lucky, retry=policy),
                Step("bad", bad_input, retry=policy, on_failure="continue"),
            ],
        )
    )
    assert attempts == {"lucky": 2, "bad": 1}
    latest = run.latest_attempts()
    assert (latest["lucky"].attempt, latest["lucky"].status) == (2, StepStatus.COMPLETED)
    assert latest["bad"].error_category == "VALIDATION"
    assert run.status is RunStatus.PARTIAL


def noop(context, inputs, params):
    return None


def test_branch_then_runs_only_that_branch_and_else_steps_are_skipped(host) -> None:
    ran = []

    def record(name):
        def step(context, inputs, params):
            ran.append(name)
            return name

        return step

    workflow = Workflow(
        "branching",
        [
            Step("choose", constant({"branch": "then"})),
            Step("then_1", record("then_1"), condition=Branch("choose", "then")),
            Step("then_2", record("then_2"), ["then_1"]),
            Step("else_1", record("else_1"), condition=Branch("choose", "else")),
            Step("else_2", record("else_2"), ["else_1"]),
            Step("join", record("join"), ["then_2", "else_2"]),
        ],
    )
    run = WorkflowRunner(host).run(workflow)
    assert run.status is RunStatus.COMPLETED
    status = {name: a.status for name, a in run.latest_attempts().items()}
    assert status == {
        "choose": StepStatus.COMPLETED,
        "then_1": StepStatus.COMPLETED,
        "then_2": StepStatus.COMPLETED,
        "else_1": StepStatus.SKIPPED,
        "else_2": StepStatus.SKIPPED,
        "join": StepStatus.COMPLETED,
    }
    assert sorted(ran) == ["join", "then_1", "then_2"]
    assert run.steps_skipped == 2


def test_callable_condition_sees_inputs_and_params(host) -> None:
    workflow = Workflow(
        "conditional",
        [
            Step("count", constant({"rows": 0})),
            Step(
                "publish",
                constant("published"),
                ["count"],
                condition=lambda inputs, params: inputs["count"]["rows"] > params["min_rows"],
            ),
        ],
        defaults={"min_rows": 0},
    )
    runner = WorkflowRunner(host)
    assert runner.run(workflow).latest_attempts()["publish"].status is StepStatus.SKIPPED
    second = runner.run(workflow, {"min_rows": -1})
    assert second.latest_attempts()["publish"].outputs == "published"


def test_step_over_its_timeout_is_timed_out_and_its_late_result_is_ignored(host) -> None:
    workflow = Workflow("slow", [Step("slow", sleeper(0.8, "late"), timeout=0.2)])
    started = time.monotonic()
    run = WorkflowRunner(host).run(workflow)
    assert time.monotonic() - started < 0.7  # the runner stopped waiting
    assert run.status is RunStatus.FAILED
    assert run.error_category == "TIMEOUT"
    time.sleep(0.9)  # the abandoned thread has returned by now
    stored = WorkflowHistoryRepository(host.storage).require_run(run.run_id)
    assert [(a.status, a.outputs) for a in stored.steps] == [(StepStatus.TIMED_OUT, None)]
    assert stored.status is RunStatus.FAILED


def test_run_over_the_workflow_timeout_is_timed_out(host) -> None:
    workflow = Workflow(
        "long", [Step("long", sleeper(1.0)), Step("next", noop, ["long"])], timeout=0.3
    )
    run = WorkflowRunner(host).run(workflow)
    assert run.status is RunStatus.TIMED_OUT
    stored = WorkflowHistoryRepository(host.storage).require_run(run.run_id)
    assert stored.status is RunStatus.TIMED_OUT
    assert {a.step_name: a.status for a in stored.steps} == {"long": StepStatus.TIMED_OUT}


def test_continue_skips_dependents_runs_independent_branches_and_ends_partial(host) -> None:
    def broken(context, inputs, params):
        raise RuntimeError("boom")

    workflow = Workflow(
        "partial",
        [
            Step("bad", broken, on_failure="continue"),
            Step("after_bad", noop, ["bad"]),
            Step("after_after", noop, ["after_bad"]),
            Step("good", constant(1)),
            Step("after_good", constant(2), ["good"]),
        ],
    )
    run = WorkflowRunner(host).run(workflow)
    assert run.status is RunStatus.PARTIAL
    status = {name: a.status for name, a in run.latest_attempts().items()}
    assert status["bad"] is StepStatus.FAILED
    assert status["after_bad"] is status["after_after"] is StepStatus.SKIPPED
    assert status["good"] is status["after_good"] is StepStatus.COMPLETED
    assert run.latest_attempts()["after_bad"].error_category == "DEPENDENCY"


def test_stop_starts_nothing_new_after_a_failure(host) -> None:
    def broken(context, inputs, params):
        raise RuntimeError("boom")

    run = WorkflowRunner(host).run(
        Workflow("stop", [Step("bad", broken), Step("after", noop, ["bad"])])
    )
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert "boom" in run.error["message"]
    assert set(run.latest_attempts()) == {"bad"}


def test_each_step_sees_merged_params_and_its_dependencies_outputs(host) -> None:
    seen = {}

    def capture(name):
        def step(context, inputs, params):
            seen[name] = (dict(inputs), dict(params))
            return {"from": name}

        return step

    workflow = Workflow(
        "params",
        [
            Step("a", capture("a"), params={"level": "step"}),
            Step("b", capture("b")),
            Step("c", capture("c"), ["a", "b"]),
        ],
        defaults={"level": "default", "region": "us"},
    )
    WorkflowRunner(host).run(workflow, {"level": "run"})
    assert seen["a"] == ({}, {"level": "step", "region": "us"})
    assert seen["b"] == ({}, {"level": "run", "region": "us"})
    assert seen["c"] == ({"a": {"from": "a"}, "b": {"from": "b"}}, {"level": "run", "region": "us"})


def test_pipeline_steps_run_through_the_dispatcher_with_lineage(storage_url) -> None:
    host = make_host(storage_url, workflow_pipelines)
    try:
        workflow = Workflow(
            "pipes",
            [
                Step("extract", "wf.extract", params={"rows": 10}),
                Step("load", "wf.load", ["extract"]),
            ],
            defaults={"region": "eu"},
        )
        run = WorkflowRunner(host).run(workflow)
        assert run.status is RunStatus.COMPLETED, run.error
        extract = run.latest_attempts()["extract"]
        assert extract.outputs["region"] == "eu"
        assert extract.outputs["parent"] == run.run_id  # the run is the executions' parent
        assert (extract.rows_in, extract.rows_out) == (10, 9)
        assert (run.rows_in, run.rows_out) == (10, 16)

        failing = Workflow("pipes_fail", [Step("load", "wf.load", params={"fail": True})])
        failed = WorkflowRunner(host).run(failing)
        assert failed.status is RunStatus.FAILED
        assert failed.error_category == "AUTH"

        with pytest.raises(SpineError, match=r"no step takes param\(s\) regoin"):
            WorkflowRunner(host).run(workflow, {"regoin": "eu"})
        # A value a step's pipeline refuses fails the call before any run is recorded.
        runs_before = len(WorkflowHistoryRepository(host.storage).list_runs(limit=1000))
        bad = Workflow("pipes_bad", [Step("extract", "wf.extract", params={"rows": "ten"})])
        with pytest.raises(SpineError, match=r"step 'extract'.*rows") as refused:
            WorkflowRunner(host).run(bad)
        assert refused.value.category is ErrorCategory.VALIDATION
        assert len(WorkflowHistoryRepository(host.storage).list_runs(limit=1000)) == runs_before
        missing = Workflow("pipes_missing", [Step("x", "wf.nowhere")])
        with pytest.raises(SpineError, match=r"x -> wf.nowhere") as caught:
            WorkflowRunner(host).run(missing)
        assert caught.value.category is ErrorCategory.NOT_FOUND
    finally:
        host.close()


def test_hooks_fire_in_order_and_history_is_complete_when_run_returns(storage_url) -> None:
    observer = RunObserver()
    host = make_host(storage_url, observer)
    try:
        run = WorkflowRunner(host).run(diamond(max_concurrency=2))
        kinds = [event for event, _, _ in observer.events]
        assert kinds[0] == "started"
        assert kinds[-1] == "finished"
        assert observer.of("finished") == [(run.run_id, RunStatus.COMPLETED)]
        assert sorted(name for name, _ in observer.of("step")) == ["A", "B", "C", "D"]
        stored = WorkflowHistoryRepository(host.storage).require_run(run.run_id)
        assert stored.status is RunStatus.COMPLETED
        assert stored.steps_completed == 4
        assert [a.to_dict() for a in stored.steps] == [
            a.to_dict() for a in sorted(run.steps, key=lambda a: (a.started_at, a.step_name))
        ]
    finally:
        host.close()


def test_a_pipeline_step_retries_as_its_pipeline_says_unless_the_step_says_otherwise(
    storage_url,
) -> None:
    host = make_host(storage_url, workflow_pipelines)
    try:
        inherits = Workflow("inherits", [Step("f", "wf.flaky", params={"token": f"i-{id(host)}"})])
        run = WorkflowRunner(host).run(inherits)
        assert run.status is RunStatus.COMPLETED, run.error
        # The runner retries (one history row per attempt), the dispatcher does not retry too.
        assert [(a.attempt, a.status) for a in run.steps] == [
            (1, StepStatus.FAILED),
            (2, StepStatus.FAILED),
            (3, StepStatus.COMPLETED),
        ]
        assert workflow_pipelines.FLAKY_CALLS[f"i-{id(host)}"] == 3

        once = RetryPolicy(max_attempts=1)
        token = f"o-{id(host)}"
        overrides = Workflow(
            "overrides", [Step("f", "wf.flaky", params={"token": token}, retry=once)]
        )
        run = WorkflowRunner(host).run(overrides)
        assert run.status is RunStatus.FAILED
        assert [(a.attempt, a.status) for a in run.steps] == [(1, StepStatus.FAILED)]
        assert workflow_pipelines.FLAKY_CALLS[token] == 1
    finally:
        host.close()


def test_a_misspelled_run_param_is_named_not_the_param_it_failed_to_provide(storage_url) -> None:
    host = make_host(storage_url, workflow_pipelines)
    try:
        workflow = Workflow("needs_rows", [Step("extract", "wf.extract")])
        with pytest.raises(SpineError, match=r"no step takes param\(s\) rowz") as refused:
            WorkflowRunner(host).run(workflow, {"rowz": "5"})
        assert refused.value.category is ErrorCategory.VALIDATION
        assert "required" not in refused.value.message  # not "rows: required but missing"
    finally:
        host.close()
