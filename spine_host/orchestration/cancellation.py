"""Cancelling a workflow run from any process: the request goes through the database.

::

    done = cancel_run(host, run_id, reason="wrong input file")
    done.run.status            # CANCELLED, once its runner stopped (or RUNNING after ``wait``)

1. The request is written on the RUNNING run's row (``cancel_requested_at``, ``_by``,
   ``cancel_reason``); the first one stands, a second changes nothing.
2. From then on the steps' commits through spine's storage are refused (their fence checks the
   row), and so is any write of the runner that would start an attempt.
3. The runner driving the run, in whatever process, sees the request at its next heartbeat
   (:class:`CancelWatch`) or its next write, lets its live attempts go, records them CANCELLED
   and ends the run CANCELLED; ``spine_run_finished`` fires there.
4. A run whose runner is gone (its process is dead on this host, or its heartbeat is stale: the
   reaper's rules) is ended CANCELLED by the caller, with its RUNNING attempts, and
   ``spine_run_finished`` fires in the caller's process.

The request stays on the row as the record of who cancelled the run, when and why; ``resume``
clears it when it reopens the run.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.heartbeat import DEFAULT_STALE_AFTER, heartbeats_can_block
from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.orchestration.liveness import Liveness, abandoned, owner_liveness
from spine_host.orchestration.records import CancelRequest, RunStatus, WorkflowRun
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["CancelWatch", "Cancellation", "cancel_run", "requester"]

#: Seconds between two looks at a run whose runner is to stop.
_POLL = 0.2


@attrs.frozen
class Cancellation:
    """What :func:`cancel_run` did.

    Attributes:
        run: the run as last read: CANCELLED, another terminal state (it ended by itself
            first), or still RUNNING when its runner had not stopped within the wait.
        request: the cancellation request on the run (this call's, or an earlier one).
        requested: whether this call made the request (False: someone had asked before).
        ended_here: whether this call ended the run, its runner being gone.
    """

    run: WorkflowRun
    request: CancelRequest | None
    requested: bool
    ended_here: bool = False


def cancel_run(
    host: Host,
    run_id: str,
    *,
    reason: str | None = None,
    requested_by: str | None = None,
    wait: float = 30.0,
    stale_after: float = DEFAULT_STALE_AFTER,
) -> Cancellation:
    """Ask for RUNNING run ``run_id`` to stop, and wait up to ``wait`` seconds until it has.

    Raises NOT_FOUND for an unknown run, VALIDATION for one that is not RUNNING.
    """
    history = WorkflowHistoryRepository(host.storage)
    run = history.require_run(run_id)
    if run.status is not RunStatus.RUNNING:
        raise _not_running(run)
    requested = history.request_cancel(
        run_id, requested_by=requested_by or requester(), reason=reason
    )
    deadline = time.monotonic() + wait
    while True:
        run = history.require_run(run_id)
        request = history.cancel_request(run_id)
        if run.finished:
            if request is None:  # it ended before the request could be written
                raise _not_running(run)
            return Cancellation(run, request, requested)
        if _end_if_abandoned(host, history, run, stale_after):
            ended = history.require_run(run_id)
            host.notify("spine_run_finished", run=ended)
            return Cancellation(ended, request, requested, ended_here=True)
        if time.monotonic() >= deadline:
            return Cancellation(run, request, requested)
        time.sleep(_POLL)


def requester() -> str:
    """``user@host``: who asks, as recorded on the run."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class CancelWatch:
    """What a runner knows of a cancellation of its run; :meth:`check` at each heartbeat.

    Args:
        history: where the request is read.
        run_id: the run.
    """

    def __init__(self, history: WorkflowHistoryRepository, run_id: str) -> None:
        self.history = history
        self.run_id = run_id
        #: The request, once seen.
        self.request: CancelRequest | None = None
        #: Called (on the heartbeat's thread) when a request is first seen.
        self.on_request: Callable[[], None] = lambda: None

    def check(self) -> None:
        """Look for a request (once one is seen, no more)."""
        if self.request is not None:
            return
        request = self.history.cancel_request(self.run_id)
        if request is not None:
            self.request = request
            self.on_request()


def _end_if_abandoned(
    host: Host, history: WorkflowHistoryRepository, run: WorkflowRun, stale_after: float
) -> bool:
    """End ``run`` CANCELLED if its runner is gone (the reaper's rules); whether this did."""
    cutoff = utc_now() - timedelta(seconds=stale_after)
    can_block = heartbeats_can_block(host)
    if not abandoned(run.owner, run.heartbeat_at, cutoff, heartbeats_can_block=can_block):
        return False
    # A dead owner's run goes whatever its heartbeat says; a stale one only while it stays so.
    dead = owner_liveness(run.owner) is Liveness.DEAD
    return history.cancel_abandoned(run, cutoff=None if dead else cutoff)


def _not_running(run: WorkflowRun) -> SpineError:
    return SpineError(
        f"run {run.run_id} is {run.status.value}; only RUNNING runs can be cancelled",
        category=ErrorCategory.VALIDATION,
    )
