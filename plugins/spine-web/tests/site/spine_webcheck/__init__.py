"""Workflows for spine-web's tests (see ../README.md).

- ``webcheck.flaky``: ``fetch`` fails its first attempt (TRANSIENT) and works on the second;
  ``load`` needs it; ``report`` is skipped by its condition.
- ``webcheck.fragile``: ``prepare`` logs a line holding ``<script>``; ``deliver`` fails with
  ``<script>`` in its error while ``<dir>/broken`` exists.
- ``webcheck.wait``: ``wait`` runs until ``<dir>/release`` exists or the run is cancelled.
- ``webcheck.quick``: one step that returns at once; schedule ``webcheck.hourly`` runs it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from spine_host import hookimpl
from spine_host.api import ErrorCategory, RetryPolicy, Schedule, SpineError, Step, Workflow

log = logging.getLogger(__name__)


def fetch(context: Any, inputs: Any, params: Any) -> dict[str, int]:
    if context.attempt == 1:
        raise SpineError("the feed hiccuped", category=ErrorCategory.TRANSIENT)
    log.info("fetched on attempt %d", context.attempt)
    return {"rows_in": 3, "rows_out": 3}


def load(context: Any, inputs: Any, params: Any) -> dict[str, int]:
    log.info("loaded %d rows", inputs["fetch"]["rows_out"])
    return {"rows_in": 3, "rows_out": 2, "rows_rejected": 1}


def report(context: Any, inputs: Any, params: Any) -> dict[str, bool]:
    return {"reported": True}


def prepare(context: Any, inputs: Any, params: Any) -> dict[str, str]:
    log.info("preparing <script>alert('log')</script> for %s", params.get("note", "-"))
    return {"prepared": "<b>ready</b>"}


def deliver(context: Any, inputs: Any, params: Any) -> dict[str, bool]:
    if Path(params["dir"], "broken").exists():
        raise SpineError(
            "<script>alert('error')</script> the receiver refused the delivery",
            category=ErrorCategory.SOURCE,
        )
    return {"delivered": True}


def wait(context: Any, inputs: Any, params: Any) -> dict[str, bool]:
    while not Path(params["dir"], "release").exists() and not context.cancelled.is_set():
        time.sleep(0.05)
    return {"released": True}


def quick(context: Any, inputs: Any, params: Any) -> dict[str, bool]:
    return {"done": True}


flaky = Workflow(
    "webcheck.flaky",
    [
        Step("fetch", fetch, retry=RetryPolicy(max_attempts=2, delay=0.05, backoff="fixed")),
        Step("load", load, ["fetch"]),
        Step("report", report, ["load"], condition=lambda inputs, params: False),
    ],
)
fragile = Workflow(
    "webcheck.fragile", [Step("prepare", prepare), Step("deliver", deliver, ["prepare"])]
)
waiting = Workflow("webcheck.wait", [Step("wait", wait)])
quick_workflow = Workflow("webcheck.quick", [Step("quick", quick)])


@hookimpl
def spine_register_workflows(register: Any) -> None:
    for workflow in (flaky, fragile, waiting, quick_workflow):
        register(workflow)


@hookimpl
def spine_register_schedules(register: Any) -> None:
    register(Schedule("webcheck.hourly", workflow="webcheck.quick", interval="1h"))
