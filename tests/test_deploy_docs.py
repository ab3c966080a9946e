"""docs/deploy: the compose file runs commands that exist, and every monitoring query in its
README runs on a PostgreSQL database migrated to head."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from spine_host.cli import cli
from spine_host.storage import migrations
from spine_host.testing import postgres

# PyYAML is a dev requirement (the main session has it), not a dependency of the bare host.
yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install pyyaml)")

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"


def _spine_commands() -> dict[str, list[str]]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return {
        name: service["command"]
        for name, service in compose["services"].items()
        if isinstance(service.get("command"), list) and service["command"][0] == "spine"
    }


def test_the_compose_file_runs_a_migration_workers_and_two_schedulers() -> None:
    commands = _spine_commands()
    assert commands["migrate"] == ["spine", "db", "upgrade"]
    assert commands["worker"][:2] == ["spine", "worker"]
    schedulers = [
        name for name, command in commands.items() if command[1:3] == ["scheduler", "run"]
    ]
    assert len(schedulers) == 2


@pytest.mark.shipped_plugins
@pytest.mark.parametrize("service", ["migrate", "worker", "scheduler-a"])
def test_each_spine_command_of_the_compose_file_parses(service: str) -> None:
    """Its options exist: ``--help`` appended is accepted (exit 0) by the real command line."""
    command = _spine_commands()[service]
    result = CliRunner().invoke(cli, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output


def _monitoring_queries() -> list[str]:
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    return re.findall(r"`(SELECT [^`]+)`", text)


def test_the_readme_has_monitoring_queries() -> None:
    assert len(_monitoring_queries()) >= 5


def test_every_monitoring_query_runs_on_postgresql(postgres_url: str) -> None:
    del postgres_url  # PostgreSQL answers (or the test fails in CI); use a database of our own
    with postgres.temporary_database() as url:
        migrations.upgrade(url)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                for query in _monitoring_queries():
                    connection.execute(sa.text(query)).all()
        finally:
            engine.dispose()
