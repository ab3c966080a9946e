"""Crash detection: a live run's heartbeat, and the reaper that marks silent runs CRASHED.

While a runner works on a run (and a dispatcher on an execution), a :class:`Heartbeat` thread
updates ``heartbeat_at`` every ``interval`` seconds. A process killed with SIGKILL, or a host
that vanished, stops doing so; :func:`reap` then finds RUNNING runs whose owner is gone (its
process is dead on this host, or its heartbeat is older than ``stale_after``), marks them (and
their RUNNING steps) CRASHED and fires ``spine_run_finished`` so alerts go out. Runners reap
when they start; ``spine runs reap`` does it on demand. Keep ``stale_after`` several heartbeat
intervals long, so a slow database write is not mistaken for a crash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.liveness import (
    Liveness,
    abandoned,
    new_owner,
    owner_alive,
    owner_liveness,
)
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import WorkflowRun

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_STALE_AFTER",
    "Heartbeat",
    "heartbeats_can_block",
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


class Heartbeat:
    """A daemon thread that says ``owner`` is alive every ``interval`` seconds until stopped.

    ``beat`` writes the sign of life and returns False once the work is no longer ``owner``'s
    (a reaper crashed it, another runner took it over); ``lost`` then becomes True and the
    thread ends. A beat that fails (a database hiccup, SQLite's write lock held by a long step)
    is retried next interval: on the same host, liveness does not depend on it
    (:mod:`~spine_host.orchestration.liveness`), and while the thread runs this process counts
    ``owner`` as alive.
    """

    def __init__(
        self,
        beat: Callable[[], bool],
        owner: str,
        interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        *,
        label: str = "run",
    ) -> None:
        self.beat = beat
        self.owner = owner
        self.interval = interval
        self.label = label
        self.lost = False
        self._stop = threading.Event()
        self._alive = owner_alive(owner)
        self._thread = threading.Thread(
            target=self._beat, name=f"spine-heartbeat-{label[:16]}", daemon=True
        )

    def start(self) -> Heartbeat:
        """Start beating (the row already carries the first heartbeat)."""
        self._alive.__enter__()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating; wait a moment for the thread.

        A beat may be waiting for SQLite's write lock (another process holds it): the work is
        over, so do not wait for that; the beat changes nothing once the work is finished.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self._alive.__exit__(None, None, None)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                alive = self.beat()
            except SpineError as exc:  # a database hiccup or a held lock: try again next time
                log.warning("heartbeat of %s failed: %s", self.label, exc.message)
                continue
            if not alive:
                self.lost = True
                log.warning("%s is no longer owned by this process (reaped?)", self.label)
                return


def reap(
    host: Host,
    history: WorkflowHistoryRepository,
    stale_after: float = DEFAULT_STALE_AFTER,
) -> list[WorkflowRun]:
    """Mark RUNNING runs whose runner is gone CRASHED; return them.

    A run is gone when its owner's process is known dead on this host, or when its heartbeat
    is older than ``stale_after`` seconds and its owner is not known alive on a SQLite
    database (see :func:`~spine_host.orchestration.liveness.abandoned`). ``spine_run_finished``
    fires for each one, after its row is written.
    """
    now = utc_now()
    cutoff = now - timedelta(seconds=stale_after)
    can_block = heartbeats_can_block(host)
    candidates = [
        run
        for run in history.running_runs()
        if abandoned(run.owner, run.heartbeat_at, cutoff, heartbeats_can_block=can_block)
    ]
    if not candidates:
        return []
    # A dead owner's run goes whatever its heartbeat says; a stale one only while it stays so.
    dead = [run for run in candidates if owner_liveness(run.owner) is Liveness.DEAD]
    stale = [run for run in candidates if run not in dead]
    error = SpineError(
        f"the runner stopped: its process is gone or it sent no heartbeat since "
        f"{cutoff.isoformat()} (limit {stale_after:g}s); it was killed or lost its host",
        category=ErrorCategory.INTERNAL,
        retryable=True,
        context={"stale_after": stale_after, "reaped_at": now.isoformat()},
    ).to_dict()
    crashed = history.crash_runs(dead, error) + history.crash_runs(stale, error, cutoff=cutoff)
    for run in crashed:
        log.warning("run %s of %s marked CRASHED (owner %s)", run.run_id, run.workflow, run.owner)
        host.notify("spine_run_finished", run=run)
    return crashed


def heartbeats_can_block(host: Host) -> bool:
    """SQLite has one write lock: a step holding it holds up its runner's heartbeats too."""
    return getattr(host.storage, "dialect", None) == "sqlite"
