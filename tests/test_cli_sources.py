"""`spine sources types|preview` as a user runs them, against a spine.toml and real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from spine_host.cli import cli

HEADER = "week_ending|tier|symbol|total_shares"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    data = tmp_path / "data" / "otc"
    data.mkdir(parents=True)
    rows = [f"2025-12-26|NMS_TIER_1|SYM{n}|{n * 100}" for n in range(1, 8)]
    (data / "week1.psv").write_text("\n".join([HEADER, *rows[:4], "broken|row"]) + "\n")
    (data / "week2.psv").write_text("\n".join([HEADER, *rows[4:]]) + "\n")
    (tmp_path / "spine.toml").write_text(
        f"""
[storage]
url = "sqlite://"

[sources.otc_files]
type = "file"
path = "{data.as_posix()}/*.psv"

[sources.missing]
type = "file"
path = "{(tmp_path / "nowhere.csv").as_posix()}"
"""
    )
    return tmp_path / "spine.toml"


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_preview_prints_a_table_of_typed_rows(project: Path) -> None:
    result = run(project, "sources", "preview", "otc_files", "-n", "5")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["week_ending", "tier", "symbol", "total_shares"]
    table = lines[2:7]
    assert [line.split()[2] for line in table] == ["SYM1", "SYM2", "SYM3", "SYM4", "SYM5"]
    assert "columns: week_ending: date, tier: str, symbol: str, total_shares: int" in result.output
    assert "5 of 7 row(s) shown; 1 reject(s)" in result.output
    assert "week1.psv:6" in result.output


def test_preview_json_has_typed_values_and_the_rejects_count(project: Path) -> None:
    result = run(project, "sources", "preview", "otc_files", "-n", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rows"] == [
        {"week_ending": "2025-12-26", "tier": "NMS_TIER_1", "symbol": "SYM1", "total_shares": 100},
        {"week_ending": "2025-12-26", "tier": "NMS_TIER_1", "symbol": "SYM2", "total_shares": 200},
    ]
    assert data["columns"]["week_ending"] == "date"
    assert data["row_count"] == 7
    assert data["rejects"] == 1


def test_preview_of_a_failing_source_prints_the_classified_error_and_exits_1(
    project: Path,
) -> None:
    result = run(project, "sources", "preview", "missing")
    assert result.exit_code == 1
    assert "[NOT_FOUND]" in result.output
    assert "nowhere.csv" in result.output


def test_preview_of_an_unknown_source_is_a_usage_error(project: Path) -> None:
    result = run(project, "sources", "preview", "nope")
    assert result.exit_code == 2
    assert "no source named 'nope'" in result.output


def test_types_lists_the_file_source_with_its_plugin_and_keys(project: Path) -> None:
    result = run(project, "sources", "types", "--json")
    assert result.exit_code == 0, result.output
    by_type = {entry["type"]: entry for entry in json.loads(result.output)}
    assert by_type["file"]["plugin"] == "builtin.sources"
    keys = {key["name"]: key["required"] for key in by_type["file"]["config_keys"]}
    assert keys["path"] is True  # structured in JSON; the table marks it path*
    assert keys["types"] is False
    table = run(project, "sources", "types")
    assert table.output.splitlines()[0].split()[:2] == ["TYPE", "PLUGIN"]
    [file_row] = [line for line in table.output.splitlines() if line.startswith("file ")]
    assert "path*" in file_row
    assert "types," in file_row
