"""Workflows for spine-celery's tests, registered as a plugin on runners and workers alike.

Every step reports the process it ran in (``pid``), so a test sees which worker ran what.

- ``celery_checks.pids``: 20 independent steps, each a moment long;
- ``celery_checks.hand_over``: ``first`` passes its output to ``second`` (inputs cross too);
- ``celery_checks.killable``: ``slow_commit`` writes its pid to ``{pid_dir}/{attempt}.pid``,
  sleeps ``sleep`` seconds on its first attempt, then commits a row to ``celery_marks``
  through spine's storage (fenced: a killed or superseded attempt's row never lands);
- ``celery_checks.queues``: ``light`` on the default queue, ``heavy`` on queue ``heavy``;
- ``celery_checks.inline``: a lambda step, which no worker could find by name;
- ``celery_checks.tick``: one quick step (a schedule fires it every second);
- ``celery_checks.long``: six steps in a chain, each a second long, each committing a mark
  through spine's storage; ``resume_on_crash``: a replica that reaps it resumes it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.retry import RetryPolicy

#: The table ``slow_commit`` writes to; the tests create it.
MARKS = sa.table("celery_marks", sa.column("step"), sa.column("attempt"), sa.column("pid"))


def record_pid(context: Any, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Take a moment (so the work spreads over the workers); report this process."""
    time.sleep(float(params.get("pause", 0.05)))
    return {"pid": os.getpid(), "inputs": inputs}


def slow_commit(context: Any, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Say where it runs, sleep (first attempt only), then commit a mark through spine."""
    pid_file = Path(params["pid_dir"]) / f"{context.attempt}.pid"
    pid_file.write_text(str(os.getpid()))
    if context.attempt == 1:
        time.sleep(float(params["sleep"]))
    context.host.storage.execute(
        sa.insert(MARKS).values(step=context.step_name, attempt=context.attempt, pid=os.getpid())
    )
    return {"pid": os.getpid()}


def marked_second(context: Any, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Take a second, then commit a mark through spine (fenced) and report this process."""
    time.sleep(1.0)
    context.host.storage.execute(
        sa.insert(MARKS).values(step=context.step_name, attempt=context.attempt, pid=os.getpid())
    )
    return {"pid": os.getpid()}


def _workflows() -> list[Workflow]:
    return [
        Workflow(
            "celery_checks.pids",
            [Step(f"s{number:02d}", record_pid) for number in range(1, 21)],
            executor="celery",
        ),
        Workflow(
            "celery_checks.hand_over",
            [Step("first", record_pid), Step("second", record_pid, depends_on=["first"])],
            executor="celery",
        ),
        Workflow(
            "celery_checks.killable",
            [Step("slow_commit", slow_commit, retry=RetryPolicy(max_attempts=2, delay=0))],
            executor="celery",
        ),
        Workflow(
            "celery_checks.queues",
            [Step("light", record_pid), Step("heavy", record_pid, queue="heavy")],
            executor="celery",
        ),
        Workflow("celery_checks.tick", [Step("tick", record_pid)], executor="celery"),
        Workflow(
            "celery_checks.long",
            [
                Step(f"part{n}", marked_second, depends_on=[f"part{n - 1}"] if n > 1 else [])
                for n in range(1, 7)
            ],
            executor="celery",
            resume_on_crash=True,
        ),
        Workflow(
            "celery_checks.inline",
            [Step("shout", lambda context, inputs, params: {"shouted": True})],
        ),
    ]


@hookimpl
def spine_register_workflows(register: Any) -> None:
    """Provide the test workflows."""
    for workflow in _workflows():
        register(workflow)
