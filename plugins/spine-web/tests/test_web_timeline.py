"""The Gantt chart's geometry: one bar per attempt on a shared time axis, skips and steps that
never started visible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spine_web.timeline import LABEL_WIDTH, PLOT_WIDTH, build_timeline

from spine_host.orchestration.records import RunStatus, StepAttempt, StepStatus, WorkflowRun

START = datetime(2025, 12, 26, 6, 0, tzinfo=UTC)


def attempt(
    step: str, number: int, status: StepStatus, begin: float, end: float, **extra: object
) -> StepAttempt:
    return StepAttempt(
        run_id="r" * 32,
        step_name=step,
        attempt=number,
        status=status,
        started_at=START + timedelta(seconds=begin),
        finished_at=START + timedelta(seconds=end),
        **extra,  # type: ignore[arg-type]
    )


def run_with(*attempts: StepAttempt) -> WorkflowRun:
    return WorkflowRun(
        run_id="r" * 32,
        workflow="tests.timeline",
        status=RunStatus.FAILED,
        started_at=START,
        finished_at=START + timedelta(seconds=10),
        steps=list(attempts),
    )


def test_each_attempt_is_a_bar_placed_on_the_runs_time_axis() -> None:
    run = run_with(
        attempt(
            "fetch",
            1,
            StepStatus.FAILED,
            0,
            2,
            error={"message": "reset"},
            error_category="TRANSIENT",
        ),
        attempt("fetch", 2, StepStatus.COMPLETED, 5, 10),
    )
    timeline = build_timeline(run, ["fetch", "load"], START + timedelta(seconds=60))
    first, second = timeline.bars
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.x == LABEL_WIDTH
    assert first.width == PLOT_WIDTH * 0.2
    assert second.x == LABEL_WIDTH + PLOT_WIDTH * 0.5
    assert first.y == second.y  # one lane per step
    assert "[TRANSIENT] reset" in first.title
    assert [lane.step for lane in timeline.lanes] == ["fetch", "load"]
    assert timeline.lanes[1].note == "not started"
    assert timeline.ticks[-1].label == "10.00s"


def test_a_skipped_attempt_says_why_and_a_short_one_stays_visible() -> None:
    run = run_with(
        attempt("load", 1, StepStatus.COMPLETED, 0, 10),
        attempt("report", 1, StepStatus.SKIPPED, 10, 10, skip_reason="condition"),
    )
    bars = build_timeline(run, ["load", "report"], START).bars
    skipped = bars[1]
    assert skipped.skipped
    assert skipped.label == "#1 skipped: condition"
    assert skipped.width >= 4


def test_steps_only_the_history_knows_get_lanes_after_the_workflows_own() -> None:
    run = run_with(attempt("gone", 1, StepStatus.COMPLETED, 1, 2))
    timeline = build_timeline(run, ["kept"], START)
    assert [lane.step for lane in timeline.lanes] == ["kept", "gone"]
