"""What happens to due fires: on time, caught up or missed, and a long outage in bounded rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spine_host import Schedule
from spine_host.orchestration.fire_plan import plan_fires

START = datetime(2026, 1, 1, tzinfo=UTC)


def minutely(**options) -> Schedule:  # type: ignore[no-untyped-def]
    return Schedule("m", pipeline="p", cron="* * * * *", **options)


def test_fires_within_the_grace_run_on_time_whatever_the_policy() -> None:
    for catchup in ("none", "latest", "all"):
        plan = plan_fires(minutely(catchup=catchup), START, START + timedelta(minutes=1, seconds=5))
        assert [(item.nominal, item.run, item.reason) for item in plan] == [
            (START + timedelta(minutes=1), True, None)
        ]


def test_latest_misses_every_late_fire_when_an_on_time_fire_follows() -> None:
    plan = plan_fires(minutely(catchup="latest"), START, START + timedelta(minutes=3, seconds=5))
    assert [item.run for item in plan] == [False, False, True]
    assert plan[-1].reason is None  # the on-time fire, not a catch-up
    assert all("latest" in item.reason for item in plan[:-1])


def test_all_runs_at_most_catchup_limit_and_names_the_limit_for_the_rest() -> None:
    schedule = minutely(catchup="all", catchup_limit=2, misfire_grace=1)
    plan = plan_fires(schedule, START, START + timedelta(minutes=5, seconds=30))
    assert [item.run for item in plan] == [False, False, False, True, True]
    assert "catchup_limit (2)" in plan[0].reason


def test_a_week_long_outage_of_a_per_second_schedule_is_summarised_not_dropped() -> None:
    every_second = Schedule("s", pipeline="p", interval=1, catchup="latest", misfire_grace=0)
    now = START + timedelta(days=7)
    plan = plan_fires(every_second, START, now, max_recorded_misses=10)
    missed = [item for item in plan if not item.run]
    # Ten one by one, one row for the range after them, and the latest late fire (an on-time
    # fire follows it, so catchup = latest runs that one instead).
    assert len(missed) == 12
    summary = missed[10]
    assert summary.nominal == START + timedelta(seconds=11)
    assert "with every later fire before 2026-01-07T23:59:59+00:00" in summary.reason
    assert missed[11].nominal == now - timedelta(seconds=1)
    assert [item.nominal for item in plan if item.run] == [now]
    assert [item.nominal for item in plan] == sorted(item.nominal for item in plan)
