"""``Schedule``: validated when built, registered through the hook, loaded from spine.toml."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from spine_host import ErrorCategory, Host, Schedule, SpineError, hookimpl
from spine_host.config import parse_config
from spine_host.orchestration.schedule import register_schedule, register_schedules
from spine_host.orchestration.schedule_sources import (
    check_after_cycles,
    schedules_from_config,
    validate_schedules,
)
from spine_host.orchestration.workflow import Step, Workflow


def weekly(**options: object) -> Schedule:
    values: dict[str, object] = {"workflow": "otc.weekly_refresh", "cron": "0 6 * * WED"}
    values.update(options)
    return Schedule("otc.weekly", **values)  # type: ignore[arg-type]


def refused(**options: object) -> SpineError:
    with pytest.raises(SpineError) as caught:
        weekly(**options)
    assert caught.value.category is ErrorCategory.CONFIG
    return caught.value


# -- validation when built ----------------------------------------------------------------------


def test_a_minute_past_59_is_refused_naming_schedule_and_expression() -> None:
    message = refused(cron="61 * * * *").message
    assert "'otc.weekly'" in message
    assert "'61 * * * *'" in message


def test_an_unknown_zone_is_refused_naming_schedule_and_zone() -> None:
    message = refused(timezone="Mars/Olympus").message
    assert "'otc.weekly'" in message
    assert "'Mars/Olympus'" in message


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"interval": "1h"}, "got both cron='0 6 * * WED' and interval=3600.0"),
        ({"cron": None}, "exactly one of cron or interval, got neither"),
        ({"pipeline": "otc.ingest_week"}, "exactly one of workflow or pipeline, got both"),
        ({"workflow": None}, "exactly one of workflow or pipeline, got neither"),
    ],
)
def test_exactly_one_trigger_and_one_target(options: dict[str, object], words: str) -> None:
    message = refused(**options).message
    assert "'otc.weekly'" in message
    assert words in message


def test_day_of_week_numbers_are_refused_because_they_mean_different_days() -> None:
    message = refused(cron="0 6 * * 3").message
    assert "'0 6 * * 3'" in message
    assert "WED" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("catchup", "some"),
        ("overlap", "never"),
        ("on_after_timeout", "wait"),
        ("catchup_limit", 0),
        ("misfire_grace", -1),
        ("interval", "1 fortnight"),
        ("after", "otc.daily"),
        ("params", {"week_ending": "{week:%Y}"}),
    ],
)
def test_each_bad_value_is_refused_naming_the_field_and_value(field: str, value: object) -> None:
    options: dict[str, object] = {field: value}
    if field == "interval":
        options["cron"] = None
    message = refused(**options).message
    assert "'otc.weekly'" in message
    assert field in message


def test_defaults_are_the_documented_ones() -> None:
    schedule = weekly()
    assert (schedule.timezone, schedule.catchup, schedule.overlap) == ("UTC", "latest", "skip")
    assert (schedule.misfire_grace, schedule.enabled, schedule.after) == (60.0, True, ())


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400), (45, 45)]
)
def test_intervals_are_seconds_or_durations(text: str | int, seconds: float) -> None:
    schedule = Schedule("every", pipeline="p", interval=text)
    assert schedule.interval == seconds


def test_the_trigger_reads_as_written() -> None:
    assert weekly().trigger == "cron 0 6 * * WED"
    assert Schedule("every", pipeline="p", interval="1h30m").trigger == "every 1h30m"


# -- params -------------------------------------------------------------------------------------


def test_param_templates_see_the_logical_date_in_the_schedules_zone() -> None:
    schedule = weekly(
        timezone="America/New_York", params={"day": "{logical_date:%Y-%m-%d}", "limit": 5}
    )
    # 03:00 UTC on Thursday is still Wednesday evening in New York.
    assert schedule.params_for(datetime(2026, 3, 5, 3, 0, tzinfo=UTC)) == {
        "day": "2026-03-04",
        "limit": 5,
    }


def test_a_params_function_gets_the_local_logical_date() -> None:
    seen: list[datetime] = []

    def params(logical_date: datetime) -> dict[str, str]:
        seen.append(logical_date)
        return {"hour": f"{logical_date:%H}"}

    schedule = weekly(timezone="America/New_York", params=params)
    assert schedule.params_for(datetime(2026, 3, 4, 11, 0, tzinfo=UTC)) == {"hour": "06"}
    assert seen[0].utcoffset() is not None
    assert seen[0].hour == 6


def test_a_params_function_returning_no_mapping_is_a_config_error() -> None:
    schedule = weekly(params=lambda logical_date: ["not", "a", "mapping"])
    with pytest.raises(SpineError, match=r"'otc\.weekly'.*expected a mapping"):
        schedule.params_for(datetime(2026, 3, 4, tzinfo=UTC))


# -- register_schedule and the hook -------------------------------------------------------------


@register_schedule("decorated", workflow="wf", cron="0 6 * * MON-FRI", timezone="Europe/London")
def decorated(logical_date: datetime) -> dict[str, str]:
    return {"day": f"{logical_date:%d}"}


plain = Schedule("plain", workflow="wf", interval="1h")


def test_register_schedule_turns_a_params_function_into_a_schedule() -> None:
    assert isinstance(decorated, Schedule)
    assert (decorated.name, decorated.cron, decorated.timezone) == (
        "decorated",
        "0 6 * * MON-FRI",
        "Europe/London",
    )
    assert decorated.params_for(datetime(2026, 1, 5, 6, tzinfo=UTC)) == {"day": "05"}


class ScheduleModule:
    """A plugin registering this module's schedules, plus the workflow they run."""

    @hookimpl
    def spine_register_schedules(self, register):
        register_schedules(register, sys.modules[__name__])

    @hookimpl
    def spine_register_workflows(self, register):
        register(Workflow("wf", [Step("only", lambda context, inputs, params: None)]))


def host_with(*plugins: object, schedules: dict[str, object] | None = None) -> Host:
    config = parse_config({"schedules": schedules or {}})
    return Host(config=config, plugins=plugins, load_entrypoints=False, storage_url="sqlite://")


def test_the_hook_registers_a_modules_schedules_and_validation_returns_them() -> None:
    with host_with(ScheduleModule()) as host:
        assert host.registries.schedules.names() == ["decorated", "plain"]
        assert [schedule.name for schedule in validate_schedules(host)] == ["decorated", "plain"]


class BadCronPlugin:
    @hookimpl
    def spine_register_schedules(self, register):
        register(Schedule("nightly", workflow="wf", cron="61 * * * *"))


def test_a_bad_cron_is_refused_at_registration_and_the_plugin_reported() -> None:
    with host_with(BadCronPlugin()) as host:
        assert "nightly" not in host.registries.schedules
        [problem] = host.problems()
        assert "'nightly'" in problem
        assert "'61 * * * *'" in problem


def test_an_unregistered_target_is_refused_naming_schedule_and_target() -> None:
    table = {"orphan": {"workflow": "no.such.workflow", "cron": "0 6 * * *"}}
    with host_with(ScheduleModule(), schedules=table) as host, pytest.raises(SpineError) as caught:
        validate_schedules(host)
    assert caught.value.category is ErrorCategory.CONFIG
    assert "'orphan'" in caught.value.message
    assert "'no.such.workflow'" in caught.value.message


def test_one_name_in_a_plugin_and_in_spine_toml_is_refused() -> None:
    table = {"plain": {"workflow": "wf", "cron": "0 6 * * *"}}
    with host_with(ScheduleModule(), schedules=table) as host, pytest.raises(SpineError) as caught:
        validate_schedules(host)
    assert "'plain' is defined both in spine.toml and by" in caught.value.message


# -- spine.toml ---------------------------------------------------------------------------------


def test_config_tables_become_schedules() -> None:
    [schedule] = schedules_from_config(
        {
            "otc_weekly": {
                "workflow": "otc.weekly_refresh",
                "cron": "0 6 * * WED",
                "timezone": "America/New_York",
                "catchup": "all",
                "catchup_limit": 4,
                "after": ["otc_daily"],
                "after_timeout": "2h",
                "params": {"week_ending": "{logical_date:%Y-%m-%d}"},
            }
        }
    )
    assert schedule.name == "otc_weekly"
    assert schedule.after == ("otc_daily",)
    assert (schedule.catchup, schedule.catchup_limit, schedule.after_timeout) == ("all", 4, 7200)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"cronn": "0 6 * * *"}, "schedules.nightly.cronn: unknown key"),
        ({"after": "a"}, "schedules.nightly.after = 'a': expected a list"),
        ({"enabled": "yes"}, "schedules.nightly.enabled = 'yes': expected true or false"),
        ({"cron": "61 * * * *"}, "schedules.nightly.cron = '61 * * * *': not a valid crontab"),
        ({"timezone": "Mars/Olympus"}, "schedules.nightly.timezone = 'Mars/Olympus': not a known"),
    ],
)
def test_config_errors_name_the_toml_path_and_value(table: dict[str, object], words: str) -> None:
    with pytest.raises(SpineError) as caught:
        schedules_from_config({"nightly": {"workflow": "wf", "cron": "0 6 * * *", **table}})
    assert caught.value.category is ErrorCategory.CONFIG
    assert words in caught.value.message


# -- after ----------------------------------------------------------------------------------------


def waits(name: str, *after: str) -> Schedule:
    return Schedule(name, workflow="wf", cron="0 6 * * *", after=after)


def test_an_after_cycle_is_refused_naming_the_path() -> None:
    with pytest.raises(SpineError, match="cycle: a -> b -> c -> a") as caught:
        check_after_cycles([waits("a", "b"), waits("b", "c"), waits("c", "a"), waits("d")])
    assert caught.value.category is ErrorCategory.CONFIG


def test_an_after_naming_an_unknown_schedule_is_refused() -> None:
    with pytest.raises(SpineError, match="schedule 'b': after 'zz': not a known schedule"):
        check_after_cycles([waits("a"), waits("b", "a", "zz")])


def test_after_chains_without_a_cycle_pass() -> None:
    check_after_cycles([waits("a"), waits("b", "a"), waits("c", "a", "b")])
