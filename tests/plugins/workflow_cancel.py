"""A workflow for the cancel and log tests run in a real ``spine`` process.

``tests.cancel``: step ``wait`` logs a line (with the token of ``$VENDOR_TOKEN``, a secret of
the test's spine.toml), then waits until ``<dir>/release`` exists; it does not look at
``context.cancelled``, so the run must stop without the step's help. Step ``after`` needs it and
leaves ``<dir>/after.ran`` when it runs.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow

log = logging.getLogger(__name__)


def wait(context, inputs, params):
    log.info("calling the vendor with token %s", os.environ.get("VENDOR_TOKEN", "-"))
    while not Path(params["dir"], "release").exists():
        time.sleep(0.05)
    return {"released": True}


def after(context, inputs, params):
    Path(params["dir"], "after.ran").touch()
    log.info("after ran")
    return {"done": True}


cancel_workflow = Workflow(
    "tests.cancel",
    [Step("wait", wait), Step("after", after, ["wait"])],
    description="the first step waits for <dir>/release; the second needs it",
)


@hookimpl
def spine_register_workflows(register):
    register(cancel_workflow)
