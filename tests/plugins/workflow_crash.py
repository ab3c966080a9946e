"""A workflow for the kill -9 test: four steps, the third sleeps while a marker file exists.

Each step appends its name to ``<dir>/effects.log`` when it finishes its work, so the test can
count how often each step really ran across the killed run and its resume.
"""

from __future__ import annotations

import time
from pathlib import Path

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow


def _effect(params, name):
    with Path(params["dir"], "effects.log").open("a", encoding="utf-8") as log:
        log.write(name + "\n")


def first(context, inputs, params):
    _effect(params, "s1")
    return {"value": 1}


def second(context, inputs, params):
    _effect(params, "s2")
    return {"value": inputs["s1"]["value"] + 1}


def third(context, inputs, params):
    while Path(params["dir"], "sleep").exists():
        time.sleep(0.05)
    if inputs["s2"] != {"value": 2}:  # outputs of s2 must come back from history on resume
        raise ValueError(f"s2 outputs lost: {inputs!r}")
    _effect(params, "s3")
    return {"value": 3}


def fourth(context, inputs, params):
    _effect(params, "s4")
    return {"value": inputs["s3"]["value"] + 1}


crash_workflow = Workflow(
    "tests.crash",
    [
        Step("s1", first),
        Step("s2", second, ["s1"]),
        Step("s3", third, ["s2"]),
        Step("s4", fourth, ["s3"]),
    ],
    description="four steps; the third waits while <dir>/sleep exists",
)


@hookimpl
def spine_register_workflows(register):
    register(crash_workflow)
