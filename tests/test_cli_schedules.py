"""``spine schedules list|next`` and ``spine config check`` on schedules, as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from spine_host import Host, Schedule, hookimpl
from spine_host.cli.context import CliState
from spine_host.cli.schedules import schedules_group
from spine_host.config import parse_config
from spine_host.orchestration.workflow import Step, Workflow
from tests.plugin_distributions import spine


class WeeklyPlugin:
    """The shape of the OTC example: a workflow and its Wednesday schedule, in New York."""

    @hookimpl
    def spine_register_workflows(self, register):
        register(Workflow("otc.weekly_refresh", [Step("only", lambda ctx, inputs, p: None)]))

    @hookimpl
    def spine_register_schedules(self, register):
        register(
            Schedule(
                "otc.weekly",
                workflow="otc.weekly_refresh",
                cron="0 6 * * WED",
                timezone="America/New_York",
                params={"week_ending": "{logical_date:%Y-%m-%d}"},
            )
        )


TOML_SCHEDULES = {
    "hourly": {"workflow": "otc.weekly_refresh", "interval": "1h", "overlap": "queue"},
    "paused": {"workflow": "otc.weekly_refresh", "cron": "0 * * * *", "enabled": False},
}


@pytest.fixture
def state() -> Iterator[CliState]:
    host = Host(
        config=parse_config({"schedules": TOML_SCHEDULES}),
        plugins=[WeeklyPlugin()],
        load_entrypoints=False,
        storage_url="sqlite://",
    )
    yield CliState(config_path=None, host=host)
    host.close()


def invoke(state: CliState, *args: str) -> Result:
    return CliRunner().invoke(schedules_group, list(args), obj=state, catch_exceptions=False)


# -- next -----------------------------------------------------------------------------------------


def test_next_lists_five_wednesdays_at_six_local_across_the_dst_change(state: CliState) -> None:
    result = invoke(state, "next", "otc.weekly", "--count", "5", "--after", "2026-02-26T00:00Z")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SCHEDULE", "LOCAL", "ZONE", "UTC", "PARAMS"]
    rows = [line.split() for line in lines[2:]]
    assert [row[1:5] for row in rows] == [
        ["Wed", "2026-03-04", "06:00:00", "-05:00"],
        ["Wed", "2026-03-11", "06:00:00", "-04:00"],
        ["Wed", "2026-03-18", "06:00:00", "-04:00"],
        ["Wed", "2026-03-25", "06:00:00", "-04:00"],
        ["Wed", "2026-04-01", "06:00:00", "-04:00"],
    ]
    assert [" ".join(row[6:8]) for row in rows] == [
        "2026-03-04 11:00:00",
        "2026-03-11 10:00:00",
        "2026-03-18 10:00:00",
        "2026-03-25 10:00:00",
        "2026-04-01 10:00:00",
    ]
    assert rows[0][-1] == "week_ending=2026-03-04"


def test_next_json_gives_local_time_offset_utc_and_params(state: CliState) -> None:
    result = invoke(state, "next", "otc.weekly", "--count", "2", "--json", "--after", "2026-03-05")
    assert json.loads(result.stdout) == [
        {
            "schedule": "otc.weekly",
            "local": "2026-03-11T06:00:00-04:00",
            "timezone": "America/New_York",
            "utc_offset": "-04:00",
            "utc": "2026-03-11T10:00:00+00:00",
            "params": {"week_ending": "2026-03-11"},
        },
        {
            "schedule": "otc.weekly",
            "local": "2026-03-18T06:00:00-04:00",
            "timezone": "America/New_York",
            "utc_offset": "-04:00",
            "utc": "2026-03-18T10:00:00+00:00",
            "params": {"week_ending": "2026-03-18"},
        },
    ]


def test_next_without_a_name_merges_enabled_schedules_in_time_order(state: CliState) -> None:
    result = invoke(state, "next", "--count", "4", "--json", "--after", "2026-03-04T08:30Z")
    fires = [(fire["schedule"], fire["utc"]) for fire in json.loads(result.stdout)]
    assert fires == [
        ("hourly", "2026-03-04T09:00:00+00:00"),
        ("hourly", "2026-03-04T10:00:00+00:00"),
        ("hourly", "2026-03-04T11:00:00+00:00"),
        ("otc.weekly", "2026-03-04T11:00:00+00:00"),
    ]  # "paused" is disabled: it never appears


def test_next_for_an_unknown_schedule_exits_2_naming_the_known_ones(state: CliState) -> None:
    result = invoke(state, "next", "otc.monthly")
    assert result.exit_code == 2
    assert "no schedule named 'otc.monthly'" in result.stderr
    assert "otc.weekly" in result.stderr


def test_next_refuses_an_after_that_is_no_date(state: CliState) -> None:
    result = invoke(state, "next", "otc.weekly", "--after", "last tuesday")
    assert result.exit_code == 2
    assert "--after" in result.stderr


def test_the_after_option_is_not_advertised(state: CliState) -> None:
    assert "--after" not in invoke(state, "next", "--help").stdout


# -- list -----------------------------------------------------------------------------------------


def test_list_shows_every_schedule_with_its_policies_and_origin(state: CliState) -> None:
    result = invoke(state, "list")
    assert result.exit_code == 0, result.output
    header, _, *rows = result.stdout.splitlines()
    assert header.split() == [
        "NAME", "TARGET", "TRIGGER", "ZONE", "CATCH-UP", "OVERLAP", "AFTER", "STATE",
        "LAST", "FIRE", "(UTC)", "DEADLINE", "FROM",
    ]  # fmt: skip
    by_name = {row.split()[0]: row for row in rows}
    assert set(by_name) == {"hourly", "otc.weekly", "paused"}
    assert "workflow otc.weekly_refresh" in by_name["otc.weekly"]
    assert "cron 0 6 * * WED" in by_name["otc.weekly"]
    assert "America/New_York" in by_name["otc.weekly"]
    assert "every 1h" in by_name["hourly"]
    assert "queue" in by_name["hourly"]
    # No scheduler has written to this database: no last fire yet.
    assert by_name["hourly"].split()[-4:] == ["enabled", "-", "-", "spine.toml"]
    assert by_name["paused"].split()[-4:] == ["disabled", "-", "-", "spine.toml"]


def test_list_json_has_the_full_definition(state: CliState) -> None:
    listed = {item["name"]: item for item in json.loads(invoke(state, "list", "--json").stdout)}
    weekly = listed["otc.weekly"]
    assert weekly["cron"] == "0 6 * * WED"
    assert weekly["timezone"] == "America/New_York"
    assert weekly["params"] == {"week_ending": "{logical_date:%Y-%m-%d}"}
    assert weekly["catchup"] == "latest"
    assert weekly["enabled"] is True
    assert listed["hourly"]["interval"] == 3600


# -- spine config check -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('pipeline = "p"\ncron = "61 * * * *"\n', "schedules.nightly.cron = '61 * * * *'"),
        (
            'pipeline = "p"\ncron = "0 6 * * *"\ntimezone = "Mars/Olympus"\n',
            "schedules.nightly.timezone = 'Mars/Olympus'",
        ),
        ('pipeline = "p"\ncron = "0 6 * * *"\ncronn = "x"\n', "schedules.nightly.cronn"),
    ],
    ids=["bad-cron", "unknown-zone", "unknown-key"],
)
def test_spine_config_check_refuses_a_bad_schedule_table_with_exit_2(
    tmp_path: Path, table: str, words: str
) -> None:
    config = tmp_path / "spine.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/spine.db"\n[schedules.nightly]\n{table}',
        encoding="utf-8",
    )
    result = spine("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert words in result.stderr


def config_check(schedules: dict[str, dict[str, object]]) -> Result:
    """``spine config check`` with the weekly plugin installed and these [schedules] tables."""
    from spine_host.cli.config import config_group

    host = Host(
        config=parse_config({"schedules": schedules}),
        plugins=[WeeklyPlugin()],
        load_entrypoints=False,
        storage_url="sqlite://",
    )
    with host:
        state = CliState(config_path=None, host=host)
        return CliRunner().invoke(config_group, ["check"], obj=state, catch_exceptions=False)


def test_config_check_refuses_a_schedule_whose_target_is_not_registered() -> None:
    result = config_check({"nightly": {"pipeline": "no.such.pipeline", "cron": "0 6 * * *"}})
    assert result.exit_code == 2
    assert "schedule 'nightly': pipeline 'no.such.pipeline': not a registered" in result.stderr


def test_config_check_refuses_an_after_cycle_naming_the_path() -> None:
    target = {"workflow": "otc.weekly_refresh", "cron": "0 6 * * *"}
    result = config_check(
        {"nightly": {**target, "after": ["late"]}, "late": {**target, "after": ["nightly"]}}
    )
    assert result.exit_code == 2
    assert "cycle: late -> nightly -> late" in result.stderr or (
        "cycle: nightly -> late -> nightly" in result.stderr
    )


def test_config_check_accepts_good_schedules() -> None:
    result = config_check({"nightly": {"workflow": "otc.weekly_refresh", "cron": "0 6 * * WED"}})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok:")
