"""spine-web's pages over a million runs in PostgreSQL: server time per page (issue 16).

    python benchmarks/web.py [--runs 1000000] [--requests 200] [--url postgresql+psycopg://...]

Fills a temporary PostgreSQL database (the tests' server, ``SPINE_TEST_POSTGRES_URL`` or
127.0.0.1:5432) with ``--runs`` workflow runs over 20 workflows and 60 days (one in 17 FAILED;
the newest 1,000 with five attempts each), starts ``spine web`` on it, and times, with one
keep-alive HTTP connection from this process:

- the runs page, ``--requests`` times, cycling through no filter, a status filter, a workflow
  filter and a page deep in the list (``before`` cursor); its workflow x day grid is cached
  for 10 s by the server, so the first request of each filter pays for it;
- the same page with the grid not cached: 20 requests each ending the grid on another day;
- a run page, ``--requests`` times, over the newest 1,000 runs.

Target: p95 at most 150 ms for the runs page and for a run page. The table goes to stdout and
``benchmarks/results/web.md``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

RESULTS = Path(__file__).parent / "results" / "web.md"
TARGET_MS = 150.0

FILL_RUNS = """
INSERT INTO workflow_runs (
    run_id, workflow, status, params, triggered_by, steps_total, steps_completed,
    steps_failed, steps_skipped, rows_in, rows_out, created_at, started_at, finished_at, error,
    error_category)
SELECT md5(i::text), 'bench.wf' || (i % 20),
       CASE WHEN i % 17 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,
       jsonb_build_object('day', (now() - (i * :spread) * interval '1 second')::date::text),
       'schedule:bench', 5, CASE WHEN i % 17 = 0 THEN 4 ELSE 5 END,
       CASE WHEN i % 17 = 0 THEN 1 ELSE 0 END, 0, 1000, 990,
       now() - (i * :spread) * interval '1 second',
       now() - (i * :spread) * interval '1 second',
       now() - (i * :spread) * interval '1 second' + interval '42 seconds',
       CASE WHEN i % 17 = 0 THEN '{"message": "feed unreachable", "category": "TRANSIENT"}'::jsonb
       END,
       CASE WHEN i % 17 = 0 THEN 'TRANSIENT' END
FROM generate_series(1, :runs) AS i
"""

FILL_STEPS = """
INSERT INTO workflow_steps (
    run_id, step_name, attempt, status, execution_id, rows_in, rows_out, created_at, started_at,
    finished_at)
SELECT md5(i::text), 'step' || s, 1, 'COMPLETED', md5(i::text || '-' || s), 1000, 990,
       now() - (i * :spread) * interval '1 second' + s * interval '8 seconds',
       now() - (i * :spread) * interval '1 second' + s * interval '8 seconds',
       now() - (i * :spread) * interval '1 second' + (s + 1) * interval '8 seconds'
FROM generate_series(1, 1000) AS i, generate_series(1, 5) AS s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--url", default=None, help="a PostgreSQL server URL (default: tests')")
    args = parser.parse_args()
    from spine_host.storage import migrations
    from spine_host.testing import postgres

    with postgres.temporary_database(args.url) as url, tempfile.TemporaryDirectory() as tmp:
        migrations.upgrade(url)
        started = time.perf_counter()
        _fill(url, args.runs)
        print(f"{args.runs:,} runs written in {time.perf_counter() - started:.1f} s")
        config = Path(tmp) / "spine.toml"
        config.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
        server, port = _serve(config)
        try:
            rows = _measure(port, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
    _report(args, rows)


def _fill(url: str, runs: int) -> None:
    spread = 60 * 86400 / runs  # seconds between two runs: 60 days in all
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(FILL_RUNS), {"runs": runs, "spread": spread})
            connection.execute(sa.text(FILL_STEPS), {"spread": spread})
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("VACUUM ANALYZE")
            )
    finally:
        engine.dispose()


def _serve(config: Path) -> tuple[subprocess.Popen[str], int]:
    spine = Path(sys.executable).with_name("spine")
    server = subprocess.Popen(
        [str(spine), "--config", str(config), "web", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "SPINE_CONFIG": str(config)},
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if "serving http://" not in line:
        raise SystemExit(f"spine web did not start: {line}{server.stdout.read()}")
    return server, int(line.split("serving http://")[1].split()[0].rsplit(":", 1)[1])


def _measure(port: int, requests: int) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    deep = _deep_cursor(connection)
    mix = ["/runs", "/runs?status=FAILED", "/runs?workflow=bench.wf3", f"/runs?before={deep}"]
    for path in mix:  # warm: templates compiled, pools filled, each grid computed once
        _get(connection, path)
    runs = [_time(connection, mix[n % len(mix)]) for n in range(requests)]
    today = date.today()
    cold = [
        _time(connection, f"/runs?until={(today - timedelta(days=n + 1)).isoformat()}")
        for n in range(20)
    ]
    run_ids = [_run_id(n) for n in range(1, 1001)]
    pages = [_time(connection, f"/runs/{run_ids[(n * 37) % 1000]}") for n in range(requests)]
    connection.close()
    return [
        _row(f"runs page ({requests} requests: all, FAILED, one workflow, deep page)", runs),
        _row("runs page, grid not cached (20 requests, each another day)", cold),
        _row(f"run page ({requests} requests over the newest 1,000 runs)", pages),
    ]


def _deep_cursor(connection: http.client.HTTPConnection) -> str:
    """The ``before`` cursor of a page about two thirds down the million runs."""
    body = _get(connection, "/runs")
    marker = "before="
    if marker not in body:
        raise SystemExit("the runs page has no next-page link")
    first = body.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")
    # A cursor is "<started_at ISO>~<run_id>": move its time back 40 days.
    from urllib.parse import quote, unquote

    started, run_id = unquote(first).split("~", 1)
    from datetime import datetime

    earlier = datetime.fromisoformat(started) - timedelta(days=40)
    return quote(f"{earlier.isoformat()}~{run_id}")


def _run_id(n: int) -> str:
    import hashlib

    return hashlib.md5(str(n).encode()).hexdigest()


def _get(connection: http.client.HTTPConnection, path: str) -> str:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read().decode("utf-8", errors="replace")
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status}\n{body[:500]}")
    return body


def _time(connection: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    _get(connection, path)
    return (time.perf_counter() - started) * 1000


def _row(label: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1]
    p50 = statistics.median(times)
    met = "yes" if p95 <= TARGET_MS else "NO"
    return f"| {label} | {p50:.1f} | {p95:.1f} | {max(times):.1f} | <= {TARGET_MS:.0f} | {met} |"


def _report(args: argparse.Namespace, rows: list[str]) -> None:
    header = (
        "# spine-web benchmark\n\n"
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}; "
        f"{args.runs:,} runs in PostgreSQL (20 workflows, 60 days); `spine web` on 127.0.0.1, "
        "one keep-alive HTTP connection from the benchmark process; times in ms, measured by "
        "the client (server time plus a loopback round trip).\n\n"
        "| page | p50 | p95 | max | goal (p95) | met |\n|---|---:|---:|---:|---:|---|\n"
    )
    text = header + "\n".join(rows) + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
