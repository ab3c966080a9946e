"""``spine pipelines``, ``spine quality`` and ``spine rejects`` against a host with a plugin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from spine_host import Host
from spine_host.cli.context import CliState
from spine_host.cli.pipelines import pipelines_group
from spine_host.cli.quality import quality_group
from spine_host.cli.rejects import rejects_group
from spine_host.pipelines import ExecutionRepository
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
    none = json.loads(
        invoke(host, rejects_group, "list", "--execution", execution_id, "--reason", "OTHER",
               "--json").output
    )  # fmt: skip
    assert none == {"total": 0, "rejects": []}


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
            (quality_group, ["list"]),
            (rejects_group, ["list"]),
        ]:
            result = invoke(host, group, *args)
            assert result.exit_code == 1
            assert "run `spine db upgrade`" in result.output
