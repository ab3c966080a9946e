"""Crash detection: a live run's heartbeat, and the reaper that marks silent runs CRASHED.

While a runner works on a run, a :class:`Heartbeat` thread updates ``heartbeat_at`` every
``interval`` seconds. A process killed with SIGKILL, or a host that vanished, stops doing so;
:func:`reap` then finds RUNNING runs whose heartbeat is older than ``stale_after``, marks them
(and their RUNNING steps) CRASHED and fires ``spine_run_finished`` so alerts go out. Runners reap
when they start; ``spine runs reap`` does it on demand. Keep ``stale_after`` several heartbeat
intervals long, so a slow database write is not mistaken for a crash.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from spine_host.errors import ErrorCategory, SpineError
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import WorkflowRun

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_STALE_AFTER",
    "Heartbeat",
    "new_owner",
    "reap",
    "stale_after_problem",
]

log = logging.getLogger(__name__)

#: Seconds between heartbeats of a live run.
DEFAULT_HEARTBEAT_INTERVAL = 10.0
#: Seconds of silence after which a RUNNING run counts as crashed (six missed heartbeats).
DEFAULT_STALE_AFTER = 60.0


def stale_after_problem(stale_after: float, heartbeat_interval: float) -> str | None:
    """Why ``stale_after`` is too short for runs beating every ``heartbeat_interval``, or None.

    A live run's heartbeat is up to one interval old between beats, plus however long a slow
    database write delays the next one; under two intervals the reaper would crash runs that
    are alive, and their steps would run twice once the run is resumed.
    """
    if stale_after >= 2 * heartbeat_interval:
        return None
    return (
        f"stale_after {stale_after:g}s is shorter than two heartbeat intervals "
        f"(2 x {heartbeat_interval:g}s); a live run's heartbeat can be that old between two "
        f"beats, so live runs would be marked CRASHED while their steps still run"
    )


def new_owner() -> str:
    """A name for one runner invocation: ``host:pid:random``, unique even across pid reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Heartbeat:
    """A daemon thread that keeps one run's ``heartbeat_at`` fresh until stopped.

    ``lost`` becomes True when the run stops being this owner's RUNNING run (a reaper marked it
    CRASHED): the runner then knows its final write will be refused.
    """

    def __init__(
        self,
        history: WorkflowHistoryRepository,
        run_id: str,
        owner: str,
        interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    ) -> None:
        self.history = history
        self.run_id = run_id
        self.owner = owner
        self.interval = interval
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"spine-heartbeat-{run_id[:8]}", daemon=True
        )

    def start(self) -> Heartbeat:
        """Start beating (the run row already carries the first heartbeat)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                alive = self.history.heartbeat(self.run_id, owner=self.owner)
            except SpineError as exc:  # a database hiccup: try again next interval
                log.warning("heartbeat of run %s failed: %s", self.run_id, exc.message)
                continue
            if not alive:
                self.lost = True
                log.warning("run %s is no longer owned by this runner (reaped?)", self.run_id)
                return


def reap(
    host: Host,
    history: WorkflowHistoryRepository,
    stale_after: float = DEFAULT_STALE_AFTER,
) -> list[WorkflowRun]:
    """Mark RUNNING runs silent for more than ``stale_after`` seconds CRASHED; return them.

    ``spine_run_finished`` fires for each one, after its row is written.
    """
    now = utc_now()
    cutoff = now - timedelta(seconds=stale_after)
    error = SpineError(
        f"the runner stopped sending heartbeats (none since {cutoff.isoformat()}, "
        f"limit {stale_after:g}s); it was killed or lost its host",
        category=ErrorCategory.INTERNAL,
        retryable=True,
        context={"stale_after": stale_after, "reaped_at": now.isoformat()},
    ).to_dict()
    crashed = history.crash_stale_runs(cutoff, error)
    for run in crashed:
        log.warning("run %s of %s marked CRASHED (owner %s)", run.run_id, run.workflow, run.owner)
        host.notify("spine_run_finished", run=run)
    return crashed
