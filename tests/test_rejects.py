"""RejectSink: rejects written in bulk, never row by row, with a running count."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from spine_host import Host
from spine_host.pipelines import RejectRecord, RejectSink
from spine_host.pipelines.rejects import count_rejects, list_rejects
from spine_host.sources.result import Reject
from tests.plugins.pipeline_storage import open_host, storage_url


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Host]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    host = open_host(storage_url(request.param, tmp_path, postgres))
    yield host
    host.close()


def sink(host: Host, **options: Any) -> RejectSink:
    return RejectSink(
        host.storage, stage="PARSE", execution_id=uuid.uuid4().hex, pipeline="otc.ingest",
        **options,
    )  # fmt: skip


class StatementCounter:
    """Counts the statements the engine sends, executemany batches counted once each."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements = 0

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements += 1


def test_100000_rejects_in_one_bulk_call_not_row_by_row(host: Host) -> None:
    rejects = sink(host)
    engine: sa.Engine = host.storage.engine  # type: ignore[attr-defined]
    calls: list[int] = []
    bulk_insert = host.storage.bulk_insert

    def counted_bulk_insert(table: str, rows: Any) -> int:
        calls.append(1)
        return bulk_insert(table, rows)

    host.storage.bulk_insert = counted_bulk_insert  # type: ignore[method-assign]
    records = (
        Reject(reason=f"bad volume {n}", raw=f"XNAS|x{n}", line_number=n + 2,
               locator="otc/week.psv", reason_code="BAD_VOLUME")
        for n in range(100_000)
    )  # fmt: skip
    with StatementCounter(engine) as counter:
        written = rejects.write(records)

    assert written == 100_000
    assert rejects.count == 100_000
    assert calls == [1]
    # A chunked executemany (SQLite) or COPY (PostgreSQL): a handful of statements, not 100,000.
    assert counter.statements <= 20
    assert count_rejects(host.storage, execution_id=rejects.execution_id) == 100_000
    last = list_rejects(host.storage, execution_id=rejects.execution_id, limit=100_000)
    assert {r.line_number for r in last} == set(range(2, 100_002))


def test_added_rejects_are_buffered_and_flushed_in_bulk(host: Host) -> None:
    rejects = sink(host, buffer_size=3)
    for n in range(4):
        rejects.add("BAD_DATE", f"trade_date {n} is not a date", raw={"line": n}, line_number=n)

    assert (rejects.count, rejects.written) == (4, 3)  # one flush happened at 3
    rejects.flush()
    assert rejects.written == 4
    stored = list_rejects(host.storage, execution_id=rejects.execution_id)
    assert sorted(r.raw_record or "" for r in stored) == [f'{{"line": {n}}}' for n in range(4)]


def test_source_rejects_and_records_keep_every_field(host: Host) -> None:
    with sink(host) as rejects:
        rejects.add_all(
            [
                Reject(reason="3 fields, expected 4", raw="a|b|c", line_number=7,
                       locator="otc/2025-12-26.psv"),
                RejectRecord(stage="NORMALIZE", reason_code="UNKNOWN_VENUE",
                             reason_detail="venue 'XXXX' unknown", raw_record="XXXX|1"),
            ]
        )  # fmt: skip
    stored = sorted(
        list_rejects(host.storage, execution_id=rejects.execution_id), key=lambda r: r.stage
    )
    assert [
        (r.stage, r.reason_code, r.reason_detail, r.raw_record, r.source_locator, r.line_number)
        for r in stored
    ] == [
        ("NORMALIZE", "UNKNOWN_VENUE", "venue 'XXXX' unknown", "XXXX|1", None, None),
        ("PARSE", "MALFORMED", "3 fields, expected 4", "a|b|c", "otc/2025-12-26.psv", 7),
    ]
    assert all(r.pipeline == "otc.ingest" for r in stored)


def test_list_filters_by_reason_code(host: Host) -> None:
    with sink(host) as rejects:
        rejects.add("A", "first")
        rejects.add("B", "second")
        rejects.add("B", "third")

    only_b = list_rejects(host.storage, execution_id=rejects.execution_id, reason_code="B")
    assert sorted(r.reason_detail or "" for r in only_b) == ["second", "third"]
    assert count_rejects(host.storage, execution_id=rejects.execution_id, reason_code="B") == 2
