"""Start-up time of the ``spine`` command against ``python -c "import click"``.

    python benchmarks/startup.py [--runs 20]

Times ``spine --help``, ``spine plugins`` and ``spine runs list`` with every plugin of this
repository installed, in a temporary directory holding a ``spine.toml`` and a SQLite database
migrated by ``spine db upgrade``. Each run of a command is paired with a run of
``python -c "import click"`` just before it, so a burst of load elsewhere hits both alike; each
process is timed from spawn to exit. The ratio reported is the median of the ``--runs`` paired
ratios, against the targets of issue 14 (``--help`` at most 2x, the others at most 4x); the
table goes to stdout and ``benchmarks/results/startup.md``.

Bytecode caching is on, in a temporary ``PYTHONPYCACHEPREFIX``, and every command runs once
before timing starts, so measured runs read compiled modules as an installed spine does (the
sessions of this repository set ``PYTHONDONTWRITEBYTECODE``, which would compile every spine
module on every run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "startup.md"
PYTHON = sys.executable
SPINE = str(Path(sys.executable).with_name("spine"))
BASELINE = [PYTHON, "-c", "import click"]
# label, arguments, goal (ratio to the baseline)
COMMANDS: list[tuple[str, list[str], float]] = [
    ("spine --help", ["--help"], 2.0),
    ("spine plugins", ["plugins"], 4.0),
    ("spine runs list", ["runs", "list"], 4.0),
]


def environment(pycache: Path) -> dict[str, str]:
    """The caller's environment without SPINE_* settings, with bytecode cached in ``pycache``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SPINE_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds from spawn to exit; a failing command stops the benchmark."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def prepare(workdir: Path, env: dict[str, str]) -> None:
    """A spine.toml and a migrated SQLite database in ``workdir``."""
    (workdir / "spine.toml").write_text('[storage]\nurl = "sqlite:///spine.db"\n')
    timed([SPINE, "db", "upgrade"], workdir, env)


def measure(runs: int, workdir: Path, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """For each command: median seconds of it and of its paired baselines, and the median of
    the paired ratios."""
    for _, args, _ in COMMANDS:  # warm-up: bytecode written, files in the page cache
        timed([SPINE, *args], workdir, env)
    timed(BASELINE, workdir, env)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in COMMANDS}
    for run in range(1, runs + 1):
        print(f"run {run} of {runs}", file=sys.stderr)
        for label, args, _ in COMMANDS:
            baseline = timed(BASELINE, workdir, env)
            samples[label].append((timed([SPINE, *args], workdir, env), baseline))
    return {
        label: {
            "seconds": statistics.median(spine for spine, _ in pairs),
            "baseline": statistics.median(base for _, base in pairs),
            "ratio": statistics.median(spine / base for spine, base in pairs),
        }
        for label, pairs in samples.items()
    }


def report(results: dict[str, dict[str, float]], runs: int) -> str:
    """The markdown table of times, ratios and targets."""
    lines = [
        "# Start-up benchmark",
        "",
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}; every "
        "plugin of this repository installed (spine-postgres, spine-db2, spine-http, "
        "spine-slack, spine-servicenow, spine-otc). Each command ran in a directory holding a "
        "`spine.toml` and a migrated SQLite database, "
        f'{runs} times, each run paired with a run of `python -c "import click"` just before '
        "it; times are medians, the ratio is the median of the paired ratios. Bytecode cached, "
        "one warm-up run each.",
        "",
        "| command | median (ms) | `import click` (ms) | ratio | goal | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, _, goal in COMMANDS:
        found = results[label]
        met = "yes" if found["ratio"] <= goal else "NO"
        lines.append(
            f"| `{label}` | {found['seconds'] * 1000:.0f} | {found['baseline'] * 1000:.0f} | "
            f"{found['ratio']:.2f} | <= {goal:g} | {met} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Prepare the directory, time every command, print and write the markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="paired runs per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spine-startup-") as folder:
        workdir = Path(folder) / "work"
        workdir.mkdir()
        env = environment(Path(folder) / "pycache")
        prepare(workdir, env)
        results = measure(args.runs, workdir, env)
    text = report(results, args.runs)
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
