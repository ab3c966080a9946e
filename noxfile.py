"""Developer and CI sessions. `nox` runs the defaults: whole suite, bare host, lint, types.

Run from the environment the README's install command creates (`.venv`): the sessions marked
`venv_backend="none"` use it as it is; `tests_bare` builds its own environment with spine-host
alone, proving the host works with no plugin installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "tests_bare", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True

# The bare session proves the host works alone; the slow process-level tests (kill -9, 40 s
# locks, real `spine` subprocesses) prove the same code in the main session, so they are not
# run twice: the whole `nox` stays under ten minutes.
BARE_MARKERS = "not shipped_plugins and not postgres and not slow"


# A third-party plugin (source type "ticker", as in the README) "installed" for the main
# session: the host's tests must pass whatever else is installed (tests/third_party_site).
THIRD_PARTY_SITE = str(Path(__file__).parent / "tests" / "third_party_site")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Every distribution's tests (host, plugins, examples) in the installed environment, with
    a third-party plugin installed beside them."""
    path = os.pathsep.join(filter(None, [THIRD_PARTY_SITE, os.environ.get("PYTHONPATH")]))
    session.run("python", "-m", "pytest", *session.posargs, env={"PYTHONPATH": path})


@nox.session
def tests_bare(session: nox.Session) -> None:
    """The host's own tests with spine-host installed alone: no plugin distribution present."""
    # aiosmtpd: the email channel's tests talk to a real local SMTP server (a test tool, not a
    # plugin; the host stays alone).
    session.install(".", "pytest>=8", "hatchling>=1.21", "aiosmtpd>=1.4", "hypothesis>=6.100")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests",
        "-m",
        BARE_MARKERS,
        *session.posargs,
        env={"SPINE_REQUIRE_POSTGRES": ""},
    )


@nox.session(venv_backend="none")
def fuzz(session: nox.Session) -> None:
    """The property-based tests with the long hypothesis profile: thousands of fresh random
    examples per property (a few minutes). The default sessions run a short, fixed profile."""
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/test_fuzz_config.py",
        "tests/test_fuzz_file_source.py",
        *session.posargs,
        env={"SPINE_FUZZ_PROFILE": "long"},
    )


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff lint and format check over the whole repository."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on spine_host (configured in pyproject.toml)."""
    session.run("mypy")


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Regenerate docs/hooks.md from the hook specifications."""
    with open("docs/hooks.md", "w", encoding="utf-8") as out:
        session.run("python", "-m", "spine_host._hookdoc", stdout=out)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Run the benchmarks (minutes; needs PostgreSQL). Never part of the default sessions."""
    for script in sorted(__import__("pathlib").Path("benchmarks").glob("*.py")):
        session.run("python", str(script), *session.posargs)
