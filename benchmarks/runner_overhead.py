"""Workflow runner overhead and run-history query speed, on SQLite and PostgreSQL.

1. Per-step overhead: a 1,000-step no-op workflow (a chain, and 1,000 independent steps at
   ``max_concurrency=4``), history included, against the floor measured in the same process:
   one row insert + commit per step on a raw driver connection (``sqlite3`` with the adapter's
   pragmas: WAL, synchronous=FULL; ``psycopg`` for PostgreSQL). Target: <= 2x the floor.
2. ``list_runs(status="FAILED", since=...)`` over 1,000,000 ``workflow_runs`` rows, through the
   repository, against the same SQL on the raw driver (indexed) and a forced full scan
   (``NOT INDEXED`` on SQLite; index scans disabled on PostgreSQL). Targets: within 3x the raw
   indexed SQL and >= 100x faster than the full scan.

Run: ``python benchmarks/runner_overhead.py [--rows 1000000] [--steps 1000] [--no-postgres]``.
Prints a markdown table and writes ``benchmarks/results/runner_overhead.md``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from spine_host.host import Host
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.plugins import BUILTIN_PLUGINS
from spine_host.storage import schema

RESULTS = Path(__file__).parent / "results" / "runner_overhead.md"
FAILED_QUERY = (
    "SELECT * FROM workflow_runs{hint} WHERE status = 'FAILED' AND started_at >= {since} "
    "ORDER BY started_at DESC, run_id DESC LIMIT 50"
)


def noop(context: Any, inputs: Any, params: Any) -> None:
    return None


def chain(steps: int) -> Workflow:
    names = [f"s{index:04d}" for index in range(steps)]
    return Workflow(
        "bench.chain",
        [Step(name, noop, [names[i - 1]] if i else []) for i, name in enumerate(names)],
    )


def fan_out(steps: int) -> Workflow:
    return Workflow(
        "bench.parallel", [Step(f"s{i:04d}", noop) for i in range(steps)], max_concurrency=4
    )


def make_host(url: str) -> Host:
    listed = {module for _, module in BUILTIN_PLUGINS}
    wanted = ["spine_host.builtins.executors"]
    if url.startswith("sqlite"):
        wanted.append("spine_host.builtins.sqlite")
    plugins: list[object] = [importlib.import_module(m) for m in wanted if m not in listed]
    if url.startswith("postgresql"):
        plugins.append(importlib.import_module("spine_postgres"))
    host = Host(plugins=plugins, load_entrypoints=False, storage_url=url, environ={})
    schema.metadata.create_all(host.storage.engine)  # type: ignore[attr-defined]
    return host


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeat`` timings, in seconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return min(timings)


def median_of(repeat: int, fn: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


# -- 1. per-step overhead --------------------------------------------------------------------


_PARENT_RUN = (
    "INSERT INTO workflow_runs (run_id, workflow, status, steps_total, steps_completed, "
    "steps_failed, steps_skipped, created_at) VALUES (%s, 'floor', 'RUNNING', 0, 0, 0, 0, %s)"
)


def sqlite_floor(path: Path, steps: int) -> float:
    """Seconds per step for one workflow_steps row insert + commit on raw sqlite3."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=FULL"):
        connection.execute(f"PRAGMA {pragma}")
    run_id = uuid.uuid4().hex
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    connection.execute(_PARENT_RUN.replace("%s", "?"), (run_id, now))
    started = time.perf_counter()
    for index in range(steps):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO workflow_steps (run_id, step_name, attempt, status, params, outputs, "
            "created_at, started_at, finished_at) VALUES (?, ?, 1, 'COMPLETED', '{}', NULL, "
            "?, ?, ?)",
            (run_id, f"s{index:04d}", now, now, now),
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed / steps


def postgres_floor(url: str, steps: int) -> float:
    """Seconds per step for one workflow_steps row insert + commit on raw psycopg."""
    import psycopg

    run_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        connection.execute(_PARENT_RUN, (run_id, now))
        connection.commit()
        started = time.perf_counter()
        for index in range(steps):
            connection.execute(
                "INSERT INTO workflow_steps (run_id, step_name, attempt, status, params, "
                "outputs, created_at, started_at, finished_at) VALUES (%s, %s, 1, 'COMPLETED', "
                "'{}', NULL, %s, %s, %s)",
                (run_id, f"s{index:04d}", now, now, now),
            )
            connection.commit()
        elapsed = time.perf_counter() - started
    return elapsed / steps


def runner_per_step(host: Host, workflow: Workflow) -> float:
    runner = WorkflowRunner(host, reap_on_start=False)
    runner.run(workflow)  # warm up (thread start, statement caches)
    started = time.perf_counter()
    run = runner.run(workflow)
    elapsed = time.perf_counter() - started
    assert run.status.value == "COMPLETED", run.error
    stored = runner.history.require_run(run.run_id)
    assert len(stored.steps) == len(workflow.steps)  # history complete when run() returned
    return elapsed / len(workflow.steps)


# -- 2. failed-since over a million runs -----------------------------------------------------


def run_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """Runs over the last 365 days: 90% COMPLETED, 5% FAILED, the rest PARTIAL/CRASHED."""
    rng = random.Random(6)
    statuses = ["COMPLETED"] * 90 + ["FAILED"] * 5 + ["PARTIAL"] * 3 + ["CRASHED"] * 2
    for index in range(count):
        started = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        yield (
            f"{index:032x}",
            f"domain.workflow_{index % 50}",
            rng.choice(statuses),
            started,
            started + timedelta(seconds=30),
        )


def fill_sqlite(path: Path, count: int, now: datetime) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO workflow_runs (run_id, workflow, status, steps_total, steps_completed, "
        "steps_failed, steps_skipped, created_at, started_at, finished_at) "
        "VALUES (?, ?, ?, 3, 3, 0, 0, ?, ?, ?)",
        (
            (run_id, wf, status, _naive(start), _naive(start), _naive(end))
            for run_id, wf, status, start, end in run_rows(count, now)
        ),
    )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def fill_postgres(url: str, count: int, now: datetime) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY workflow_runs (run_id, workflow, status, steps_total, steps_completed, "
                "steps_failed, steps_skipped, created_at, started_at, finished_at) FROM STDIN"
            ) as copy,
        ):
            for run_id, wf, status, start, end in run_rows(count, now):
                copy.write_row((run_id, wf, status, 3, 3, 0, 0, start, start, end))
        connection.commit()
        connection.execute("ANALYZE workflow_runs")
        connection.commit()


def _naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def sqlite_queries(path: Path, since: datetime) -> tuple[float, float]:
    """(raw indexed, full scan) seconds for the failed-since query on raw sqlite3."""
    connection = sqlite3.connect(path)
    literal = f"'{_naive(since)}'"
    indexed = FAILED_QUERY.format(hint="", since=literal)
    scan = FAILED_QUERY.format(hint=" NOT INDEXED", since=literal)
    plan = " ".join(str(row) for row in connection.execute(f"EXPLAIN QUERY PLAN {indexed}"))
    assert "ix_workflow_runs_status_started_at" in plan, plan
    raw = median_of(50, lambda: connection.execute(indexed).fetchall())
    full = median_of(3, lambda: connection.execute(scan).fetchall())
    assert connection.execute(indexed).fetchall() == connection.execute(scan).fetchall()
    connection.close()
    return raw, full


def postgres_queries(url: str, since: datetime) -> tuple[float, float]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        literal = f"'{since.isoformat()}'::timestamptz"
        query = FAILED_QUERY.format(hint="", since=literal)
        # prepare=False: a plan prepared before the SETs below would keep using the index.
        raw = median_of(50, lambda: connection.execute(query, prepare=False).fetchall())
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            connection.execute(f"SET {setting} = off")
        full = median_of(3, lambda: connection.execute(query, prepare=False).fetchall())
        connection.rollback()
    return raw, full


# -- reporting -------------------------------------------------------------------------------


@contextmanager
def postgres_database(url: str | None) -> Iterator[str]:
    from spine_host.testing.postgres import temporary_database

    with temporary_database(url) as database:
        yield database


def measure(label: str, url: str, floor: Callable[[int], float], args: Any) -> list[str]:
    host = make_host(url)
    lines = []
    try:
        floor_per_step = floor(args.steps)
        for shape, workflow in (("chain", chain(args.steps)), ("parallel", fan_out(args.steps))):
            per_step = runner_per_step(host, workflow)
            ratio = per_step / floor_per_step
            lines.append(
                f"| {label} | {args.steps}-step no-op {shape} | {per_step * 1000:.3f} ms/step "
                f"| floor {floor_per_step * 1000:.3f} ms/step | {ratio:.2f}x "
                f"| {'met' if ratio <= 2 else 'MISSED'} (<= 2x) |"
            )
        return lines
    finally:
        host.close()


def measure_query(label: str, url: str, fill: Any, queries: Any, args: Any) -> list[str]:
    host = make_host(url)
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(now)
        filled = time.perf_counter() - started
        since = now - timedelta(days=1)
        history = WorkflowHistoryRepository(host.storage)
        found = history.list_runs(status="FAILED", since=since)
        repository = median_of(50, lambda: history.list_runs(status="FAILED", since=since))
        raw, full = queries(since)
        # The same SQL text through the same adapter: what the repository itself adds.
        sql = FAILED_QUERY.format(hint="", since=":since")
        values = {"since": since if host.storage.dialect == "postgresql" else _naive(since)}
        adapter = median_of(50, lambda: host.storage.query(sql, values))
    finally:
        host.close()
    return [
        f"| {label} | list_runs(FAILED, since 24h) over {args.rows:,} runs "
        f"({len(found)} rows, filled in {filled:.0f}s) | {repository * 1000:.3f} ms "
        f"| raw driver {raw * 1000:.3f} ms, same SQL via adapter {adapter * 1000:.3f} ms, "
        f"full scan {full * 1000:.1f} ms "
        f"| {repository / raw:.2f}x raw driver, {repository / adapter:.2f}x adapter SQL, "
        f"{full / repository:.0f}x faster than scan "
        f"| {'met' if repository <= 3 * raw and full >= 100 * repository else 'MISSED'} "
        "(<= 3x raw, >= 100x scan) |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--postgres-server", default=None, help="maintenance DB URL")
    args = parser.parse_args()
    lines = [
        "| database | measurement | spine | baseline | ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        steps_db = Path(tmp) / "steps.db"
        url = f"sqlite:///{steps_db}"
        lines += measure("SQLite", url, lambda n: sqlite_floor(steps_db, n), args)
        runs_db = Path(tmp) / "runs.db"
        lines += measure_query(
            "SQLite",
            f"sqlite:///{runs_db}",
            lambda now: fill_sqlite(runs_db, args.rows, now),
            lambda since: sqlite_queries(runs_db, since),
            args,
        )
    if not args.no_postgres:
        with postgres_database(args.postgres_server) as pg:
            lines += measure("PostgreSQL", pg, lambda n: postgres_floor(pg, n), args)
        with postgres_database(args.postgres_server) as pg:
            lines += measure_query(
                "PostgreSQL",
                pg,
                lambda now: fill_postgres(pg, args.rows, now),
                lambda since: postgres_queries(pg, since),
                args,
            )
    table = "\n".join(lines)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    buffer.write("# Workflow runner overhead and history queries\n\n")
    buffer.write(
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by benchmarks/runner_overhead.py"
    )
    buffer.write(" (2-core machine).\n\n" + table + "\n")
    RESULTS.write_text(buffer.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main()
