"""WorkManifest: stages per (domain, partition) with ranks, counts and metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from spine_host import ErrorCategory, Host, SpineError
from spine_host.pipelines import WorkManifest
from tests.plugins.pipeline_storage import open_host, storage_url

STAGES = ("INGESTED", "NORMALIZED", "AGGREGATED")


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(storage_url(request.param, tmp_path, postgres))
    yield host
    host.close()


@pytest.fixture
def manifest(host: Host) -> WorkManifest:
    # A domain of its own, so tests sharing the PostgreSQL database do not see each other.
    return WorkManifest(host.storage, f"otc-{uuid.uuid4().hex[:8]}", stages=STAGES)


def test_advance_records_stage_rank_counts_and_metrics(manifest: WorkManifest) -> None:
    entry = manifest.advance_to("2025-12-26", "NORMALIZED", row_count=120, metrics={"files": 3})

    assert (entry.stage, entry.rank, entry.row_count, entry.metrics) == (
        "NORMALIZED",
        2,
        120,
        {"files": 3},
    )
    assert manifest.has_stage("2025-12-26", "NORMALIZED")
    assert not manifest.has_stage("2025-12-26", "INGESTED")
    assert not manifest.has_stage("2026-01-02", "NORMALIZED")


def test_is_at_least_compares_ranks(manifest: WorkManifest) -> None:
    manifest.advance_to("2025-12-26", "NORMALIZED")

    assert manifest.is_at_least("2025-12-26", "INGESTED")
    assert manifest.is_at_least("2025-12-26", "NORMALIZED")
    assert not manifest.is_at_least("2025-12-26", "AGGREGATED")
    assert not manifest.is_at_least("2026-01-02", "INGESTED")


def test_latest_is_the_highest_ranked_stage(manifest: WorkManifest) -> None:
    manifest.advance_to("2025-12-26", "INGESTED", row_count=500)
    manifest.advance_to("2025-12-26", "AGGREGATED", row_count=5)

    latest = manifest.latest("2025-12-26")
    assert latest is not None
    assert (latest.stage, latest.row_count) == ("AGGREGATED", 5)
    assert manifest.latest("2026-01-02") is None


def test_advancing_again_updates_the_stage_row(manifest: WorkManifest) -> None:
    manifest.advance_to("2025-12-26", "INGESTED", row_count=1, execution_id="first")
    manifest.advance_to("2025-12-26", "INGESTED", row_count=2, execution_id="second")

    entries = manifest.entries("2025-12-26")
    assert [(e.stage, e.row_count, e.execution_id) for e in entries] == [("INGESTED", 2, "second")]


def test_mapping_partitions_are_stored_canonically(manifest: WorkManifest) -> None:
    manifest.advance_to({"week": "2025-12-26", "tier": "T1"}, "INGESTED")

    assert manifest.has_stage({"tier": "T1", "week": "2025-12-26"}, "INGESTED")
    assert manifest.entries()[0].partition_key == '{"tier":"T1","week":"2025-12-26"}'


def test_unknown_stage_is_refused_naming_the_stages(manifest: WorkManifest) -> None:
    with pytest.raises(SpineError) as caught:
        manifest.advance_to("2025-12-26", "PUBLISHED")
    assert caught.value.category is ErrorCategory.VALIDATION
    assert "INGESTED, NORMALIZED, AGGREGATED" in caught.value.message


def test_undeclared_stages_use_explicit_ranks(host: Host) -> None:
    manifest = WorkManifest(host.storage, f"adhoc-{uuid.uuid4().hex[:8]}")
    manifest.advance_to("p1", "LOADED", rank=1)
    manifest.advance_to("p1", "PUBLISHED", rank=5)

    assert manifest.is_at_least("p1", "LOADED")
    assert not manifest.is_at_least("p1", "UNSEEN")
    latest = manifest.latest("p1")
    assert latest is not None
    assert latest.stage == "PUBLISHED"


def test_redoing_a_stage_invalidates_the_stages_after_it(host: Host) -> None:
    # The OTC example's stages: a forced re-ingest makes the check and the summary stale.
    otc = WorkManifest(
        host.storage, f"otc-{uuid.uuid4().hex[:8]}", stages=("INGESTED", "CHECKED", "SUMMARIZED")
    )
    for week in ("2025-12-19", "2025-12-26"):
        for stage in otc.stages:
            otc.advance_to(week, stage, execution_id="first")
    elsewhere = WorkManifest(host.storage, f"other-{uuid.uuid4().hex[:8]}", stages=otc.stages)
    elsewhere.advance_to("2025-12-26", "SUMMARIZED")

    otc.advance_to("2025-12-26", "INGESTED", row_count=7, execution_id="forced")

    assert [(e.stage, e.execution_id) for e in otc.entries("2025-12-26")] == [
        ("INGESTED", "forced")
    ]
    assert not otc.is_at_least("2025-12-26", "CHECKED")
    latest = otc.latest("2025-12-26")
    assert latest is not None
    assert (latest.stage, latest.row_count) == ("INGESTED", 7)
    # Other partitions and other domains keep their stages.
    assert [e.stage for e in otc.entries("2025-12-19")] == ["INGESTED", "CHECKED", "SUMMARIZED"]
    assert elsewhere.is_at_least("2025-12-26", "SUMMARIZED")


def test_redoing_a_middle_stage_keeps_the_stages_before_it(manifest: WorkManifest) -> None:
    for stage in manifest.stages:
        manifest.advance_to("2025-12-26", stage, row_count=1)

    manifest.advance_to("2025-12-26", "NORMALIZED", row_count=2)

    assert [(e.stage, e.row_count) for e in manifest.entries("2025-12-26")] == [
        ("INGESTED", 1),
        ("NORMALIZED", 2),
    ]


def test_undeclared_stages_invalidate_by_explicit_rank(host: Host) -> None:
    manifest = WorkManifest(host.storage, f"adhoc-{uuid.uuid4().hex[:8]}")
    manifest.advance_to("p1", "LOADED", rank=1)
    manifest.advance_to("p1", "PUBLISHED", rank=5)

    manifest.advance_to("p1", "LOADED", rank=1)

    assert [e.stage for e in manifest.entries("p1")] == ["LOADED"]
