"""Names and ids a user typed that match nothing: exit 2, and the echo of the name stays short."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from spine_host.cli import cli

LONG = "x" * 100_000


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "spine.toml"
    path.write_text('[storage]\nurl = "sqlite:///spine.db"\n')
    assert CliRunner().invoke(cli, ["--config", str(path), "db", "upgrade"]).exit_code == 0
    return path


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["pipelines", "run"], "unknown pipeline 'nope'"),
        (["pipelines", "show"], "no execution 'nope'"),
        (["workflows", "run"], "unknown workflow 'nope'"),
        (["workflows", "show"], "unknown workflow 'nope'"),
        (["schedules", "run-now"], "no schedule named 'nope'"),
        (["schedules", "pause"], "no schedule named 'nope'"),
        (["sources", "preview"], "no source named 'nope'"),
        (["alerts", "test"], "no alert channel named 'nope'"),
        (["runs", "show"], "no workflow run 'nope'"),
    ],
)
def test_an_unknown_name_exits_2_naming_it_and_a_huge_one_is_cut(
    config: Path, command: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), *command, "nope"])
    assert result.exit_code == 2, result.output
    assert message in result.output

    huge = CliRunner().invoke(cli, ["--config", str(config), *command, LONG])
    assert huge.exit_code == 2
    assert "(100000 characters)" in huge.output
    assert len(huge.output) < 2_000
