"""Workflows and a pipeline for scheduler tests, usable in-process and by `spine scheduler run`.

- ``sched.tick``: one step that does nothing (fast fires, many of them);
- ``sched.slow``: one step sleeping ``params["seconds"]`` (default 3), for overlap and SIGTERM;
- ``sched.fail``: one step that raises while ``params["fail"]`` is true;
- ``sched.load``: a pipeline returning its ``day`` parameter (a schedule can target pipelines).
"""

from __future__ import annotations

import time

import attrs

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines.registration import register_pipeline


def _tick(context, inputs, params):
    return {"ticked": True}


def _slow(context, inputs, params):
    time.sleep(float(params.get("seconds", 3)))
    return {"slept": float(params.get("seconds", 3))}


def _maybe_fail(context, inputs, params):
    if params.get("fail", True) not in (False, "false", "no", "0"):
        raise ValueError("told to fail")
    return {"failed": False}


@attrs.frozen
class LoadParams:
    day: str


@register_pipeline("sched.load", params=LoadParams)
def load(context, params):
    """Pretend to load one day."""
    return {"rows_in": 1, "rows_out": 1, "day": params.day}


@hookimpl
def spine_register_workflows(register):
    register(Workflow("sched.tick", [Step("tick", _tick)]))
    register(Workflow("sched.slow", [Step("sleep", _slow)]))
    register(Workflow("sched.fail", [Step("maybe_fail", _maybe_fail)]))


@hookimpl
def spine_register_pipelines(register):
    register(load.name, load)
