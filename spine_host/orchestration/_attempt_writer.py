"""Writing a run's attempts: write-ahead, batched, and only while the runner still owns the run.

The run loop hands every new and ended attempt to an :class:`AttemptWriter`. ``flush`` writes
what is queued in one transaction; the loop flushes before it submits any attempt (so the new
attempts' RUNNING rows and every ended attempt a new step may depend on are committed first:
write-ahead), at most every :data:`WRITE_INTERVAL` (50 ms) otherwise, and always before the run
returns. So steps that become ready together share one commit, and a chain of steps costs one
commit per step: the end of one and the start of the next.

Each write first checks, in the same transaction, that the run is still this runner's RUNNING
run (the heartbeat thread keeps ``heartbeat_at`` fresh). When it is not (the reaper crashed it,
another runner resumed it), nothing is written and ``lost`` turns True: the loop must stop.
The same check reads whether a cancellation was asked for: then ``cancel_requested`` turns
True, and a write that would start new attempts is refused whole and kept queued (the loop
takes the starts back and ends the run CANCELLED).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.history import WorkflowHistoryRepository
    from spine_host.orchestration.records import StepAttempt, WorkflowRun

__all__ = ["WRITE_INTERVAL", "AttemptWriter"]

#: Seconds between two writes of a run's attempts (a started step shows as RUNNING this soon).
WRITE_INTERVAL = 0.05


class AttemptWriter:
    """Buffers one run's attempt changes and writes them, owner-checked, in batches.

    Args:
        host: fires ``spine_step_finished`` for each ended attempt once it is written.
        history: where attempts are written.
        run: the run they belong to.
        owner: the runner that must still own ``run`` for a write to happen.
    """

    def __init__(
        self, host: Host, history: WorkflowHistoryRepository, run: WorkflowRun, owner: str
    ) -> None:
        self.host = host
        self.history = history
        self.run = run
        self.owner = owner
        #: True once a write was refused: the run is no longer this runner's.
        self.lost = False
        #: True once a write found that someone asked for the run to be cancelled.
        self.cancel_requested = False
        #: ``time.monotonic()`` of the last write that found the run still this runner's.
        self.confirmed_at = time.monotonic()
        self._held = history.held_writer()
        self._started: list[StepAttempt] = []
        self._finished: list[StepAttempt] = []

    def started(self, attempt: StepAttempt) -> None:
        """Queue a new attempt (inserted by the next flush)."""
        self._started.append(attempt)

    def finished(self, attempt: StepAttempt) -> None:
        """Queue an ended attempt (updated, or inserted in its final state if new)."""
        self._finished.append(attempt)

    @property
    def pending(self) -> bool:
        """Whether anything waits to be written."""
        return bool(self._started or self._finished)

    def next_due(self, now: float) -> float:
        """Seconds from ``now`` until the next write is due (0 when it is due)."""
        return max(0.0, self.confirmed_at + WRITE_INTERVAL - now)

    def flush(self, *, confirm: bool = False) -> bool:
        """Write the queued attempts in one transaction, then tell observers about ended ones.

        Returns whether the queue is written (or was empty) and the run still this runner's.
        Nothing is written once the run is no longer this runner's: ``lost`` is set instead;
        nor, once a cancellation was asked for, a batch that starts attempts: it stays queued.
        With nothing queued, ``confirm`` still checks (and refreshes) the ownership.
        """
        if not self.pending:
            if confirm and not self.lost:
                if self.history.heartbeat(self.run.run_id, owner=self.owner):
                    self.confirmed_at = time.monotonic()
                else:
                    self.lost = True
            return not self.lost
        started, finished = self._started, self._finished
        self._started, self._finished = [], []
        try:
            result = self._held.record_attempts(started, finished, owner=self.owner)
        except BaseException:
            # Keep the batch: the runner's interrupt handling writes it with the attempts' end.
            self._started, self._finished = started + self._started, finished + self._finished
            raise
        if result.cancel_requested:
            self.cancel_requested = True
        if not result.written:
            if result.lost:
                self.lost = True
            else:  # refused for the cancellation: the loop takes the starts back
                self._started = started + self._started
                self._finished = finished + self._finished
            return False
        self.confirmed_at = time.monotonic()
        notify: Callable[..., None] = self.host.notify
        for record in finished:
            notify("spine_step_finished", run=self.run, step=record)
        return True

    def discard(self, records: list[StepAttempt]) -> None:
        """Take new attempts back out of the queue (their start could not be recorded)."""
        ids = {id(record) for record in records}
        self._started = [record for record in self._started if id(record) not in ids]

    def close(self) -> None:
        """Give back the connection the writes were made on."""
        self._held.close()

    def drop(self) -> None:
        """Forget what is queued (the run was taken; it is not this runner's to write)."""
        self._started, self._finished = [], []
