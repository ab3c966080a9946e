"""``spine pipelines``, ``spine quality`` and ``spine rejects`` against a host with a plugin."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from spine_host import Host
from spine_host.cli import cli
from spine_host.cli.context import CliState
from spine_host.cli.pipelines import pipelines_group
from spine_host.cli.quality import quality_group
from spine_host.cli.rejects import rejects_group
from spine_host.pipelines import Dispatcher, ExecutionContext, ExecutionRepository
from spine_host.pipelines.execution import ExecutionStatus
from spine_host.storage import schema
from spine_host.storage.types import utc_now
from tests.plugins import pipeline_otc
from tests.plugins.pipeline_storage import open_host, random_friday, storage_url


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(storage_url(request.param, tmp_path, postgres), pipeline_otc)
    yield host
    host.close()


def invoke(host: Host, group: click.Group, *args: str) -> Result:
    # The host is handed in the way CliState would build it, with the test plugin registered.
    return CliRunner().invoke(group, list(args), obj=CliState(host=host))


def test_plugin_pipeline_is_listed(host: Host) -> None:
    listed = invoke(host, pipelines_group, "list")
    assert listed.exit_code == 0, listed.output
    assert "otc.ingest" in listed.output
    assert "tests.plugins.pipeline_otc" in listed.output
    assert "week_ending: a date as YYYY-MM-DD" in listed.output

    as_json = json.loads(invoke(host, pipelines_group, "list", "--json").output)
    ingest = next(entry for entry in as_json if entry["name"] == "otc.ingest")
    assert ingest["stage"] == "INGESTED"
    assert ingest["provider"] == "tests.plugins.pipeline_otc"


def test_run_from_the_cli_then_query_execution_events_quality_and_rejects(host: Host) -> None:
    friday = random_friday().isoformat()
    ran = invoke(
        host, pipelines_group, "run", "otc.ingest", "-p", f"week_ending={friday}",
        "-p", "tier=NMS_TIER_2", "-p", "venues=XNAS,XNYS", "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    execution = json.loads(ran.output)
    execution_id = execution["execution_id"]
    assert execution["status"] == "COMPLETED"
    assert execution["params"]["tier"] == "T2"
    assert execution["rows_rejected"] == 2

    stored = ExecutionRepository(host.storage).get(execution_id)
    assert stored is not None
    assert stored.status == "COMPLETED"
    shown = json.loads(invoke(host, pipelines_group, "show", execution_id, "--json").output)
    assert [e["event_type"] for e in shown["events"]] == ["created", "started", "completed"]

    quality = invoke(host, quality_group, "list", "--execution", execution_id, "--json")
    assert quality.exit_code == 0, quality.output
    assert sorted((c["check_name"], c["status"]) for c in json.loads(quality.output)) == [
        ("rejects", "WARN"),
        ("row_count", "PASS"),
    ]
    rejects = invoke(
        host, rejects_group, "list", "--execution", execution_id, "--reason", "BAD_VOLUME"
    )
    assert rejects.exit_code == 0, rejects.output
    assert f"otc/{friday}.psv" in rejects.output
    assert "2 of 2 reject(s) shown" in rejects.output
    unknown = invoke(host, rejects_group, "list", "--execution", execution_id, "--reason", "OTHER")
    assert unknown.exit_code == 2
    # The session's PostgreSQL database may hold other tests' rejects too: codes are listed.
    assert "no reject has reason code 'OTHER'; recorded codes: " in unknown.output
    assert "BAD_VOLUME" in unknown.output.split("recorded codes: ", 1)[1]
    none = invoke(host, rejects_group, "list", "--execution", "other-run", "--reason", "BAD_VOLUME")
    assert none.exit_code == 0
    assert "no rejects with execution 'other-run' and reason code 'BAD_VOLUME'" in none.output


def test_second_run_is_skipped_and_force_reruns(host: Host) -> None:
    week = f"week_ending={random_friday()}"
    assert invoke(host, pipelines_group, "run", "otc.ingest", "-p", week).exit_code == 0
    skipped = invoke(host, pipelines_group, "run", "otc.ingest", "-p", week)
    assert skipped.exit_code == 0
    assert skipped.output.startswith("SKIPPED otc.ingest")
    forced = invoke(host, pipelines_group, "run", "otc.ingest", "-p", week, "--force")
    assert forced.output.startswith("COMPLETED otc.ingest")


def test_failed_run_exits_1_with_its_category(host: Host) -> None:
    failed = invoke(host, pipelines_group, "run", "otc.gated")
    assert failed.exit_code == 1
    assert "FAILED otc.gated" in failed.output
    assert "error [QUALITY]: 1 of 3 quality check(s) failed" in failed.output


def test_bad_parameters_exit_2_naming_parameter_and_value(host: Host) -> None:
    saturday = invoke(host, pipelines_group, "run", "otc.ingest", "-p", "week_ending=2025-12-27")
    assert saturday.exit_code == 2
    assert "week_ending = '2025-12-27': must be a Friday" in saturday.output

    unknown = invoke(
        host, pipelines_group, "run", "otc.ingest", "-p", "week_ending=2025-12-26",
        "-p", "unknown=1",
    )  # fmt: skip
    assert unknown.exit_code == 2
    assert "unknown parameter 'unknown'; known parameters: week_ending, tier" in unknown.output

    malformed = invoke(host, pipelines_group, "run", "otc.ingest", "-p", "week_ending")
    assert malformed.exit_code == 2
    assert "expected KEY=VALUE" in malformed.output


def test_unknown_pipeline_exits_2_listing_the_registered_ones(host: Host) -> None:
    result = invoke(host, pipelines_group, "run", "otc.nope")
    assert result.exit_code == 2
    assert "unknown pipeline 'otc.nope'; registered: otc.flaky" in result.output


def test_idempotency_key_from_the_cli_runs_once(host: Host) -> None:
    key = f"cli-{random_friday()}"
    args = ["run", "otc.slow", "-p", f"marker={key}", "-p", "seconds=0"]
    first = json.loads(
        invoke(host, pipelines_group, *args, "--idempotency-key", key, "--json").output
    )
    again = json.loads(
        invoke(host, pipelines_group, *args, "--idempotency-key", key, "--json").output
    )
    assert again["execution_id"] == first["execution_id"]
    assert pipeline_otc.CALLS[("otc.slow", key)] == 1


def test_idempotency_key_reused_for_another_pipeline_exits_2(host: Host) -> None:
    key = f"k1-{random_friday()}"
    friday = random_friday().isoformat()
    ingest = invoke(
        host, pipelines_group, "run", "otc.ingest", "-p", f"week_ending={friday}",
        "--idempotency-key", key, "--json",
    )  # fmt: skip
    assert ingest.exit_code == 0, ingest.output
    earlier = json.loads(ingest.output)["execution_id"]

    reused = invoke(
        host, pipelines_group, "run", "otc.slow", "-p", f"marker={key}",
        "--idempotency-key", key, "--json",
    )  # fmt: skip

    assert reused.exit_code == 2, reused.output
    assert f"idempotency key {key!r} was already used by execution {earlier}" in reused.output
    assert "pipeline 'otc.ingest'" in reused.output
    assert pipeline_otc.CALLS[("otc.slow", key)] == 0


def test_missing_tables_say_to_run_db_upgrade(tmp_path: Any) -> None:
    with open_host(f"sqlite:///{tmp_path}/empty.db", pipeline_otc, create_tables=False) as host:
        for group, args in [
            (pipelines_group, ["run", "otc.gated"]),
            (pipelines_group, ["runs"]),
            (quality_group, ["list"]),
            (rejects_group, ["list"]),
        ]:
            result = invoke(host, group, *args)
            assert result.exit_code == 1
            assert "run `spine db upgrade`" in result.output


def run_json(host: Host, *args: str) -> dict[str, Any]:
    result = invoke(host, pipelines_group, "run", *args, "--json")
    assert result.exit_code in (0, 1), result.output
    ran: dict[str, Any] = json.loads(result.output)
    return ran


def listed_ids(host: Host, *options: str) -> list[str]:
    result = invoke(host, pipelines_group, "runs", *options, "--limit", "1000", "--json")
    assert result.exit_code == 0, result.output
    return [run["execution_id"] for run in json.loads(result.output)]


def test_runs_lists_pipeline_runs_started_from_the_cli(host: Host) -> None:
    friday = random_friday().isoformat()
    ingest = run_json(
        host, "otc.ingest", "-p", f"week_ending={friday}", "-p", "tier=NMS_TIER_2",
        "-p", "venues=XNAS,XNYS",
    )  # fmt: skip
    gated = run_json(host, "otc.gated")

    listed = invoke(host, pipelines_group, "runs", "--json")
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.output)
    assert [(run["execution_id"], run["pipeline"], run["status"]) for run in runs[:2]] == [
        (gated["execution_id"], "otc.gated", "FAILED"),  # newest first
        (ingest["execution_id"], "otc.ingest", "COMPLETED"),
    ]
    assert runs[1]["params"]["venues"] == ["XNAS", "XNYS"]
    assert runs[0]["error"]["category"] == "QUALITY"

    table = invoke(host, pipelines_group, "runs", "--pipeline", "otc.ingest", "--limit", "1")
    assert table.exit_code == 0, table.output
    header, _rule, row = table.output.splitlines()
    assert [name.strip() for name in header.split("  ") if name.strip()] == [
        "EXECUTION", "PIPELINE", "STATUS", "PARAMS", "STARTED (UTC)", "DURATION",
        "ROWS IN/OUT/REJ", "TRIGGERED BY",
    ]  # fmt: skip
    cells = re.split(r" {2,}", row)
    assert cells[:3] == [ingest["execution_id"], "otc.ingest", "COMPLETED"]
    # Parameters as a person types them after -p, not a Python dict.
    assert cells[3] == f"bad_lines=2 tier=T2 venues=XNAS,XNYS week_ending={friday}"
    assert cells[4] == ingest["started_at"][:19].replace("T", " ")
    assert re.fullmatch(r"<0\.01s|[0-9]+\.[0-9]{2}s", cells[5])
    assert cells[6:] == ["4/2/2", "manual"]


def test_runs_filters_by_pipeline_status_and_since(host: Host) -> None:
    ingest = run_json(host, "otc.ingest", "-p", f"week_ending={random_friday()}")["execution_id"]
    gated = run_json(host, "otc.gated")["execution_id"]
    host.storage.execute(
        sa.update(schema.executions)
        .where(schema.executions.c.execution_id == ingest)
        .values(created_at=utc_now() - timedelta(days=2))
    )

    failed = listed_ids(host, "--status", "failed")  # any case
    assert gated in failed
    assert ingest not in failed
    both = listed_ids(host, "--status", "FAILED,completed")
    assert {gated, ingest} <= set(both)
    assert {gated, ingest} <= set(listed_ids(host, "--status", "FAILED", "--status", "COMPLETED"))
    assert ingest not in listed_ids(host, "--status", "SKIPPED")

    only_gated = listed_ids(host, "--pipeline", "otc.gated")
    assert gated in only_gated
    assert ingest not in only_gated

    last_day = listed_ids(host, "--since", "24h")
    assert gated in last_day
    assert ingest not in last_day
    three_days_ago = (utc_now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert {gated, ingest} <= set(listed_ids(host, "--since", three_days_ago))

    newest = json.loads(invoke(host, pipelines_group, "runs", "--limit", "1", "--json").output)
    assert [run["execution_id"] for run in newest] == [gated]


def test_runs_refuses_an_unknown_status_naming_the_valid_ones(host: Host) -> None:
    result = invoke(host, pipelines_group, "runs", "--status", "FAILED,DONE")
    assert result.exit_code == 2
    assert "'DONE' is not an execution status; use one of PENDING, RUNNING," in result.output
    assert all(status.value in result.output for status in ExecutionStatus)

    since = invoke(host, pipelines_group, "runs", "--since", "yesterday")
    assert since.exit_code == 2
    assert "'yesterday' is neither a duration (24h) nor a date" in since.output


def test_runs_is_found_from_spine_help() -> None:
    top = CliRunner().invoke(cli, ["--help"])
    assert top.exit_code == 0, top.output
    [pipelines_line] = [line for line in top.output.splitlines() if "pipelines " in line]
    assert "runs" in pipelines_line

    group = CliRunner().invoke(cli, ["pipelines", "--help"])
    assert group.exit_code == 0, group.output
    assert "runs  List pipeline runs (executions), newest first" in group.output


def test_show_takes_a_unique_prefix_and_lists_the_matches_of_an_ambiguous_one(host: Host) -> None:
    prefix = uuid.uuid4().hex[:12]
    ids = [f"{prefix}{letter}{uuid.uuid4().hex[:19]}" for letter in "ab"]
    for execution_id in ids:
        Dispatcher(host).run(
            "otc.flaky",
            {"failures": "0", "marker": execution_id},
            context=ExecutionContext(execution_id=execution_id, host=host),
        )

    shown = invoke(host, pipelines_group, "show", ids[0][:14], "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["execution_id"] == ids[0]
    assert [e["event_type"] for e in json.loads(shown.output)["events"]] == [
        "created", "started", "completed",
    ]  # fmt: skip

    ambiguous = invoke(host, pipelines_group, "show", prefix)
    assert ambiguous.exit_code == 2
    assert f"prefix {prefix!r} is ambiguous; it matches {ids[0]}, {ids[1]}:" in ambiguous.output
    missing = invoke(host, pipelines_group, "show", "no-such-execution")
    assert missing.exit_code == 2  # a usage error, like an unknown run id
    assert "no execution 'no-such-execution'" in missing.output
