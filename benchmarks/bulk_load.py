"""Bulk load throughput on PostgreSQL: ``PostgresAdapter.bulk_insert`` vs raw COPY vs executemany.

Loads 1,000,000 rows x 5 columns (int, bigint, float, text, timestamptz) into a fresh temporary
database, in one run:

- ``bulk_insert`` from dicts and from an Arrow table (spine-postgres: binary COPY, declared types);
- raw psycopg binary COPY with ``set_types`` on the same rows (tuples, and the same dicts);
- SQLAlchemy Core ``insert()`` executemany, on a 100,000-row sample (it is too slow for a
  million); its rows/s is a rate, so the comparison holds, and the output says so.

Each case runs in its own Python process, so one case's leftovers never count against another's
memory. Peak memory is the process's resident-set high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs`` just before the load) minus what was resident before the load; for the
Arrow case it is also compared with the Arrow data's own size (the data is read from an Arrow
file, so no Python objects are left over from building it).

Run on demand, never in tests::

    .venv/bin/python benchmarks/bulk_load.py [--rows 1000000] [--sample 100000]

Prints a markdown table and writes it to ``benchmarks/results/bulk_load.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "bulk_load.md"
TABLE = "bench_load"
COLUMNS = ("id", "big", "value", "label", "at")
COPY_TYPES = ["int4", "int8", "float8", "text", "timestamptz"]
CREATE_TABLE = f"CREATE TABLE {TABLE} (id int4, big int8, value float8, label text, at timestamptz)"
_START = datetime(2025, 1, 1, tzinfo=UTC)


def main() -> None:
    """Create the database and the data, run every case in a child process, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000, help="rows for executemany")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--arrow-file", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.case:
        result = CASES[arguments.case](arguments.url, arguments.rows, arguments.arrow_file)
        print(json.dumps(result))
        return
    report = run_all(arguments.rows, arguments.sample)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report + "\n", encoding="utf-8")
    print(f"\nwritten to {RESULTS}")


def run_all(rows: int, sample: int) -> str:
    """Run every case against one temporary database and return the markdown report."""
    import psycopg
    import pyarrow as pa

    from spine_host.testing.postgres import temporary_database

    with tempfile.TemporaryDirectory() as scratch, temporary_database() as url:
        arrow_file = str(Path(scratch) / "rows.arrow")
        data = arrow_table(rows)
        with pa.OSFile(arrow_file, "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
            writer.write_table(data)
        del data
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(CREATE_TABLE)
        results: dict[str, dict[str, Any]] = {}
        for case, count in [
            ("raw COPY, tuples", rows),
            ("raw COPY, dicts", rows),
            ("bulk_insert, dicts", rows),
            ("bulk_insert, Arrow table", rows),
            ("SQLAlchemy executemany, dicts", sample),
        ]:
            # Best of two runs: the machine is shared with the server, and a first run also
            # pays for the table's first file extensions.
            for _ in range(2):
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"TRUNCATE {TABLE}")
                    connection.execute("CHECKPOINT")
                result = run_case(case, url, count, arrow_file)
                with psycopg.connect(url) as connection:
                    stored = connection.execute(
                        f"SELECT count(*), max(big) FROM {TABLE}"
                    ).fetchone()
                if stored != (count, big_value(count - 1)):
                    raise SystemExit(f"{case}: table holds {stored}, expected {count} rows")
                if case not in results or result["seconds"] < results[case]["seconds"]:
                    results[case] = result
    return render(results, rows, sample)


def run_case(case: str, url: str, rows: int, arrow_file: str) -> dict[str, Any]:
    """One case in a fresh interpreter; returns its measurements."""
    command = [sys.executable, __file__, "--case", case, "--url", url, "--rows", str(rows)]
    command += ["--arrow-file", arrow_file]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"case {case!r} failed:\n{finished.stderr}")
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


# -- the data ---------------------------------------------------------------------------------


def big_value(index: int) -> int:
    """Bigint values well past 2**31, so an int4 encoding would be wrong."""
    return index * 2**20 + 7


def row_tuples(rows: int) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``COLUMNS`` order."""
    return [
        (i, big_value(i), i * 0.5, f"label-{i % 1000}-{i}", _START + timedelta(seconds=i))
        for i in range(rows)
    ]


def row_dicts(rows: int) -> list[dict[str, Any]]:
    """The same rows as dicts."""
    return [dict(zip(COLUMNS, row, strict=True)) for row in row_tuples(rows)]


def arrow_table(rows: int) -> Any:
    """The same rows as an Arrow table (written to an Arrow file once, read by the Arrow case)."""
    import pyarrow as pa

    tuples = row_tuples(rows)
    arrays = [
        pa.array([row[0] for row in tuples], pa.int32()),
        pa.array([row[1] for row in tuples], pa.int64()),
        pa.array([row[2] for row in tuples], pa.float64()),
        pa.array([row[3] for row in tuples], pa.string()),
        pa.array([row[4] for row in tuples], pa.timestamp("us", tz="UTC")),
    ]
    return pa.Table.from_arrays(arrays, names=list(COLUMNS))


# -- the cases (each runs in a child process) -------------------------------------------------


def case_raw_copy_tuples(url: str, rows: int, arrow_file: str) -> dict[str, Any]:
    """psycopg binary COPY with declared types, from tuples: the ceiling."""
    data = row_tuples(rows)
    return measure(lambda: raw_copy(url, data), rows)


def case_raw_copy_dicts(url: str, rows: int, arrow_file: str) -> dict[str, Any]:
    """The same COPY fed from the dicts bulk_insert receives (itemgetter to tuples)."""
    data = row_dicts(rows)
    to_tuple = itemgetter(*COLUMNS)
    return measure(lambda: raw_copy(url, (to_tuple(row) for row in data)), rows)


def case_bulk_insert_dicts(url: str, rows: int, arrow_file: str) -> dict[str, Any]:
    """spine-postgres ``bulk_insert`` from dicts."""
    from spine_postgres.adapter import PostgresAdapter

    data = row_dicts(rows)
    adapter = PostgresAdapter(url)
    adapter.query("SELECT 1")  # connect before timing, like the raw case's connect is cheap
    result = measure(lambda: adapter.bulk_insert(TABLE, data), rows)
    adapter.close()
    return result


def case_bulk_insert_arrow(url: str, rows: int, arrow_file: str) -> dict[str, Any]:
    """spine-postgres ``bulk_insert`` from an Arrow table; memory compared with the data."""
    import pyarrow as pa
    import pyarrow.compute  # loaded before the baseline, as in a running app
    from spine_postgres.adapter import PostgresAdapter

    adapter = PostgresAdapter(url)
    adapter.query("SELECT 1")
    resident_before_data = resident_kib()
    with pa.OSFile(arrow_file) as source:  # read into memory, not memory-mapped
        table = pa.ipc.open_file(source).read_all()
    result = measure(lambda: adapter.bulk_insert(TABLE, table), rows)
    result["arrow_bytes"] = table.nbytes
    result["peak_over_base_bytes"] = (result["hwm_kib"] - resident_before_data) * 1024
    adapter.close()
    return result


def case_executemany(url: str, rows: int, arrow_file: str) -> dict[str, Any]:
    """SQLAlchemy Core ``insert()`` executemany (insertmanyvalues batches), from dicts."""
    import sqlalchemy as sa

    data = row_dicts(rows)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)

    def load() -> None:
        with engine.begin() as connection:
            connection.execute(sa.insert(table), data)

    result = measure(load, rows)
    engine.dispose()
    return result


CASES: dict[str, Callable[[str, int, str], dict[str, Any]]] = {
    "raw COPY, tuples": case_raw_copy_tuples,
    "raw COPY, dicts": case_raw_copy_dicts,
    "bulk_insert, dicts": case_bulk_insert_dicts,
    "bulk_insert, Arrow table": case_bulk_insert_arrow,
    "SQLAlchemy executemany, dicts": case_executemany,
}


def raw_copy(url: str, rows: Iterator[Any] | list[Any]) -> None:
    """Binary COPY with ``set_types``, in one transaction."""
    import psycopg

    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        statement = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(statement) as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)


def measure(load: Callable[[], object], rows: int) -> dict[str, Any]:
    """Time ``load`` and record the resident-set peak it adds."""
    reset_peak()
    resident = resident_kib()
    started = time.perf_counter()
    load()
    seconds = time.perf_counter() - started
    hwm = peak_kib()
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "hwm_kib": hwm,
        "peak_added_bytes": max(0, hwm - resident) * 1024,
    }


def reset_peak() -> None:
    """Reset the kernel's resident-set high-water mark for this process (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def resident_kib() -> int:
    """Current resident set size in KiB."""
    return _status_kib("VmRSS")


def peak_kib() -> int:
    """Resident-set high-water mark since the last reset, in KiB."""
    return _status_kib("VmHWM")


def _status_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1))


# -- the report -------------------------------------------------------------------------------


def render(results: dict[str, dict[str, Any]], rows: int, sample: int) -> str:
    """The markdown table, the ratios and the Arrow memory ratio."""
    import psycopg
    import sqlalchemy

    lines = [
        "## Bulk load into PostgreSQL (benchmarks/bulk_load.py)",
        "",
        f"{rows:,} rows x 5 columns (int4, int8, float8, text, timestamptz), one transaction per "
        f"load, fresh temporary database; SQLAlchemy executemany measured on {sample:,} rows "
        "(its rows/s is a rate, so the ratio holds; the 1M-row time is scaled from it).",
        "",
        "Best of two runs per load.",
        "",
        "| load | rows | seconds | rows/s | peak memory added |",
        "|---|---:|---:|---:|---:|",
    ]
    for case, result in results.items():
        seconds = result["seconds"]
        shown = f"{seconds:.2f}"
        if result["rows"] != rows:
            shown += f" (x{rows // result['rows']} = {seconds * rows / result['rows']:.1f})"
        lines.append(
            f"| {case} | {result['rows']:,} | {shown} | {result['rows_per_second']:,.0f} | "
            f"{result['peak_added_bytes'] / 2**20:,.0f} MiB |"
        )
    rate = {case: result["rows_per_second"] for case, result in results.items()}
    arrow = results["bulk_insert, Arrow table"]
    copy_ratio = rate["bulk_insert, dicts"] / rate["raw COPY, dicts"]
    arrow_copy_ratio = rate["bulk_insert, Arrow table"] / rate["raw COPY, tuples"]
    many_ratio = rate["bulk_insert, dicts"] / rate["SQLAlchemy executemany, dicts"]
    memory_ratio = arrow["peak_over_base_bytes"] / arrow["arrow_bytes"]
    lines += [
        "",
        "| ratio | value | target |",
        "|---|---:|---:|",
        f"| bulk_insert / raw COPY (both from the same dicts) | {copy_ratio:.2f} | >= 0.8 |",
        f"| bulk_insert (dicts) / raw COPY (tuples, no dict step) | "
        f"{rate['bulk_insert, dicts'] / rate['raw COPY, tuples']:.2f} | - |",
        f"| bulk_insert (Arrow) / raw COPY (tuples) | {arrow_copy_ratio:.2f} | - |",
        f"| bulk_insert (dicts) / SQLAlchemy executemany | {many_ratio:.1f} | >= 10 |",
        f"| peak memory of the Arrow load / Arrow data size "
        f"({arrow['peak_over_base_bytes'] / 2**20:,.0f} MiB / {arrow['arrow_bytes'] / 2**20:,.0f}"
        f" MiB) | {memory_ratio:.2f} | < 1.5 |",
        "",
        f"Python {platform.python_version()}, psycopg {psycopg.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, {platform.machine()}; peak memory is the "
        "resident-set high-water mark above what was resident before the load (the Arrow "
        "ratio counts from before the Arrow data was read, so it includes the data itself).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
