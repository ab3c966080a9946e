"""The runs page pages by keyset: every run once, newest first, filters kept, ties broken by
run id; the day grid counts each workflow's runs per UTC day."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spine_host.api import Host
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.records import RunStatus, WorkflowRun
from spine_host.testing.hosts import make_test_host

with warnings.catch_warnings():  # starlette asks for httpx2 in place of httpx; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import spine_web
from spine_web.app import create_app
from spine_web.run_grid import DayCell, run_grid
from spine_web.run_listing import RunCursor, RunFilters, list_runs
from spine_web.settings import WebSettings

NOW = datetime.now(UTC).replace(microsecond=0)
RUNS = 120


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    """120 runs of two workflows, three of them at each start time (ties)."""
    with make_test_host(spine_web, storage_url=f"sqlite:///{tmp_path / 'spine.db'}") as host:
        history = WorkflowHistoryRepository(host.storage)
        for index in range(RUNS):
            started = NOW - timedelta(hours=index // 3)
            history.save_run(
                WorkflowRun(
                    run_id=f"{index:032x}",
                    workflow="paging.even" if index % 2 == 0 else "paging.odd",
                    status=RunStatus.FAILED if index % 5 == 0 else RunStatus.COMPLETED,
                    started_at=started,
                    finished_at=started + timedelta(seconds=5),
                )
            )
        yield host


@pytest.fixture
def client(host: Host) -> Iterator[TestClient]:
    with TestClient(create_app(host, WebSettings()), base_url="http://127.0.0.1:8150") as client:
        yield client


def shown_ids(html: str) -> list[str]:
    return re.findall(r'data-run-id="([0-9a-f]+)"', html)


def test_pages_list_every_run_once_newest_first(client: TestClient, host: Host) -> None:
    seen: list[str] = []
    path = "/runs"
    for _ in range(10):
        html = client.get(path).text
        seen += shown_ids(html)
        found = re.search(r'id="next-page" href="([^"]+)"', html)
        if found is None:
            break
        path = found.group(1).replace("&amp;", "&")
    assert len(seen) == RUNS
    assert len(set(seen)) == RUNS
    expected = [run.run_id for run in WorkflowHistoryRepository(host.storage).list_runs(limit=None)]
    assert seen == expected  # started_at DESC, run_id DESC: ties in id order


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"workflow": "paging.even"}, lambda index: index % 2 == 0),
        ({"status": "COMPLETED"}, lambda index: index % 5 != 0),
    ],
)
def test_filters_are_kept_from_page_to_page(
    client: TestClient, params: dict[str, str], expected: Callable[[int], bool]
) -> None:
    first = client.get("/runs", params=params).text
    found = re.search(r'id="next-page" href="([^"]+)"', first)
    assert found is not None
    link = found.group(1).replace("&amp;", "&")
    assert all(f"{name}={value}" in link for name, value in params.items())
    second = client.get(link).text
    ids = shown_ids(first) + shown_ids(second)
    assert sorted(int(run_id, 16) for run_id in ids) == [i for i in range(RUNS) if expected(i)]
    assert 'id="next-page"' not in second
    assert 'id="newest-page"' in second


def test_a_cursor_is_the_last_run_shown(host: Host) -> None:
    storage = host.storage
    first = list_runs(storage, RunFilters(), limit=7)  # type: ignore[arg-type]
    assert first.next_cursor is not None
    cursor = RunCursor.decode(first.next_cursor.encode())
    assert cursor == first.next_cursor
    assert cursor.run_id == first.rows[-1].run_id
    second = list_runs(storage, RunFilters(), before=cursor, limit=7)  # type: ignore[arg-type]
    assert not {row.run_id for row in first.rows} & {row.run_id for row in second.rows}
    with pytest.raises(ValueError, match="not a page cursor"):
        RunCursor.decode("2025-12-26")


def test_the_grid_counts_runs_per_workflow_and_day(host: Host) -> None:
    grid = run_grid(host.storage, last_day=NOW.date(), days=3)  # type: ignore[arg-type]
    assert [name for name, _ in grid.rows] == ["paging.even", "paging.odd"]
    total = sum(cell.total for _, cells in grid.rows for cell in cells)
    in_window = [
        index for index in range(RUNS) if (NOW - timedelta(hours=index // 3)).date() >= grid.days[0]
    ]
    assert total == len(in_window)


@pytest.mark.parametrize(
    ("counts", "outcome"),
    [
        ({}, "none"),
        ({"COMPLETED": 3}, "good"),
        ({"FAILED": 1}, "bad"),
        ({"FAILED": 1, "COMPLETED": 2}, "mixed"),
        ({"PARTIAL": 1, "COMPLETED": 2}, "warn"),
        ({"RUNNING": 1, "COMPLETED": 2}, "busy"),
    ],
)
def test_a_day_cell_is_coloured_by_how_its_runs_ended(counts: dict[str, int], outcome: str) -> None:
    assert DayCell(NOW.date(), counts).outcome == outcome
