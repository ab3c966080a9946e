"""spine-celery against raw Celery, on the same broker in the same run (issue 15).

    python benchmarks/celery_executor.py [--steps 1000] [--broker redis://127.0.0.1:6379/13]
                                         [--storage URL] [--skip-overhead] [--skip-sleep]

1. Per-step overhead: ``--steps`` no-op steps of one workflow (``max_concurrency = 1``, so one
   at a time, as the baseline) through spine-celery on one worker process, against the same
   number of ``apply_async(...).get()`` round trips of a raw Celery no-op task on one worker
   process with the same settings (acks late, prefetch 1, JSON), same broker. Target: spine's
   time per step at most 1.5x raw Celery's round trip.
2. Scale-out: 16 steps sleeping one second each (``max_concurrency = 16``) on 1, 2 and 4
   worker processes. Target: wall time at most 1.25x the ideal (16, 8, 4 s) on 2 and 4.

Everything runs on this machine: the broker (Redis by default, database 13, flushed first),
the history database (a SQLite file by default; ``--storage postgresql+psycopg://...``), the
runner (this process) and ``spine worker --pool solo`` processes (one process each). The
workflows come from a plugin written to a temporary directory and found by the workers
through a ``.dist-info`` entry point, as an installed plugin would be. The table goes to
stdout and ``benchmarks/results/celery_executor.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "celery_executor.md"
SLEEP_STEPS = 16

PLUGIN = '''
"""Workflows of the spine-celery benchmark."""

import time

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow

STEPS = int({steps})


def noop(context, inputs, params):
    return None


def sleep_one(context, inputs, params):
    time.sleep(1.0)
    return None


@hookimpl
def spine_register_workflows(register):
    register(Workflow("bench.warm", [Step("warm", noop)], executor="celery"))
    register(
        Workflow(
            "bench.noop",
            [Step(f"s{{i:04d}}", noop) for i in range(STEPS)],
            max_concurrency=1,
            executor="celery",
        )
    )
    register(
        Workflow(
            "bench.sleep",
            [Step(f"z{{i:02d}}", sleep_one) for i in range({sleep_steps})],
            max_concurrency={sleep_steps},
            executor="celery",
        )
    )
'''

RAW_TASKS = '''
"""The raw Celery baseline: a no-op task, the settings spine-celery uses."""

import os

from celery import Celery

app = Celery("raw", broker=os.environ["BENCH_BROKER"], backend=os.environ["BENCH_BROKER"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="raw",
    worker_redirect_stdouts=False,
)


@app.task(name="raw.noop")
def noop():
    return None
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--storage", default=None, help="history database (default: SQLite file)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-sleep", action="store_true")
    args = parser.parse_args()
    _flush(args.broker)
    with tempfile.TemporaryDirectory(prefix="spine-celery-bench-") as tmp:
        workdir = Path(tmp)
        site = _write_site(workdir, args.steps)
        storage = args.storage or f"sqlite:///{workdir / 'history.db'}"
        (workdir / "spine.toml").write_text(
            f'[storage]\nurl = "{storage}"\n\n'
            f'[executors.celery]\nbroker_url = "{args.broker}"\nqueue = "bench"\n',
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
            "SPINE_CONFIG": str(workdir / "spine.toml"),
            "BENCH_BROKER": args.broker,
        }
        os.environ.update({k: env[k] for k in ("PYTHONPATH", "SPINE_CONFIG", "BENCH_BROKER")})
        sys.path.insert(0, str(site))
        _run([_spine(), "db", "upgrade"], env, workdir)
        rows: list[str] = []
        if not args.skip_overhead:
            rows += _overhead(args.steps, env, workdir)
        if not args.skip_sleep:
            rows += _scale_out(env, workdir)
    _report(args, rows)


def _overhead(steps: int, env: dict[str, str], workdir: Path) -> list[str]:
    raw = _raw_round_trip(steps, env, workdir)
    spine = _spine_per_step(steps, env, workdir)
    ratio = spine / raw
    print(f"raw Celery {raw * 1000:.2f} ms per task; spine-celery {spine * 1000:.2f} ms per step")
    return [
        f"| per-step overhead ({steps} no-op steps, one at a time, 1 worker) | raw Celery "
        f"`apply_async().get()`: {raw * 1000:.2f} ms per task; spine-celery: "
        f"{spine * 1000:.2f} ms per step | {ratio:.2f}x | <= 1.5x | "
        f"{'yes' if ratio <= 1.5 else 'NO'} |"
    ]


def _raw_round_trip(steps: int, env: dict[str, str], workdir: Path) -> float:
    from raw_tasks import app, noop  # type: ignore[import-not-found]

    worker = _start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "raw_tasks",
            "worker",
            "-P",
            "solo",
            "-Q",
            "raw",
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        workdir,
        "raw-worker.log",
    )
    try:
        noop.apply_async().get(timeout=60)  # the worker is up
        for _ in range(50):
            noop.apply_async().get(timeout=10)
        started = time.perf_counter()
        for _ in range(steps):
            noop.apply_async().get(timeout=10)
        elapsed = time.perf_counter() - started
    finally:
        _stop([worker])
        app.close()
    return elapsed / steps


def _spine_per_step(steps: int, env: dict[str, str], workdir: Path) -> float:
    from spine_host.host import Host
    from spine_host.orchestration.runner import WorkflowRunner

    workers = _spine_workers(1, env, workdir)
    try:
        host = Host.from_config(workdir / "spine.toml")
        runner = WorkflowRunner(host)
        warm = runner.run("bench.warm")
        assert warm.status.value == "COMPLETED", warm.error
        started = time.perf_counter()
        run = runner.run("bench.noop")
        elapsed = time.perf_counter() - started
        assert run.status.value == "COMPLETED", run.error
        host.close()
    finally:
        _stop(workers)
    return elapsed / steps


def _scale_out(env: dict[str, str], workdir: Path) -> list[str]:
    from spine_host.host import Host
    from spine_host.orchestration.runner import WorkflowRunner

    rows = []
    for count in (1, 2, 4):
        workers = _spine_workers(count, env, workdir)
        try:
            host = Host.from_config(workdir / "spine.toml")
            runner = WorkflowRunner(host)
            for _ in range(count):  # every worker has started and built its host
                assert runner.run("bench.warm").status.value == "COMPLETED"
            started = time.perf_counter()
            run = runner.run("bench.sleep")
            wall = time.perf_counter() - started
            assert run.status.value == "COMPLETED", run.error
            used = {
                row["worker"]
                for row in host.storage.query(
                    "SELECT DISTINCT worker FROM workflow_steps WHERE run_id = :run_id",
                    {"run_id": run.run_id},
                )
            }
            host.close()
        finally:
            _stop(workers)
        ideal = SLEEP_STEPS / count
        ratio = wall / ideal
        goal = "<= 1.25x" if count > 1 else "-"
        met = "-" if count == 1 else ("yes" if ratio <= 1.25 else "NO")
        print(f"{count} worker(s): {wall:.2f} s for {SLEEP_STEPS} one-second steps ({ratio:.2f}x)")
        rows.append(
            f"| {SLEEP_STEPS} one-second steps on {count} worker process(es) ({len(used)} used) "
            f"| {wall:.2f} s (ideal {ideal:.0f} s) | {ratio:.2f}x | {goal} | {met} |"
        )
    return rows


def _spine_workers(count: int, env: dict[str, str], workdir: Path) -> list[subprocess.Popen[bytes]]:
    return [
        _start(
            [_spine(), "worker", "--pool", "solo", "--queues", "bench", "--loglevel", "WARNING"],
            env,
            workdir,
            f"spine-worker-{index}.log",
        )
        for index in range(count)
    ]


def _write_site(workdir: Path, steps: int) -> Path:
    site = workdir / "site"
    package = site / "spine_bench_steps"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        PLUGIN.format(steps=steps, sleep_steps=SLEEP_STEPS), encoding="utf-8"
    )
    dist = site / "spine_bench_steps-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: spine-bench-steps\nVersion: 0.1.0\n"
        "Requires-Dist: spine-host>=0.1\n",
        encoding="utf-8",
    )
    (dist / "entry_points.txt").write_text(
        "[spine]\nbench_steps = spine_bench_steps\n", encoding="utf-8"
    )
    (site / "raw_tasks.py").write_text(textwrap.dedent(RAW_TASKS), encoding="utf-8")
    return site


def _start(
    command: list[str], env: dict[str, str], workdir: Path, log: str
) -> subprocess.Popen[bytes]:
    with (workdir / log).open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=out)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run(command: list[str], env: dict[str, str], workdir: Path) -> None:
    subprocess.run(command, env=env, cwd=workdir, check=True, capture_output=True)


def _spine() -> str:
    found = shutil.which("spine", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("spine is not installed next to this Python")
    return found


def _flush(broker: str) -> None:
    import redis

    if broker.startswith("redis"):
        redis.Redis.from_url(broker).flushdb()


def _report(args: argparse.Namespace, rows: list[str]) -> None:
    header = textwrap.dedent(
        f"""\
        # spine-celery benchmark

        Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()};
        broker {args.broker}; history {args.storage or "a SQLite file"}; runner in the
        benchmark process; workers `spine worker --pool solo` (one process each); raw
        Celery: one `celery worker -P solo` with the same settings, same broker.

        | measure | result | ratio | goal | met |
        |---|---|---:|---:|---|
        """
    )
    text = header + "\n".join(rows) + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
