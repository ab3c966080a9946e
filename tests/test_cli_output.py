"""What ``spine`` prints reads the way a person writes it, and ``--json`` is data (issue 14).

Human output: params, results and quality expectations as ``key=value``, absent values as
``-``, durations to two decimals, every time labelled UTC. Run and execution ids are taken by a
unique prefix of six characters or more. ``--json``: every listing is a list, and no value
carries display markup. Real runs on SQLite and PostgreSQL, through the real commands.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from spine_host import Host, hookimpl
from spine_host.cli.context import CliState
from spine_host.cli.output import format_duration
from spine_host.cli.pipelines import pipelines_group
from spine_host.cli.plugins import plugins_command
from spine_host.cli.quality import quality_group
from spine_host.cli.rejects import rejects_group
from spine_host.cli.runs import runs_group
from spine_host.cli.workflows import workflows_group
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines import Dispatcher, ExecutionContext
from tests.plugins import csv_source_a, csv_source_override, pipeline_otc
from tests.plugins.pipeline_storage import random_friday
from tests.plugins.workflow_fixtures import make_host, storage_url

__all__ = ["storage_url"]

#: A workflow whose run has params, a pipeline step with a result and quality checks, a
#: callable step, defaults and a timeout: every kind of value the human output shows.
WEEKLY = Workflow(
    "out.weekly",
    [
        Step("ingest", "otc.ingest", timeout=300),
        Step("summarize", lambda context, inputs, params: {"weeks": 1}, ["ingest"]),
    ],
    defaults={"tier": "NMS_TIER_2"},
    timeout=3700,
)


class WeeklyPlugin:
    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register(WEEKLY)


@pytest.fixture
def host(storage_url: str) -> Iterator[Host]:
    made = make_host(storage_url, pipeline_otc, WeeklyPlugin())
    yield made
    made.close()


def invoke(host: Host, command: click.Command, *args: str) -> Result:
    return CliRunner().invoke(command, list(args), obj=CliState(host=host))


def run_weekly(host: Host, run_id: str | None = None) -> str:
    run = WorkflowRunner(host).run(
        "out.weekly", {"week_ending": random_friday().isoformat()}, run_id=run_id
    )
    assert run.status.value == "COMPLETED", run.error
    return run.run_id


def assert_readable(result: Result) -> None:
    """Exit 0, and no Python repr of a dict or of None anywhere in the output."""
    assert result.exit_code == 0, result.output
    assert "{'" not in result.output
    assert "None" not in result.output


# -- ids by prefix --------------------------------------------------------------------------------


def test_runs_show_takes_a_six_character_prefix(host: Host) -> None:
    run_id = run_weekly(host)

    shown = invoke(host, runs_group, "show", run_id[:6])

    assert shown.exit_code == 0, shown.output
    assert f"run       {run_id}" in shown.output
    as_json = json.loads(invoke(host, runs_group, "show", run_id[:6], "--json").output)
    assert as_json["run_id"] == run_id


def test_runs_retry_takes_a_prefix_and_links_the_new_run_to_the_whole_id(host: Host) -> None:
    run_id = run_weekly(host)

    retried = invoke(host, runs_group, "retry", run_id[:8], "--json")

    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.output)["parent_run_id"] == run_id


def test_a_prefix_shorter_than_six_characters_is_a_usage_error(host: Host) -> None:
    run_id = run_weekly(host)

    for command in ("show", "resume", "retry"):
        short = invoke(host, runs_group, command, run_id[:5])
        assert short.exit_code == 2, short.output
        assert "at least 6 characters" in short.output


def test_an_ambiguous_prefix_is_a_usage_error_listing_up_to_ten_matches(host: Host) -> None:
    shared = uuid.uuid4().hex[:8]
    ids = sorted(f"{shared}{index:02d}{uuid.uuid4().hex[:22]}" for index in range(12))
    for run_id in ids[:2]:
        run_weekly(host, run_id)

    two = invoke(host, runs_group, "show", shared)
    assert two.exit_code == 2
    assert f"it matches {ids[0]}, {ids[1]}: give more of the id" in two.output

    for run_id in ids[2:]:
        run_weekly(host, run_id)
    many = invoke(host, runs_group, "show", shared)
    assert many.exit_code == 2
    assert f"{', '.join(ids[:10])} and more" in many.output
    assert ids[10] not in many.output


def test_like_wildcards_in_a_prefix_match_only_themselves(host: Host) -> None:
    run_id = run_weekly(host)

    for pattern in (run_id[:3] + "_" + run_id[4:6], run_id[:3] + "%"):
        wild = invoke(host, runs_group, "show", pattern)
        assert wild.exit_code == 2, wild.output
        assert "no workflow run" in wild.output


def test_pipelines_show_needs_six_characters_of_an_execution_id(host: Host) -> None:
    execution_id = uuid.uuid4().hex
    Dispatcher(host).run(
        "otc.flaky",
        {"failures": "0", "marker": execution_id},
        context=ExecutionContext(execution_id=execution_id, host=host),
    )

    assert invoke(host, pipelines_group, "show", execution_id[:6]).exit_code == 0
    short = invoke(host, pipelines_group, "show", execution_id[:5])
    assert short.exit_code == 2
    assert "at least 6 characters" in short.output


# -- human output ---------------------------------------------------------------------------------


def test_run_listing_and_detail_show_values_as_people_write_them(host: Host) -> None:
    run_id = run_weekly(host)

    listed = invoke(host, runs_group, "list")
    assert_readable(listed)
    assert "STARTED (UTC)" in listed.output.splitlines()[0]

    shown = invoke(host, runs_group, "show", run_id)
    assert_readable(shown)
    [params] = [line for line in shown.output.splitlines() if line.startswith("params")]
    assert re.fullmatch(r"params +week_ending=\d{4}-\d{2}-\d{2}", params)
    started = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC"
    assert re.search(rf"started +{started} +finished {started}", shown.output)
    assert "STARTED (UTC)" in shown.output
    # Every duration with two decimals: 0.21s, not 0.206s, 0.0145s or 0.00378s.
    durations = re.findall(r"\s(<?[0-9.]+s)\b", shown.output)
    assert durations
    assert all(re.fullmatch(r"<0\.01s|[0-9]+\.[0-9]{2}s", found) for found in durations)


def test_pipeline_listing_runs_and_detail_show_values_as_people_write_them(host: Host) -> None:
    friday = random_friday().isoformat()
    ran = invoke(host, pipelines_group, "run", "otc.ingest", "-p", f"week_ending={friday}")
    assert_readable(ran)
    assert "result: rows_in=3 rows_out=1 rows_rejected=2 tier=T1" in ran.output
    execution_id = ran.output.split(" execution ")[1].split()[0]

    assert_readable(invoke(host, pipelines_group, "list"))
    runs = invoke(host, pipelines_group, "runs")
    assert_readable(runs)
    assert "STARTED (UTC)" in runs.output.splitlines()[0]
    shown = invoke(host, pipelines_group, "show", execution_id)
    assert_readable(shown)
    assert f"params   bad_lines=2 tier=T1 venues=XNAS week_ending={friday}" in shown.output
    assert re.search(r"started  \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", shown.output)
    assert "WHEN (UTC)" in shown.output


def test_quality_expectations_show_as_key_value_pairs(host: Host) -> None:
    friday = random_friday().isoformat()
    ran = invoke(host, pipelines_group, "run", "otc.ingest", "-p", f"week_ending={friday}")
    execution_id = ran.output.split(" execution ")[1].split()[0]

    listed = invoke(host, quality_group, "list", "--execution", execution_id)

    assert_readable(listed)
    assert "CHECKED (UTC)" in listed.output.splitlines()[0]
    [row_count] = [line for line in listed.output.splitlines() if " row_count " in line]
    assert re.search(r"PASS +1 +at_least=1", row_count)


def test_workflow_detail_shows_durations_and_defaults_not_reprs(host: Host) -> None:
    shown = invoke(host, workflows_group, "show", "out.weekly")

    assert_readable(shown)
    assert "timeout 1h 01m" in shown.output
    assert "defaults tier=NMS_TIER_2" in shown.output
    [ingest] = [line for line in shown.output.splitlines() if line.startswith("ingest")]
    assert "5m 00s" in ingest
    as_json = json.loads(invoke(host, workflows_group, "show", "out.weekly", "--json").output)
    assert as_json["timeout"] == 3700
    assert as_json["steps"][0]["timeout"] == 300


def test_durations_keep_one_precision_per_range() -> None:
    assert [
        format_duration(seconds)
        for seconds in (0.206, 0.0145, 0.00378, 0.001, 0, 12.3, 59.999, 63, 3720, None)
    ] == ["0.21s", "0.01s", "<0.01s", "<0.01s", "0.00s", "12.30s", "1m 00s", "1m 03s",
          "1h 02m", None]  # fmt: skip


# -- JSON -----------------------------------------------------------------------------------------


DOC = Path(__file__).resolve().parents[1] / "docs" / "cli-json.md"


def documented_keys(command: str) -> set[str]:
    """The keys docs/cli-json.md names for ``command``: in its section or the shared objects."""
    text = DOC.read_text(encoding="utf-8")
    sections = {
        section.split("\n", 1)[0]: section for section in re.split(r"^## ", text, flags=re.M)
    }
    assert f"spine {command}" in sections, f"docs/cli-json.md has no section for {command}"
    named = sections[f"spine {command}"] + sections["Shared objects"]
    return set(re.findall(r"`([a-z_]+)`", named))


def test_json_listings_are_lists_and_every_key_is_documented(host: Host) -> None:
    run_id = run_weekly(host)
    [execution] = json.loads(invoke(host, pipelines_group, "runs", "--limit", "1", "--json").output)
    commands: dict[str, tuple[click.Command, list[str], bool]] = {
        "runs list": (runs_group, ["list"], True),
        "runs show": (runs_group, ["show", run_id], False),
        "pipelines list": (pipelines_group, ["list"], True),
        "pipelines runs": (pipelines_group, ["runs"], True),
        "pipelines show": (pipelines_group, ["show", execution["execution_id"]], False),
        "quality list": (quality_group, ["list"], True),
        "rejects list": (rejects_group, ["list"], True),
        "workflows list": (workflows_group, ["list"], True),
        "workflows show": (workflows_group, ["show", "out.weekly"], False),
        "plugins": (plugins_command, [], True),
    }
    for name, (command, args, listing) in commands.items():
        result = invoke(host, command, *args, "--json")
        assert result.exit_code == 0, (name, result.output)
        data = json.loads(result.output)
        assert isinstance(data, list) == listing, name
        item = data[0] if listing else data
        assert set(item) <= documented_keys(name), (name, set(item) - documented_keys(name))


def test_rejects_json_is_a_list_of_rejects(host: Host) -> None:
    friday = random_friday().isoformat()
    ran = invoke(host, pipelines_group, "run", "otc.ingest", "-p", f"week_ending={friday}")
    execution_id = ran.output.split(" execution ")[1].split()[0]

    listed = json.loads(
        invoke(host, rejects_group, "list", "--execution", execution_id, "--json").output
    )

    assert isinstance(listed, list)
    assert sorted(reject["line_number"] for reject in listed) == [2, 3]
    assert {reject["reason_code"] for reject in listed} == {"BAD_VOLUME"}


def test_plugins_json_says_who_overrides_without_markup(tmp_path: Any) -> None:
    host = Host(
        plugins=[csv_source_a, csv_source_override],
        load_entrypoints=False,
        storage_url=f"sqlite:///{tmp_path}/spine.db",
        environ={},
    )
    with host:
        listed = json.loads(invoke(host, plugins_command, "--json").output)
        table = invoke(host, plugins_command).output

    by_name = {plugin["name"]: plugin for plugin in listed}
    loser = by_name["tests.plugins.csv_source_a"]
    assert loser["provides"] == {}
    assert loser["overridden_by"] == {"sources": {"csv": "tests.plugins.csv_source_override"}}
    winner = by_name["tests.plugins.csv_source_override"]
    assert winner["provides"] == {"sources": ["csv"]}
    assert winner["overridden_by"] == {}
    assert "overridden by" not in json.dumps(listed)
    assert "sources: csv (overridden by tests.plugins.csv_source_override)" in table
