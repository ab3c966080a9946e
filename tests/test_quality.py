"""QualityRunner: every check persisted with actual and expected values; gates fail on FAIL.

A gate that fails inside a transaction keeps its record even though the data it judged is
rolled back: ``spine quality list`` shows it, marked, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from spine_host import ErrorCategory, Host, SpineError
from spine_host.cli.context import CliState
from spine_host.cli.pipelines import pipelines_group
from spine_host.cli.quality import quality_group
from spine_host.pipelines import CheckResult, QualityRunner, QualityStatus
from spine_host.pipelines.quality import list_quality
from tests.plugins import pipeline_atomic
from tests.plugins.pipeline_storage import open_host, storage_url


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(storage_url(request.param, tmp_path, postgres), pipeline_atomic)
    yield host
    host.close()


@pytest.fixture
def table(host: Host) -> Iterator[str]:
    """A data table of the test's own (the PostgreSQL database is shared by the session)."""
    name = f"loaded_{uuid.uuid4().hex[:8]}"
    host.storage.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)")
    yield name
    host.storage.execute(f"DROP TABLE {name}")


def invoke(host: Host, group: click.Group, *args: str) -> Result:
    return CliRunner().invoke(group, list(args), obj=CliState(host=host))


def loaded(host: Host, table: str) -> list[int]:
    return [row["id"] for row in host.storage.query(f"SELECT id FROM {table} ORDER BY id")]


def runner(host: Host) -> QualityRunner:
    return QualityRunner(
        host.storage, execution_id=uuid.uuid4().hex, pipeline="otc.ingest", domain="otc",
        partition_key="2025-12-26",
    )  # fmt: skip


def test_compare_gives_pass_warn_and_fail() -> None:
    assert CheckResult.compare(5, at_least=1).status is QualityStatus.PASS
    assert CheckResult.compare(0, at_least=1).status is QualityStatus.FAIL
    warned = CheckResult.compare(9, at_most=3, warn_only=True)
    assert (warned.status, warned.actual, warned.expected, warned.message) == (
        QualityStatus.WARN,
        9,
        {"at_most": 3},
        "9 is not <= 3",
    )


def test_run_persists_every_result_with_actual_and_expected(host: Host) -> None:
    quality = runner(host)
    quality.add("rows", lambda: CheckResult.compare(10, at_least=1))
    quality.add("nulls", lambda: CheckResult(status="WARN", actual=2, expected=0, message="nulls"))
    results = quality.run()

    assert [r.status for r in results] == [QualityStatus.PASS, QualityStatus.WARN]
    stored = list_quality(host.storage, execution_id=quality.execution_id)
    assert sorted((r.check_name, r.status.value, r.actual, r.expected) for r in stored) == [
        ("nulls", "WARN", 2, 0),
        ("rows", "PASS", 10, {"at_least": 1}),
    ]
    assert {(r.pipeline, r.domain, r.partition_key) for r in stored} == {
        ("otc.ingest", "otc", "2025-12-26")
    }


def test_gate_raises_quality_error_and_still_persists_every_check(host: Host) -> None:
    quality = runner(host)
    quality.add("rows", lambda: CheckResult.compare(0, at_least=1))
    quality.add("fresh", lambda: CheckResult(status="PASS"))
    with pytest.raises(SpineError) as caught:
        quality.gate()

    assert caught.value.category is ErrorCategory.QUALITY
    assert caught.value.context["failed_checks"] == ["rows"]
    assert "1 of 2 quality check(s) failed: rows: actual 0, expected at_least=1" in (
        caught.value.message
    )
    assert len(list_quality(host.storage, execution_id=quality.execution_id)) == 2


def test_a_check_that_raises_is_a_fail_not_a_crash(host: Host) -> None:
    quality = runner(host)
    quality.add("broken", lambda: 1 / 0)  # type: ignore[arg-type, return-value]
    quality.add("not_a_result", lambda: True)  # type: ignore[arg-type, return-value]
    results = quality.run()

    assert [r.status for r in results] == [QualityStatus.FAIL, QualityStatus.FAIL]
    assert "raised ZeroDivisionError" in results[0].message
    assert "returned bool, not a CheckResult" in results[1].message


def test_list_filters_by_status(host: Host) -> None:
    quality = runner(host)
    quality.add("a", lambda: CheckResult(status="FAIL"))
    quality.add("b", lambda: CheckResult(status="PASS"))
    quality.run()

    failed = list_quality(host.storage, execution_id=quality.execution_id, status="FAIL")
    assert [r.check_name for r in failed] == ["a"]


def test_a_failed_gate_whose_transaction_rolled_back_is_still_listed(
    host: Host, table: str
) -> None:
    ran = invoke(host, pipelines_group, "run", "atomic.load", "-p", f"table={table}", "--json")
    assert ran.exit_code == 1, ran.output
    execution_id = json.loads(ran.output)["execution_id"]
    assert loaded(host, table) == []  # the gate refused the rows, and they were rolled back

    listed = invoke(host, quality_group, "list", "--execution", execution_id, "--json")
    assert listed.exit_code == 0, listed.output
    checks = sorted(json.loads(listed.output), key=lambda check: check["check_name"])
    assert [(c["check_name"], c["status"], c["details"]) for c in checks] == [
        ("ids_unique", "PASS", {"data_rolled_back": True}),
        ("row_count", "FAIL", {"data_rolled_back": True}),
    ]
    assert (checks[1]["actual"], checks[1]["expected"]) == (3, {"at_least": 5})
    assert checks[1]["pipeline"] == "atomic.load"

    failed = invoke(host, quality_group, "list", "--execution", execution_id, "--status", "fail")
    assert failed.exit_code == 0, failed.output
    [row] = failed.output.splitlines()[2:]
    assert "row_count" in row
    assert "FAIL" in row
    assert "3 is not >= 5 (data rolled back)" in row


def test_a_passing_gate_whose_transaction_committed_is_written_once(host: Host, table: str) -> None:
    args = ["run", "atomic.load", "-p", f"table={table}", "-p", "at_least=1", "--json"]
    ran = invoke(host, pipelines_group, *args)
    assert ran.exit_code == 0, ran.output
    execution_id = json.loads(ran.output)["execution_id"]
    assert loaded(host, table) == [0, 1, 2]

    listed = json.loads(
        invoke(host, quality_group, "list", "--execution", execution_id, "--json").output
    )
    assert sorted((c["check_name"], c["status"], c["details"]) for c in listed) == [
        ("ids_unique", "PASS", {}),
        ("row_count", "PASS", {}),
    ]
    assert (
        "rolled back" not in invoke(host, quality_group, "list", "--execution", execution_id).output
    )


def test_results_committed_before_the_rollback_are_not_written_again(host: Host) -> None:
    before, after = runner(host), runner(host)
    after.execution_id = before.execution_id
    before.add("before_commit", lambda: CheckResult(status="PASS"))
    after.add("after_commit", lambda: CheckResult(status="FAIL", actual=0, expected=1))

    def gated_load() -> None:
        with host.storage.transaction():
            before.run()
            host.storage.commit()  # saved: rolling back later must not write it twice
            after.gate()

    with pytest.raises(SpineError, match="1 of 1 quality check"):
        gated_load()

    stored = list_quality(host.storage, execution_id=before.execution_id)
    assert sorted((r.check_name, r.status.value, r.data_rolled_back) for r in stored) == [
        ("after_commit", "FAIL", True),
        ("before_commit", "PASS", False),
    ]
