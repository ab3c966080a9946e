"""The run page's Gantt chart: where each attempt's bar goes, computed here, drawn as SVG by
the ``timeline.svg`` template (so every label is escaped like any other value).

One lane per step, in the workflow's order; one bar per attempt, from its start to its end on a
time axis that spans the run, so a retried step shows one bar per try and the wait between
them. A SKIPPED attempt is a hatched bar labelled with why; a step that never started has an
empty lane saying so. A bar never gets narrower than a few pixels, so a 10 ms step is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from spine_host.cli.output import format_duration
from spine_host.cli.run_steps import error_text
from spine_host.orchestration.records import StepAttempt, StepStatus, WorkflowRun

__all__ = ["Bar", "Lane", "Tick", "Timeline", "attempt_anchor", "build_timeline"]

LABEL_WIDTH = 170
PLOT_WIDTH = 760
LANE_HEIGHT = 30
BAR_HEIGHT = 18
AXIS_HEIGHT = 24
_MIN_BAR = 4.0
_TICKS = 5


@attrs.frozen(kw_only=True)
class Bar:
    """One attempt: its box, what it says, and the anchor of its row in the attempts table."""

    step: str
    attempt: int
    status: str
    x: float
    y: float
    width: float
    label: str
    title: str
    anchor: str

    @property
    def skipped(self) -> bool:
        """Whether the attempt did not run (drawn hatched)."""
        return self.status == StepStatus.SKIPPED.value

    @property
    def label_x(self) -> float:
        """Where the label starts: just right of the bar."""
        return self.x + self.width + 4


@attrs.frozen(kw_only=True)
class Lane:
    """One step's row: its name and, when it never ran, a note."""

    step: str
    y: float
    note: str | None = None


@attrs.frozen
class Tick:
    """One mark of the time axis: x and the elapsed time it stands for."""

    x: float
    label: str


@attrs.frozen(kw_only=True)
class Timeline:
    """Everything the SVG template draws."""

    width: int
    height: int
    label_width: int
    plot_width: int
    lanes: list[Lane]
    bars: list[Bar]
    ticks: list[Tick]
    bar_height: int = BAR_HEIGHT


def build_timeline(run: WorkflowRun, order: Sequence[str], now: datetime) -> Timeline:
    """The chart of ``run``: lanes in ``order`` (then any step only the history knows).

    ``now`` ends the axis of a run still going.
    """
    steps = list(order) + sorted(
        {attempt.step_name for attempt in run.steps} - set(order),
        key=lambda name: _first_start(run.steps, name),
    )
    starts = [attempt.started_at for attempt in run.steps if attempt.started_at is not None]
    origin = min([run.started_at, *starts] if run.started_at else starts, default=now)
    ends = [attempt.finished_at or now for attempt in run.steps]
    end = max([run.finished_at or (now if not run.finished else origin), *ends], default=origin)
    span = max((end - origin).total_seconds(), 0.001)
    lanes: list[Lane] = []
    bars: list[Bar] = []
    for index, step in enumerate(steps):
        y = AXIS_HEIGHT + index * LANE_HEIGHT
        attempts = [attempt for attempt in run.steps if attempt.step_name == step]
        lanes.append(Lane(step=step, y=y, note=None if attempts else "not started"))
        for attempt in attempts:
            bars.append(_bar(attempt, origin, span, y, now))
    ticks = [
        Tick(LABEL_WIDTH + PLOT_WIDTH * part / _TICKS, format_duration(span * part / _TICKS) or "")
        for part in range(_TICKS + 1)
    ]
    height = AXIS_HEIGHT + max(len(steps), 1) * LANE_HEIGHT + 6
    return Timeline(
        width=LABEL_WIDTH + PLOT_WIDTH + 150,
        height=height,
        label_width=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
        lanes=lanes,
        bars=bars,
        ticks=ticks,
    )


def attempt_anchor(step: str, attempt: int) -> str:
    """The id of an attempt's row in the attempts table: ``attempt-3-2`` style, safe in URLs."""
    return f"attempt-{step.encode().hex()}-{attempt}"


def _bar(attempt: StepAttempt, origin: datetime, span: float, y: float, now: datetime) -> Bar:
    start = attempt.started_at or origin
    end = attempt.finished_at or (now if attempt.status is StepStatus.RUNNING else start)
    x = LABEL_WIDTH + PLOT_WIDTH * max((start - origin).total_seconds(), 0.0) / span
    width = max(PLOT_WIDTH * max((end - start).total_seconds(), 0.0) / span, _MIN_BAR)
    width = min(width, LABEL_WIDTH + PLOT_WIDTH - x + _MIN_BAR)
    status = attempt.status.value
    label = f"#{attempt.attempt} {status.lower()}"
    if attempt.status is StepStatus.SKIPPED and attempt.skip_reason:
        label = f"#{attempt.attempt} skipped: {attempt.skip_reason}"
    took = format_duration(attempt.duration)
    title = f"{attempt.step_name} attempt {attempt.attempt}: {status}"
    if took:
        title += f" in {took}"
    if attempt.error:
        title += f"\n{error_text(attempt.error_category, attempt.error)}"
    elif attempt.skip_reason:
        title += f" ({attempt.skip_reason})"
    return Bar(
        step=attempt.step_name,
        attempt=attempt.attempt,
        status=status,
        x=round(x, 1),
        y=y + (LANE_HEIGHT - BAR_HEIGHT) / 2,
        width=round(width, 1),
        label=label,
        title=title,
        anchor=attempt_anchor(attempt.step_name, attempt.attempt),
    )


def _first_start(attempts: Sequence[StepAttempt], step: str) -> str:
    times = [a.started_at.isoformat() for a in attempts if a.step_name == step and a.started_at]
    return min(times, default="")
