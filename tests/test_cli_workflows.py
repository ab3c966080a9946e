"""``spine workflows list|show|run`` as a user runs them (output and exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from spine_host import hookimpl
from spine_host.cli.context import CliState
from spine_host.cli.workflows import workflows_group
from spine_host.orchestration.workflow import Branch, Step, Workflow
from spine_host.retry import RetryPolicy
from tests.plugins.workflow_fixtures import make_host


def echo(context, inputs, params):
    return dict(params)


def broken(context, inputs, params):
    raise ConnectionError("feed unreachable")


class Workflows:
    """A plugin providing two workflows."""

    good = Workflow(
        "cli.good",
        [
            Step("first", echo),
            Step("second", echo, ["first"], condition=Branch("first", "x"), timeout=5),
        ],
        description="always works",
        max_concurrency=2,
    )
    bad = Workflow(
        "cli.bad", [Step("fetch", broken, retry=RetryPolicy(max_attempts=2, delay=0.01))]
    )

    @hookimpl
    def spine_register_workflows(self, register):
        register(self.good)
        register(self.bad)


@pytest.fixture
def state(tmp_path: Path):
    host = make_host(f"sqlite:///{tmp_path}/cli.db", Workflows())
    yield CliState(config_path=None, host=host)
    host.close()


def invoke(state, *args: str):
    return CliRunner().invoke(workflows_group, list(args), obj=state, catch_exceptions=False)


def test_list_shows_registered_workflows(state) -> None:
    result = invoke(state, "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "STEPS", "CONCURRENCY", "TIMEOUT", "DESCRIPTION"]
    assert any(line.startswith("cli.good") and "always works" in line for line in lines)
    listed = json.loads(invoke(state, "list", "--json").output)
    assert {entry["name"] for entry in listed} == {"cli.good", "cli.bad"}


def test_show_lists_steps_in_order_with_what_they_need(state) -> None:
    result = invoke(state, "show", "cli.good")
    assert result.exit_code == 0
    assert "cli.good: always works" in result.output
    second = next(line for line in result.output.splitlines() if line.startswith("second"))
    assert "first == 'x'" in second
    assert second.split()[-1] == "stop"
    shown = json.loads(invoke(state, "show", "cli.good", "--json").output)
    assert [step["name"] for step in shown["steps"]] == ["first", "second"]


def test_show_unknown_workflow_is_a_usage_error_listing_known_ones(state) -> None:
    result = invoke(state, "show", "cli.nope")
    assert result.exit_code == 2
    assert "unknown workflow 'cli.nope'" in result.output
    assert "cli.good" in result.output


def test_run_prints_the_run_and_exits_0_when_completed(state) -> None:
    result = invoke(state, "run", "cli.good", "-p", "week=2025-12-26", "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["status"] == "COMPLETED"
    assert run["params"] == {"week": "2025-12-26"}
    assert run["steps"][0]["outputs"] == {"week": "2025-12-26"}


def test_run_exits_1_when_the_run_fails_showing_each_attempt(state) -> None:
    result = invoke(state, "run", "cli.bad")
    assert result.exit_code == 1
    assert ": FAILED" in result.output
    assert "error [TRANSIENT]: ConnectionError: feed unreachable" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("fetch")]
    attempts = [line.split() for line in lines]
    assert [(row[1], row[2]) for row in attempts] == [("1", "FAILED"), ("2", "FAILED")]
    assert all("[TRANSIENT] ConnectionError: feed unreachable" in line for line in lines)


def test_param_without_equals_is_a_usage_error(state) -> None:
    result = invoke(state, "run", "cli.good", "-p", "week")
    assert result.exit_code == 2
    assert "-p 'week': expected KEY=VALUE" in result.output


def test_a_param_given_twice_is_a_usage_error_as_in_pipelines_run(state) -> None:
    result = invoke(state, "run", "cli.good", "-p", "week=2025-12-19", "-p", "week=2025-12-26")
    assert result.exit_code == 2
    assert "-p week is given twice" in result.output
    assert state.host().storage.query("SELECT run_id FROM workflow_runs") == []  # nothing ran


def test_run_on_an_unknown_executor_is_a_usage_error_naming_the_known_ones(state) -> None:
    result = invoke(state, "run", "cli.good", "--executor", "nope")
    assert result.exit_code == 2
    assert "unknown executor 'nope'; registered: local" in result.output


def test_run_with_an_inline_callable_on_a_remote_executor_exits_2_with_the_reason(
    tmp_path: Path,
) -> None:
    from spine_host.testing.loopback import LoopbackExecutor, loopback_plugin

    class Inline:
        @hookimpl
        def spine_register_workflows(self, register):
            register(Workflow("cli.inline", [Step("shout", lambda context, inputs, params: 1)]))

    host = make_host(
        f"sqlite:///{tmp_path}/cli.db", Inline(), loopback_plugin(lambda h: LoopbackExecutor(h))
    )
    try:
        result = invoke(
            CliState(config_path=None, host=host), "run", "cli.inline", "--executor", "loopback"
        )
    finally:
        host.close()
    assert result.exit_code == 2
    assert "step 'shout' runs an inline callable" in result.output
    assert "register the workflow in a plugin" in result.output
