"""What a callable step receives as ``context``: the :class:`StepContext` of one attempt.

The workflow model (:mod:`~spine_host.orchestration.workflow`) names it in the type of a
callable step; the runner builds one per attempt and the worker
(:mod:`~spine_host.orchestration.steps`) hands it to the step. This module imports neither, so
those two need not import each other.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

import attrs

from spine_host.storage.fencing import Fence

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.pipelines.context import ExecutionContext

__all__ = ["StepContext"]


@attrs.frozen(kw_only=True)
class StepContext:
    """What a callable step receives as ``context``.

    Attributes:
        run_id: the workflow run.
        workflow: the workflow's name.
        step_name: this step.
        attempt: this attempt's number (1-based, counted across resumes of the run).
        host: storage, sources, the error classifier.
        execution: the pipelines ``ExecutionContext`` of this attempt (its parent is the run),
            for rejects, quality checks and the manifest.
        logical_date: the date the run is for, if a schedule gave one.
        cancelled: set when the attempt timed out or the run ended without it; a long step
            may poll it and stop early, since Python cannot stop a thread from outside.
        owner: the runner owning the run (pipeline executions of the step are owned by it).
        fence: revoked when the attempt is let go; from then on every commit the step makes
            through spine's storage is refused (see :mod:`spine_host.storage.fencing`).
    """

    run_id: str
    workflow: str
    step_name: str
    attempt: int
    host: Host = attrs.field(eq=False, repr=False)
    execution: ExecutionContext = attrs.field(eq=False, repr=False)
    logical_date: dt.datetime | None = None
    cancelled: threading.Event = attrs.field(factory=threading.Event, eq=False, repr=False)
    owner: str | None = None
    fence: Fence = attrs.field(factory=lambda: Fence("a step attempt"), eq=False, repr=False)
