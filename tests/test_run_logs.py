"""``spine runs logs``: what each attempt of a step logged, kept bounded and redacted.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from spine_host.cli.context import CliState
from spine_host.cli.run_control import runs_group
from spine_host.config import parse_config
from spine_host.host import Host
from spine_host.orchestration.records import RunStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.retry import RetryPolicy
from spine_host.storage import schema
from tests.plugins.workflow_fixtures import make_host, storage_plugins, storage_url

__all__ = ["storage_url"]

log = logging.getLogger("tests.pipelines")
SECRET = "tok-5ecret-9"


@pytest.fixture
def host(storage_url: str) -> Iterator[Host]:
    """A host whose configuration holds a secret from the environment (``$VENDOR_TOKEN``)."""
    make_host(storage_url).close()  # tables created, history empty
    config = parse_config(
        {
            "storage": {"url": storage_url},
            "sources": {"vendor": {"type": "file", "path": "feeds/${VENDOR_TOKEN}/*.csv"}},
        },
        environ={"VENDOR_TOKEN": SECRET},
    )
    made = Host(
        config=config, plugins=storage_plugins(storage_url), load_entrypoints=False, environ={}
    )
    yield made
    made.close()


def invoke(host: Host, *args: str):  # type: ignore[no-untyped-def]
    state = CliState(config_path=None, host=host)
    return CliRunner().invoke(runs_group, list(args), obj=state, catch_exceptions=False)


def run(host: Host, name: str, *steps: Step, **options: object):  # type: ignore[no-untyped-def]
    return WorkflowRunner(host).run(Workflow(name, list(steps), **options))  # type: ignore[arg-type]


def test_logs_shows_what_each_step_logged_with_secrets_masked(host: Host) -> None:
    def fetch(context, inputs, params):
        log.info("loaded %d rows from feeds/%s/weekly.csv", 42, SECRET)
        log.debug("below INFO: not kept")
        return 42

    def load(context, inputs, params):
        log.warning("3 rows rejected")
        return 1

    done = run(host, "logs.otc", Step("fetch", fetch), Step("load", load, ["fetch"]))
    other = run(host, "logs.other", Step("fetch", lambda c, i, p: log.info("another run")))

    result = invoke(host, "logs", done.run_id)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        "  fetch#1  INFO  tests.pipelines: loaded 42 rows from feeds/***/weekly.csv"
    )
    assert lines[0][:23].endswith(" UTC")  # 2025-12-26 06:00:01 UTC
    assert lines[1].endswith("  load#1  WARNING  tests.pipelines: 3 rows rejected")
    assert "another run" not in result.output
    assert "below INFO" not in result.output
    # Never stored, not even in the table.
    stored = host.storage.query(sa.select(schema.workflow_step_logs.c.message))
    assert SECRET not in json.dumps(stored)

    only_load = invoke(host, "logs", done.run_id, "load")
    assert only_load.output.splitlines() == [lines[1]]
    assert "another run" in invoke(host, "logs", other.run_id).output


def test_logs_json_names_the_step_attempt_and_order(host: Host) -> None:
    calls = []

    def flaky(context, inputs, params):
        calls.append(1)
        log.info("try %d", len(calls))
        if len(calls) < 2:
            raise ConnectionError("feed unreachable")
        return 1

    done = run(host, "logs.retry", Step("fetch", flaky, retry=RetryPolicy(max_attempts=2, delay=0)))

    result = invoke(host, "logs", done.run_id, "--json")

    records = json.loads(result.output)
    assert [(r["step_name"], r["attempt"], r["seq"], r["message"]) for r in records] == [
        ("fetch", 1, 1, "try 1"),
        ("fetch", 2, 1, "try 2"),
    ]
    assert records[0]["level"] == "INFO"
    assert records[0]["logger"] == "tests.pipelines"
    assert records[0]["logged_at"].endswith("+00:00")


def test_records_of_other_threads_and_parallel_steps_are_not_mixed_in(host: Host) -> None:
    both_running = threading.Barrier(2, timeout=10)

    def step(name):
        def action(context, inputs, params):
            both_running.wait()
            for number in range(50):
                log.info("%s line %d", name, number)
            # A thread the step starts has a context of its own: its records are not kept.
            helper = threading.Thread(target=lambda: log.info("%s helper thread", name))
            helper.start()
            helper.join()
            return 1

        return action

    done = run(host, "logs.parallel", Step("a", step("a")), Step("b", step("b")), max_concurrency=2)
    log.info("the test's own thread")

    records = json.loads(invoke(host, "logs", done.run_id, "--json").output)

    for name in ("a", "b"):
        mine = [r for r in records if r["step_name"] == name]
        assert [r["message"] for r in mine] == [f"{name} line {n}" for n in range(50)]
        assert [r["seq"] for r in mine] == list(range(1, 51))
    assert len(records) == 100


def test_an_attempt_keeps_at_most_1000_records_of_at_most_4000_characters(host: Host) -> None:
    def chatty(context, inputs, params):
        log.info("x" * 10_000 + SECRET)
        for number in range(1, 1005):
            log.info("line %d", number)
        return 1

    done = run(host, "logs.chatty", Step("chatty", chatty))

    records = json.loads(invoke(host, "logs", done.run_id, "--json").output)
    assert len(records) == 1001
    assert len(records[0]["message"]) == 4000
    assert records[0]["message"].endswith(" [cut]")
    assert records[999]["message"] == "line 999"
    assert records[1000]["level"] == "WARNING"
    assert records[1000]["message"] == (
        "5 more log record(s) of this attempt were not kept (at most 1000 per attempt)"
    )


def test_a_step_logging_at_info_is_kept_while_the_terminal_still_shows_warnings_only(
    host: Host,
) -> None:
    """The command line leaves the root logger at WARNING; what it prints stays as it was."""
    seen: list[str] = []

    class Terminal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    root = logging.getLogger()
    terminal = Terminal()
    saved = root.level
    root.addHandler(terminal)
    root.setLevel(logging.WARNING)
    # In a full suite, handlers left on the root logger by in-process CLI runs carry spine's
    # RedactingFilter: the unformattable record must pass it without failing the step.
    own = logging.getLogger("spine_test_levels.step")
    try:

        def step(context, inputs, params):
            own.info("info line")
            own.warning("warning line")
            own.info("%d broken", "not a number")  # a record that cannot be formatted
            return 1

        done = run(host, "logs.levels", Step("step", step))
        assert root.level == logging.WARNING  # put back once the run ended
    finally:
        root.removeHandler(terminal)
        root.setLevel(saved)

    assert done.status is RunStatus.COMPLETED, (
        done.error,
        done.steps,
    )  # a bad record never fails it
    assert "info line" not in seen
    assert "warning line" in seen
    messages = [
        r["message"] for r in json.loads(invoke(host, "logs", done.run_id, "--json").output)
    ]
    assert messages == [
        "info line",
        "warning line",
        "%d broken (its arguments could not be formatted)",
    ]


def test_follow_prints_lines_as_they_come_until_the_run_ends(host: Host) -> None:
    first_logged = threading.Event()
    release = threading.Event()

    def slow(context, inputs, params):
        log.info("before the wait")
        first_logged.set()
        release.wait(10)
        log.info("after the wait")
        return 1

    runner = WorkflowRunner(host)
    thread = threading.Thread(target=lambda: runner.run(Workflow("logs.follow", [Step("s", slow)])))
    thread.start()
    try:
        assert first_logged.wait(10)
        run_id = runner.history.list_runs(workflow="logs.follow")[0].run_id
        threading.Timer(1.5, release.set).start()

        result = invoke(host, "logs", run_id[:8], "--follow")

        assert result.exit_code == 0, result.output
        assert [line.split("  ", 3)[-1] for line in result.output.splitlines()] == [
            "tests.pipelines: before the wait",
            "tests.pipelines: after the wait",
        ]
        assert runner.history.require_run(run_id).status is RunStatus.COMPLETED
    finally:
        release.set()
        thread.join(10)


def test_an_unknown_step_or_run_is_a_usage_error(host: Host) -> None:
    done = run(host, "logs.quiet", Step("quiet", lambda c, i, p: 1))
    quiet = invoke(host, "logs", done.run_id)
    assert quiet.exit_code == 0
    assert "no log records for run" in quiet.output
    unknown_step = invoke(host, "logs", done.run_id, "loud")
    assert unknown_step.exit_code == 2
    assert "has no step 'loud'; its steps: quiet" in unknown_step.output
    assert invoke(host, "logs", "no-such-run-id").exit_code == 2
