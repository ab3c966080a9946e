"""Fixtures of spine-web's tests: a database filled by really running workflows, ``spine web``
servers on free ports of 127.0.0.1, and a real Chromium driven by Playwright.

- ``demo_project`` (once per session): ``spine db upgrade``, then the README's demo
  (``spine workflows run otc.weekly_refresh -p week_ending=2025-12-26``), a week without data
  (FAILED, NOT_FOUND), and the ``webcheck`` workflows of ``tests/site`` (a retried step, a
  skipped step, ``<script>`` in params, logs and an error), each through the ``spine`` command.
- ``project_copy()``: a directory of its own with a copy of that database, for a server that
  changes it (actions).
- ``serve(project, *options, env=...)``: ``spine web --port 0`` in a subprocess, stopped after
  the test (or the module, with ``module_server``); returns its base URL.
- ``chromium`` (once per session): Debian's Chromium through Playwright. Missing, it skips the
  browser tests with the reason, or fails them when ``SPINE_REQUIRE_BROWSER=1`` (CI).
- ``browser_page``: a fresh browser context and page that records console messages, page
  errors, dialogs and the scripts the page loaded.
"""

from __future__ import annotations

import os
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

SPINE = str(Path(sys.executable).with_name("spine"))
SITE = Path(__file__).parent / "site"
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
CHROMIUM = os.environ.get("SPINE_CHROMIUM", "/usr/bin/chromium")
WEEK = "2025-12-26"
MISSING_WEEK = "2025-11-21"
#: A run param holding markup (the fragile run's ``note``); its error and a log line hold
#: ``alert('error')`` and ``alert('log')`` scripts (see tests/site).
PARAM_SCRIPT = "<script>alert('params')</script>"


def spine_env(**extra: str) -> dict[str, str]:
    """The environment of a ``spine`` subprocess: no SPINE_* of the caller, tests/site added."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def spine(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``spine ARGS`` in ``cwd``; the result, whatever its exit code."""
    return subprocess.run(
        [SPINE, *args],
        cwd=cwd,
        env=env or spine_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_config(directory: Path, storage_url: str, extra: str = "") -> None:
    """A ``spine.toml`` in ``directory`` pointing at ``storage_url``."""
    (directory / "spine.toml").write_text(
        f'[storage]\nurl = "{storage_url}"\n{extra}', encoding="utf-8"
    )


def populate(project: Path) -> None:
    """Fill the project's database by running workflows through ``spine``."""
    (project / "flags").mkdir(exist_ok=True)
    (project / "flags" / "broken").touch()
    steps = [
        (["db", "upgrade"], 0),
        (["workflows", "run", "otc.weekly_refresh", "-p", f"week_ending={WEEK}"], 0),
        (["workflows", "run", "otc.weekly_refresh", "-p", f"week_ending={MISSING_WEEK}"], 1),
        (["workflows", "run", "webcheck.flaky"], 0),
        (
            [
                "workflows",
                "run",
                "webcheck.fragile",
                "-p",
                f"dir={project / 'flags'}",
                "-p",
                f"note={PARAM_SCRIPT}",
            ],
            1,
        ),
    ]
    for args, code in steps:
        result = spine(project, *args)
        assert result.returncode == code, (args, result.stdout, result.stderr)


@attrs.frozen
class DemoRuns:
    """The runs ``populate`` recorded, by what they are."""

    demo: str
    missing_week: str
    flaky: str
    fragile: str


def recorded_runs(database: Path) -> DemoRuns:
    """The run ids of the populated database."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT run_id, workflow, status FROM workflow_runs ORDER BY started_at"
        ).fetchall()
    by_kind = {(workflow, status): run_id for run_id, workflow, status in rows}
    return DemoRuns(
        demo=by_kind[("otc.weekly_refresh", "COMPLETED")],
        missing_week=by_kind[("otc.weekly_refresh", "FAILED")],
        flaky=by_kind[("webcheck.flaky", "COMPLETED")],
        fragile=by_kind[("webcheck.fragile", "FAILED")],
    )


@attrs.frozen
class Project:
    """A directory with a ``spine.toml`` and its SQLite database, and the runs in it."""

    path: Path
    runs: DemoRuns
    #: Where the fragile run looks for its ``broken`` flag (the demo project's ``flags``).
    flags: Path

    @property
    def database(self) -> Path:
        return self.path / "spine.db"


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The populated project, built once per session (never changed by a test)."""
    path = tmp_path_factory.mktemp("demo")
    write_config(path, f"sqlite:///{path / 'spine.db'}")
    populate(path)
    return Project(path, recorded_runs(path / "spine.db"), path / "flags")


@pytest.fixture
def project_copy(demo_project: Project, tmp_path: Path) -> Callable[[], Project]:
    """A copy of the demo project's database in a directory of its own."""

    def copy() -> Project:
        target = tmp_path / f"copy{len(list(tmp_path.glob('copy*')))}"
        target.mkdir()
        with (
            sqlite3.connect(demo_project.database) as source,
            sqlite3.connect(target / "spine.db") as destination,
        ):
            source.backup(destination)
        write_config(target, f"sqlite:///{target / 'spine.db'}")
        return Project(target, demo_project.runs, demo_project.flags)

    return copy


@contextmanager
def running_server(
    project: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``spine web --port 0 OPTIONS`` in ``project``; yields ``http://127.0.0.1:PORT``."""
    process = subprocess.Popen(
        [SPINE, "web", "--port", "0", *options],
        cwd=project,
        env=env or spine_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(process, timeout=60)
        assert line.startswith("spine web: serving http://"), line
        port = line.split("://", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            if line:
                return line.strip()
        if process.poll() is not None:
            raise AssertionError(f"spine web exited {process.returncode}: {process.stderr.read()}")
    raise AssertionError("spine web did not say where it serves within the timeout")


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start servers for one test: ``serve(project_path, *options, env=...)`` -> base URL."""
    with _Servers() as servers:
        yield servers.start


@pytest.fixture(scope="module")
def module_serve() -> Iterator[Callable[..., str]]:
    """As ``serve``, for servers a whole test module shares (stopped after the module)."""
    with _Servers() as servers:
        yield servers.start


@pytest.fixture(scope="module")
def readonly_server(demo_project: Project, module_serve: Callable[..., str]) -> str:
    """A read-only server on 127.0.0.1 over the demo project, for one test module."""
    return module_serve(demo_project.path)


@pytest.fixture(scope="session")
def spine_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``spine_cli(cwd, *args, env=None)``: run the ``spine`` command, tests/site installed."""
    return spine


@pytest.fixture(scope="session")
def spine_executable() -> str:
    """The ``spine`` console script of this environment."""
    return SPINE


@pytest.fixture(scope="session")
def env_for_spine() -> Callable[..., dict[str, str]]:
    """``env_for_spine(**extra)``: the environment of a ``spine`` subprocess."""
    return spine_env


class _Servers:
    def __init__(self) -> None:
        self._stack: list[AbstractContextManager[str]] = []

    def start(self, project: Path, *options: str, env: dict[str, str] | None = None) -> str:
        manager = running_server(project, *options, env=env)
        url = manager.__enter__()
        self._stack.append(manager)
        return url

    def __enter__(self) -> _Servers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        while self._stack:
            self._stack.pop().__exit__(None, None, None)


# -- the browser --------------------------------------------------------------------------------


def browser_problem() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    problem = browser_problem()
    if problem is not None:
        if os.environ.get("SPINE_REQUIRE_BROWSER", "").strip() in {"1", "true", "yes"}:
            pytest.fail(f"SPINE_REQUIRE_BROWSER is set but no browser can run: {problem}")
        pytest.skip(f"browser tests skipped: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


@attrs.define
class WatchedPage:
    """A page and what it did that a test may want to see."""

    page: Any
    console: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    dialogs: list[str] = attrs.field(factory=list)
    scripts: list[str] = attrs.field(factory=list)


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[WatchedPage]:
    """A fresh context and page; console messages, errors, dialogs and scripts recorded."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = WatchedPage(page)
    page.on("console", lambda message: watched.console.append(message.text))
    page.on("pageerror", lambda error: watched.errors.append(str(error)))

    def dialog(opened: Any) -> None:
        watched.dialogs.append(opened.message)
        opened.dismiss()

    page.on("dialog", dialog)
    page.on(
        "request",
        lambda request: (
            watched.scripts.append(request.url) if request.resource_type == "script" else None
        ),
    )
    try:
        yield watched
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Any, str], None]:
    """``screenshot(page, name)``: NAME.png in docs/screenshots/ with SPINE_WEB_SCREENSHOTS=1
    (how the docs' pictures are made), else in the test's temporary directory, so a test run
    leaves the checkout as it was."""

    def take(page: Any, name: str) -> None:
        folder = SCREENSHOTS if os.environ.get("SPINE_WEB_SCREENSHOTS") == "1" else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return take
