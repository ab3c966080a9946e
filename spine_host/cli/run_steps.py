"""The step table of a workflow run, shared by ``spine runs show`` and ``spine workflows run``.

One row per attempt in start order, then one ``NOT_STARTED`` row for each step of the workflow
that has no attempt (a run stopped by a failure, or still running): a run's table always lists
every step, so a reader sees what did not happen as well as what did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spine_host.cli.output import format_counts, format_duration, format_time

if TYPE_CHECKING:
    from spine_host.orchestration.records import StepAttempt, WorkflowRun

__all__ = [
    "NOT_STARTED",
    "STEP_HEADERS",
    "attempt_note",
    "error_text",
    "not_started",
    "step_rows",
    "worker_label",
]

#: The status shown for a step of the workflow that has no attempt in the run.
NOT_STARTED = "NOT_STARTED"

#: The headers of the detailed step table (``step_rows(..., detailed=True)``).
STEP_HEADERS = ("STEP", "ATTEMPT", "STATUS", "STARTED (UTC)", "DURATION", "ROWS IN/OUT/REJ", "NOTE")


def not_started(run: WorkflowRun, order: Sequence[str] | None) -> list[str]:
    """The steps of ``order`` (the workflow's steps) with no attempt in ``run``."""
    if order is None:
        return []
    attempted = {attempt.step_name for attempt in run.steps}
    return [name for name in order if name not in attempted]


def attempt_note(attempt: StepAttempt) -> str | None:
    """Why an attempt skipped, or its error with category."""
    if attempt.error:
        error = error_text(attempt.error_category, attempt.error)
        return f"{attempt.skip_reason}: {error}" if attempt.skip_reason else error
    return attempt.skip_reason


def error_text(category: str | None, error: Mapping[str, object], *, colon: bool = False) -> str:
    """``[TRANSIENT] ConnectionError: feed unreachable`` (``[TRANSIENT]: ...`` with ``colon``):
    a recorded error as one line."""
    message = error.get("message")
    text = str(message) if message is not None else "(no message)"
    if not category:
        return text
    return f"[{category}]: {text}" if colon else f"[{category}] {text}"


def step_rows(
    run: WorkflowRun, order: Sequence[str] | None, *, detailed: bool = True
) -> list[tuple[Any, ...]]:
    """Rows of the step table: STEP, ATTEMPT, STATUS, [STARTED,] DURATION, [ROWS,] NOTE."""
    rows: list[tuple[Any, ...]] = []
    for attempt in run.steps:
        duration = format_duration(attempt.duration)
        note = attempt_note(attempt)
        if detailed:
            counts = format_counts(attempt.rows_in, attempt.rows_out, attempt.rows_rejected)
            started = format_time(attempt.started_at)
            rows.append(
                (attempt.step_name, attempt.attempt, attempt.status.value, started, duration,
                 counts, note)
            )  # fmt: skip
        else:
            rows.append((attempt.step_name, attempt.attempt, attempt.status.value, duration, note))
    for name in not_started(run, order):
        if detailed:
            rows.append((name, "-", NOT_STARTED, None, None, None, None))
        else:
            rows.append((name, "-", NOT_STARTED, None, None))
    return rows


def worker_label(worker: str | None) -> str | None:
    """``etl-2:4242``: the host and pid of a worker id (``host:pid:nonce[:identity]``)."""
    if worker is None:
        return None
    parts = worker.split(":")
    return ":".join(parts[:2]) if len(parts) >= 2 else worker
