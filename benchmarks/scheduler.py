"""Scheduler fire lag: 1,000 every-minute schedules on PostgreSQL, one replica and three.

For each replica count (default 1, then 3), in a fresh temporary PostgreSQL database:

1. The raw baseline, in the same database: one plain ``INSERT ... ON CONFLICT DO NOTHING
   RETURNING`` of 1,000 ``schedule_runs`` rows (the columns a claim writes) into a scratch copy
   of the table on a bare psycopg connection, committed; also the same rows as five 200-row
   inserts each committed (how ``ScheduleLedger.claim`` chunks them), and the 1,000-row insert
   again when every key is taken (what a losing replica's insert does).
2. ``--replicas`` processes (``subprocess``, this script with a hidden ``--replica`` flag), each
   with its own ``Host`` and ``SchedulerService`` over the same 1,000 schedules
   (``cron = "* * * * *"``, UTC, ``catchup = "none"``, ``misfire_grace = 60``, ``overlap =
   "skip"``) running a one-step no-op workflow. Every replica calls ``start()`` at the same
   instant, ``--lead`` seconds before a minute boundary B, and ``stop()`` ``--lead`` seconds
   before B + ``--minutes`` minutes; the nominal minutes measured are B, B+1, ..., each with
   most of a minute to be carried before the stop.
3. From the database: fire lag = ``claimed_at - nominal_fire_at`` of every fire of those minutes
   (``claimed_at`` is taken just before the claim's INSERT), p50/p99/max (nearest rank);
   duplicates = ``workflow_runs`` groups of (schedule_name, logical_date) with more than one
   run; unrecorded misses = (schedule, nominal minute) pairs with no ``schedule_runs`` row;
   recorded MISSED rows and the other outcomes. Each replica also reports, from an observer and
   from timers around its loop, when it learnt it had won each fire (the claim committed) and
   where its loop thread's time went (wake-up, planning, the claim INSERTs, ``set_next``).

``--profile`` runs each replica's claiming loop (``run_pending``) under cProfile and adds the
top functions (cumulative time) to the JSON output.

Run: ``python benchmarks/scheduler.py [--schedules 1000] [--minutes 3] [--replicas 1,3]``
(needs PostgreSQL, ``SPINE_TEST_POSTGRES_URL``; about ``2 x (minutes + 1)`` minutes of wall
clock). Prints a markdown report and writes ``benchmarks/results/scheduler.md`` and the raw
numbers to ``benchmarks/results/scheduler.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import logging
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "scheduler.md"
RAW = HERE / "results" / "scheduler.json"
WORKFLOW = "bench.noop"
SCRATCH = "bench_claim_scratch"
CLAIM_COLUMNS = (
    "schedule_name",
    "nominal_fire_at",
    "logical_date",
    "status",
    "reason",
    "fired_by",
    "claimed_by",
    "claimed_at",
    "heartbeat_at",
    "finished_at",
    "error",
)
SETUP_SECONDS = 25  # replicas start at least this long after being launched (imports, host)
PRESYNC_BEFORE = 10  # seconds before the replicas start that the definitions are written


def noop(context: Any, inputs: Any, params: Any) -> None:
    return None


class BenchTargets:
    """Registers the workflow every schedule runs."""

    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register(Workflow(WORKFLOW, [Step("only", noop)]))


def make_host(url: str) -> Any:
    from spine_host.host import Host
    from spine_host.plugins import BUILTIN_PLUGINS

    listed = {module for _, module in BUILTIN_PLUGINS}
    wanted = ["spine_host.builtins.executors"]
    plugins: list[object] = [importlib.import_module(m) for m in wanted if m not in listed]
    plugins.append(importlib.import_module("spine_postgres"))
    plugins.append(BenchTargets())
    return Host(plugins=plugins, load_entrypoints=False, storage_url=url, environ={})


def bench_schedules(count: int) -> list[Any]:
    from spine_host import Schedule

    return [
        Schedule(
            f"bench.s{index:04d}",
            workflow=WORKFLOW,
            cron="* * * * *",
            timezone="UTC",
            catchup="none",
            misfire_grace=60,
            overlap="skip",
        )
        for index in range(count)
    ]


def libpq(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else None,
        "min": min(values) if values else None,
    }


# -- one replica (a child process) -------------------------------------------------------------


class _Collect(logging.Handler):
    """Keeps the warnings and errors a replica logs (a loop failure, a fire not carried)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.records) < 20:
            text = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + "".join(logging.Formatter().formatException(record.exc_info))
            self.records.append(text)


def replica(args: argparse.Namespace) -> dict[str, Any]:
    """Run one SchedulerService from ``--start-at`` to ``--stop-at``; report what it saw."""
    logging.basicConfig(level=logging.WARNING)
    collected = _Collect()
    logging.getLogger().addHandler(collected)

    from spine_host.orchestration.schedule_fire import FireStatus
    from spine_host.orchestration.scheduler import SchedulerService

    host = make_host(args.url)
    schedules = bench_schedules(args.schedules)
    lock = threading.Lock()
    statuses: Counter[str] = Counter()
    won_lag: list[float] = []  # seconds from nominal to this replica learning it won the fire

    def observer(fire: Any) -> None:
        now = time.time()
        with lock:
            statuses[fire.status.value] += 1
            if fire.status is FireStatus.CLAIMED:
                won_lag.append(now - fire.nominal_time.timestamp())

    service = SchedulerService(host, schedules, observer=observer)
    cycles: list[dict[str, Any]] = []  # one per run_pending that planned fires
    profiler = cProfile.Profile() if args.profile else None
    run_pending = service.run_pending
    claim = service.ledger.claim
    chunk_insert = service.ledger._claim_on_conflict
    record_next = service._record_next
    housekeep = service.housekeep
    current: dict[str, Any] = {}
    housekeeping: list[tuple[float, float]] = []

    def timed_run_pending(now: Any = None) -> Any:
        current.clear()
        current["entered"] = time.time()
        if profiler is not None:
            profiler.enable()
        try:
            fires = run_pending(now)
        finally:
            if profiler is not None:
                profiler.disable()
        if "claim_start" in current:
            current["returned"] = time.time()
            current["recorded"] = len(fires)
            cycles.append(dict(current))
        return fires

    def timed_claim(fires: Any) -> Any:
        current["claim_start"] = time.time()
        current["offered"] = len(fires)
        current["nominal"] = min(f.nominal_time for f in fires).timestamp() if fires else None
        current["claimed_at"] = fires[0].claimed_at.timestamp() if fires else None
        current["chunks"] = []
        won = claim(fires)
        current["claim_end"] = time.time()
        current["won"] = len(won)
        return won

    def timed_chunk(rows: Any) -> Any:
        started = time.time()
        ids = chunk_insert(rows)
        current.setdefault("chunks", []).append((started, time.time(), len(rows), len(ids)))
        return ids

    def timed_record_next(items: Any) -> Any:
        started = time.time()
        record_next(items)
        current["record_next"] = time.time() - started

    def timed_housekeep(now: Any = None) -> Any:
        started = time.time()
        ended = housekeep(now)
        housekeeping.append((started, time.time() - started))
        return ended

    service.run_pending = timed_run_pending  # type: ignore[method-assign]
    service.ledger.claim = timed_claim  # type: ignore[method-assign]
    service.ledger._claim_on_conflict = timed_chunk  # type: ignore[method-assign]
    service._record_next = timed_record_next  # type: ignore[method-assign]
    service.housekeep = timed_housekeep  # type: ignore[method-assign]

    ready = time.time()
    late_start = ready > args.start_at
    time.sleep(max(args.start_at - time.time(), 0))
    started = time.time()
    error = None
    try:
        service.start()
    except Exception as exc:  # reported, not hidden: the parent prints it
        import traceback

        error = traceback.format_exc()
        logging.getLogger(__name__).error("start() failed: %s", exc)
    start_seconds = time.time() - started
    stopped_cleanly = None
    stop_seconds = None
    if error is None:
        time.sleep(max(args.stop_at - time.time(), 0))
        stop_started = time.time()
        stopped_cleanly = service.stop(grace=30)
        stop_seconds = time.time() - stop_started
    host.close()
    result: dict[str, Any] = {
        "index": args.index,
        "pid": os.getpid(),
        "owner": service.owner,
        "ready_before_start_s": args.start_at - ready,
        "late_start": late_start,
        "start_began": started,
        "start_seconds": start_seconds,
        "start_error": error,
        "stop_seconds": stop_seconds,
        "stopped_cleanly": stopped_cleanly,
        "statuses_notified": dict(statuses),
        "won_lag": summary(won_lag),
        "cycles": cycles,
        "housekeeping": housekeeping,
        "log_warnings": collected.count,
        "log_records": collected.records,
    }
    if profiler is not None:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(35)
        result["profile"] = buffer.getvalue()
    return result


# -- the parent --------------------------------------------------------------------------------


def prepare(url: str) -> None:
    """Create the tables and start from empty schedule and workflow tables."""
    import sqlalchemy as sa

    from spine_host.storage import schema

    engine = sa.create_engine(url)
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        for table in (
            schema.schedule_runs,
            schema.schedules,
            schema.workflow_steps,
            schema.workflow_runs,
        ):
            connection.execute(sa.delete(table))
    engine.dispose()


def raw_baseline(url: str, count: int, repeat: int = 5) -> dict[str, Any]:
    """Seconds for the bare claim INSERT of ``count`` rows on psycopg (median of ``repeat``)."""
    import psycopg

    placeholders = "(" + ", ".join(["%s"] * len(CLAIM_COLUMNS)) + ")"

    def statement(rows: int) -> str:
        return (
            f"INSERT INTO {SCRATCH} ({', '.join(CLAIM_COLUMNS)}) VALUES "
            + ", ".join([placeholders] * rows)
            + " ON CONFLICT (schedule_name, nominal_fire_at) DO NOTHING"
            " RETURNING schedule_run_id, schedule_name, nominal_fire_at"
        )

    def rows(nominal: datetime, names: range) -> list[Any]:
        now = datetime.now(UTC)
        values: list[Any] = []
        for index in names:
            values += [
                f"bench.s{index:04d}",
                nominal,
                nominal.isoformat(),
                "CLAIMED",
                None,
                "schedule",
                "baseline",
                now,
                now,
                None,
                None,
            ]
        return values

    whole = statement(count)
    chunk = 200
    base = datetime(2000, 1, 1, tzinfo=UTC)
    single: list[float] = []
    chunked: list[float] = []
    conflict: list[float] = []
    with psycopg.connect(libpq(url)) as connection:
        connection.execute(f"CREATE TABLE {SCRATCH} (LIKE schedule_runs INCLUDING ALL)")
        connection.commit()
        for attempt in range(repeat + 1):  # the first of each is a warm-up
            nominal = base + timedelta(minutes=2 * attempt)
            params = rows(nominal, range(count))
            started = time.perf_counter()
            inserted = connection.execute(whole, params).fetchall()
            connection.commit()
            elapsed = time.perf_counter() - started
            assert len(inserted) == count
            if attempt:
                single.append(elapsed)
            started = time.perf_counter()
            taken = connection.execute(whole, params).fetchall()
            connection.commit()
            elapsed = time.perf_counter() - started
            assert not taken
            if attempt:
                conflict.append(elapsed)
            later = nominal + timedelta(minutes=1)
            started = time.perf_counter()
            for first in range(0, count, chunk):
                names = range(first, min(first + chunk, count))
                connection.execute(statement(len(names)), rows(later, names)).fetchall()
                connection.commit()
            elapsed = time.perf_counter() - started
            if attempt:
                chunked.append(elapsed)
        connection.execute(f"DROP TABLE {SCRATCH}")
        connection.commit()
    return {
        "rows": count,
        "repeat": repeat,
        "single_insert_s": statistics.median(single),
        "single_insert_all_s": single,
        "chunked_200_s": statistics.median(chunked),
        "chunked_200_all_s": chunked,
        "all_conflicting_s": statistics.median(conflict),
        "all_conflicting_all_s": conflict,
    }


def presync_definitions(url: str, count: int, at: float) -> float:
    """At ``at``, write the schedules' definitions once (as an earlier deploy would have).

    Only with ``--presync``: by default replicas start cold, racing to write the definitions
    (which is what ``ScheduleLedger.sync``'s lock is for). Written less than a minute before
    the first nominal time, so no earlier minute becomes due when the replicas start.
    """
    from spine_host.orchestration.scheduler import SchedulerService

    host = make_host(url)
    try:
        service = SchedulerService(host, bench_schedules(count))
        time.sleep(max(at - time.time(), 0))
        started = time.perf_counter()
        service.sync()
        return time.perf_counter() - started
    finally:
        host.close()


def window(minutes: int, lead: float) -> tuple[float, float, float]:
    """(start_at, first nominal minute, stop_at) as epoch seconds."""
    earliest = time.time() + SETUP_SECONDS + lead
    boundary = math.ceil(earliest / 60) * 60
    return boundary - lead, float(boundary), boundary + minutes * 60 - lead


def launch(args: argparse.Namespace, url: str, replicas: int) -> dict[str, Any]:
    """Run ``replicas`` scheduler processes over one window; measure from the database."""
    start_at, first, stop_at = window(args.minutes, args.lead)
    nominals = [first + 60 * k for k in range(args.minutes)]
    print(
        f"  {replicas} replica(s): start {datetime.fromtimestamp(start_at, UTC):%H:%M:%S}, "
        f"first nominal {datetime.fromtimestamp(first, UTC):%H:%M}, "
        f"stop {datetime.fromtimestamp(stop_at, UTC):%H:%M:%S} UTC",
        flush=True,
    )
    children = []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(replicas):
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--replica",
                "--index",
                str(index),
                "--url",
                url,
                "--schedules",
                str(args.schedules),
                "--start-at",
                repr(start_at),
                "--stop-at",
                repr(stop_at),
            ]
            if args.profile:
                command.append("--profile")
            errors = open(Path(scratch) / f"replica{index}.err", "w+", encoding="utf-8")  # noqa: SIM115
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
            children.append((child, errors))
        presync = None
        if not args.cold_start:
            presync = presync_definitions(url, args.schedules, start_at - PRESYNC_BEFORE)
        reports = []
        for child, errors in children:
            output, _ = child.communicate(timeout=stop_at - time.time() + 300)
            errors.seek(0)
            stderr = errors.read()
            errors.close()
            if child.returncode != 0:
                raise RuntimeError(f"replica exited {child.returncode}:\n{stderr[-5000:]}")
            report = json.loads(output.strip().splitlines()[-1])
            report["stderr_tail"] = stderr[-3000:]
            reports.append(report)
    measured = measure(url, args.schedules, nominals, first, stop_at)
    measured["replicas"] = replicas
    measured["window"] = {
        "start_at": datetime.fromtimestamp(start_at, UTC).isoformat(),
        "stop_at": datetime.fromtimestamp(stop_at, UTC).isoformat(),
        "nominal_minutes": [datetime.fromtimestamp(n, UTC).isoformat() for n in nominals],
    }
    measured["replica_reports"] = reports
    measured["presync_s"] = presync
    measured["cold_start"] = args.cold_start
    measured["replicas_started"] = sum(1 for r in reports if r["start_error"] is None)
    measured["loop"] = loop_breakdown(reports, set(nominals))
    return measured


def measure(
    url: str, schedules: int, nominals: list[float], first: float, stop_at: float
) -> dict[str, Any]:
    import psycopg

    wanted = {datetime.fromtimestamp(n, UTC) for n in nominals}
    with psycopg.connect(libpq(url)) as connection:
        rows = connection.execute(
            "SELECT schedule_name, nominal_fire_at, status, claimed_by, claimed_at, started_at, "
            "finished_at, fired_by, run_id FROM schedule_runs"
        ).fetchall()
        duplicates = connection.execute(
            "SELECT schedule_name, logical_date, count(*) FROM workflow_runs "
            "GROUP BY schedule_name, logical_date HAVING count(*) > 1"
        ).fetchall()
        run_statuses = dict(
            connection.execute("SELECT status, count(*) FROM workflow_runs GROUP BY status")
        )
        runs_in_window = connection.execute(
            "SELECT count(*) FROM workflow_runs WHERE logical_date = ANY(%s)", (sorted(wanted),)
        ).fetchone()[0]
    inside = [row for row in rows if row[1] in wanted]
    outside = [row for row in rows if row[1] not in wanted]
    expected = {(f"bench.s{i:04d}", nominal) for i in range(schedules) for nominal in wanted}
    recorded = {(row[0], row[1]) for row in inside}
    lag = [(row[4] - row[1]).total_seconds() for row in inside if row[4] is not None]
    start_lag = [(row[5] - row[1]).total_seconds() for row in inside if row[5] is not None]
    end_lag = [(row[6] - row[1]).total_seconds() for row in inside if row[6] is not None]
    per_minute = {}
    for nominal in sorted(wanted):
        values = [(r[4] - r[1]).total_seconds() for r in inside if r[1] == nominal]
        per_minute[nominal.isoformat()] = summary(values)
    return {
        "schedules": schedules,
        "expected_fires": len(expected),
        "rows_in_window": len(inside),
        "rows_outside_window": len(outside),
        "rows_outside_window_by_status": dict(Counter(row[2] for row in outside)),
        "statuses": dict(Counter(row[2] for row in inside)),
        "fired_by": dict(Counter(row[7] for row in inside)),
        "claimed_by": dict(Counter(row[3] for row in inside)),
        "fire_lag_s": summary(lag),
        "fire_lag_by_minute_s": per_minute,
        "run_start_lag_s": summary(start_lag),
        "finish_lag_s": summary(end_lag),
        "duplicates": len(duplicates),
        "duplicate_examples": [[str(v) for v in row] for row in duplicates[:5]],
        "unrecorded_misses": len(expected - recorded),
        "unrecorded_examples": [
            [name, nominal.isoformat()] for name, nominal in sorted(expected - recorded)[:5]
        ],
        "recorded_missed": sum(1 for row in inside if row[2] == "MISSED"),
        "workflow_runs_in_window": runs_in_window,
        "workflow_runs_by_status": run_statuses,
    }


def loop_breakdown(reports: list[dict[str, Any]], nominals: set[float]) -> list[dict[str, Any]]:
    """Per replica and nominal minute: where the loop thread's time went, in seconds."""
    rows = []
    for report in reports:
        for cycle in report["cycles"]:
            if cycle.get("nominal") not in nominals:
                continue
            nominal = cycle["nominal"]
            chunks = cycle.get("chunks", [])
            rows.append(
                {
                    "replica": report["index"],
                    "nominal": datetime.fromtimestamp(nominal, UTC).isoformat(),
                    "wake": cycle["entered"] - nominal,
                    "plan": cycle["claimed_at"] - cycle["entered"],
                    "claimed_at_lag": cycle["claimed_at"] - nominal,
                    "claim_inserts": cycle["claim_end"] - cycle["claim_start"],
                    "chunk_seconds": [end - begin for begin, end, _, _ in chunks],
                    "chunk_won": [won for _, _, _, won in chunks],
                    "after_claim": cycle["returned"] - cycle["claim_end"],
                    "record_next": cycle.get("record_next"),
                    "offered": cycle["offered"],
                    "won": cycle["won"],
                }
            )
    return rows


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def report_markdown(results: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write("# Scheduler fire lag\n\n")
    out.write(
        f"Measured {results['measured_at'][:16].replace('T', ' ')} UTC by "
        f"benchmarks/scheduler.py: {results['schedules']:,} schedules firing every minute, "
        f"{results['minutes']} nominal minutes per run, PostgreSQL {results['postgres']}, "
        f"Python {results['python']}, {results['cpus']} CPUs (nproc; shared by the database "
        "server and every replica).\n\n"
    )
    code = results["code"]
    if code["uncommitted_diff_sha1"]:
        out.write(
            f"Code: commit {code['commit']} plus uncommitted changes to spine_host/plugins "
            f"(diff sha1 {code['uncommitted_diff_sha1']}).\n\n"
        )
    else:
        out.write(f"Code: commit {code['commit']}.\n\n")
    out.write(
        "| replicas (started) | fires expected | rows | fire lag p50 | p99 | max "
        "| claim won p50 / p99 "
        "| run start p50 / p99 | duplicates | unrecorded misses | recorded MISSED | outcomes |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for run in results["runs"]:
        lag = run["fire_lag_s"]
        won = [r["won_lag"] for r in run["replica_reports"]]
        won_p50 = max((w["p50"] for w in won if w["p50"] is not None), default=None)
        won_p99 = max((w["p99"] for w in won if w["p99"] is not None), default=None)
        start = run["run_start_lag_s"]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items()))
        out.write(
            f"| {run['replicas']} ({run['replicas_started']}) | {run['expected_fires']:,} "
            f"| {run['rows_in_window']:,} "
            f"| {seconds(lag['p50'])} s | {seconds(lag['p99'])} s | {seconds(lag['max'])} s "
            f"| {seconds(won_p50)} / {seconds(won_p99)} s "
            f"| {seconds(start['p50'])} / {seconds(start['p99'])} s "
            f"| {run['duplicates']} | {run['unrecorded_misses']} | {run['recorded_missed']} "
            f"| {outcomes} |\n"
        )
    out.write(
        "\nFire lag = `claimed_at - nominal_fire_at` (claimed_at is read just before the claim "
        "INSERT). Claim won = when the replica that won the fire learnt it (observer, after the "
        "INSERTs committed), worst replica's p50/p99. Run start = `started_at - "
        "nominal_fire_at`.\n\n"
    )
    for run in results["runs"]:
        if run["cold_start"]:
            out.write(f"{run['replicas']} replica(s): cold start (empty `schedules` table).\n")
        else:
            out.write(
                f"{run['replicas']} replica(s): definitions written once "
                f"{PRESYNC_BEFORE} s before the start ({run['presync_s']:.2f} s).\n"
            )
        for report in run["replica_reports"]:
            if report["start_error"]:
                last = report["start_error"].strip().splitlines()[-1]
                out.write(f"- replica {report['index']}: `start()` failed: {last}\n")
    out.write("\n")
    out.write(
        "| replicas | raw INSERT ... ON CONFLICT DO NOTHING, 1,000 rows, one statement "
        "| 5 x 200 rows, each committed | 1,000 rows, every key taken |\n|---:|---:|---:|---:|\n"
    )
    for run in results["runs"]:
        base = run["baseline"]
        out.write(
            f"| {run['replicas']} | {base['single_insert_s'] * 1000:.1f} ms "
            f"| {base['chunked_200_s'] * 1000:.1f} ms "
            f"| {base['all_conflicting_s'] * 1000:.1f} ms |\n"
        )
    out.write(
        "\nLoop thread, per replica and nominal minute (seconds after the nominal time the loop "
        "woke; planning until claimed_at; the claim INSERTs; the rest of run_pending, of which "
        "`set_next`):\n\n"
        "| replicas | replica | nominal | woke | planning | claimed_at lag | claim INSERTs "
        "| won | after the claim | of which set_next |\n"
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for run in results["runs"]:
        for row in run["loop"]:
            out.write(
                f"| {run['replicas']} | {row['replica']} | {row['nominal'][11:16]} "
                f"| {seconds(row['wake'])} | {seconds(row['plan'])} "
                f"| {seconds(row['claimed_at_lag'])} | {seconds(row['claim_inserts'])} "
                f"| {row['won']} / {row['offered']} | {seconds(row['after_claim'])} "
                f"| {seconds(row['record_next'])} |\n"
            )
    out.write("\n| target | measured | met |\n|---|---:|---|\n")
    for line in targets(results):
        out.write(line + "\n")
    return out.getvalue()


def targets(results: dict[str, Any]) -> list[str]:
    lines = []
    for run in results["runs"]:
        started = run["replicas_started"] == run["replicas"]
        if run["replicas"] == 1:
            p99 = run["fire_lag_s"]["p99"]
            met = started and p99 is not None and p99 <= 1.0
            met = met and run["rows_in_window"] == run["expected_fires"]
            lines.append(
                f"| fire lag p99 <= 1 s, {run['schedules']:,} schedules, 1 replica "
                f"| {seconds(p99)} s | {'yes' if met else 'NO'} |"
            )
        else:
            ok = started and run["duplicates"] == 0 and run["unrecorded_misses"] == 0
            lines.append(
                f"| {run['replicas']} replicas: 0 duplicates, 0 unrecorded misses "
                f"| {run['duplicates']}, {run['unrecorded_misses']} "
                f"({run['replicas_started']} of {run['replicas']} replicas started) "
                f"| {'yes' if ok else 'NO'} |"
            )
    return lines


def code_version() -> dict[str, Any]:
    """The commit measured, and a digest of uncommitted changes to spine_host and the plugins."""
    import hashlib

    root = HERE.parent

    def git(*arguments: str) -> str:
        try:
            return subprocess.run(
                ["git", *arguments], cwd=root, capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""

    diff = git("diff", "HEAD", "--", "spine_host", "plugins")
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or "?",
        "uncommitted_diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else None,
    }


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(libpq(url)) as connection:
        version = connection.execute("SHOW server_version").fetchone()
    return str(version[0]).split()[0] if version else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=3, help="nominal minutes per run")
    parser.add_argument("--replicas", default="1,3", help="replica counts, one run each")
    parser.add_argument("--lead", type=float, default=5.0, help="start this long before :00")
    parser.add_argument("--profile", action="store_true", help="cProfile each replica's loop")
    parser.add_argument("--postgres-server", default=None, help="maintenance DB URL")
    parser.add_argument(
        "--presync",
        action="store_true",
        help="write the schedules' definitions once before the replicas start (as an earlier "
        "deploy would have); by default they start cold, on an empty schedules table",
    )
    parser.add_argument("--replica", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--stop-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cold_start = not args.presync
    if args.replica:
        print(json.dumps(replica(args)))
        return

    from spine_host.testing.postgres import temporary_database

    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(),
        "schedules": args.schedules,
        "minutes": args.minutes,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "code": code_version(),
        "runs": [],
    }
    for replicas in (int(part) for part in args.replicas.split(",")):
        with temporary_database(args.postgres_server) as url:
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
            results["postgres"] = postgres_version(url)
            prepare(url)
            baseline = raw_baseline(url, args.schedules)
            run = launch(args, url, replicas)
            run["baseline"] = baseline
            results["runs"].append(run)
            lag = run["fire_lag_s"]
            print(
                f"  fire lag p50 {seconds(lag['p50'])} s, p99 {seconds(lag['p99'])} s; "
                f"duplicates {run['duplicates']}, unrecorded misses {run['unrecorded_misses']}; "
                f"raw claim INSERT {baseline['single_insert_s'] * 1000:.1f} ms",
                flush=True,
            )
    report = report_markdown(results)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    RAW.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"written to {RESULTS} and {RAW}")


if __name__ == "__main__":
    main()
