"""QualityRunner: every check persisted with actual and expected values; gates fail on FAIL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from spine_host import ErrorCategory, Host, SpineError
from spine_host.pipelines import CheckResult, QualityRunner, QualityStatus
from spine_host.pipelines.quality import list_quality
from tests.plugins.pipeline_storage import open_host, storage_url


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(storage_url(request.param, tmp_path, postgres))
    yield host
    host.close()


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
    assert "1 of 2 quality check(s) failed: rows: actual 0" in caught.value.message
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
