"""Writing a run's step logs: redacted, cut, in batches, from a thread of their own.

A :class:`RunLogWriter` belongs to one run. The run loop asks it for an
:class:`~spine_host.orchestration._log_capture.AttemptLog` per attempt; the first record any of
them keeps starts a daemon thread that, every :data:`FLUSH_INTERVAL` seconds while records
come, writes what was kept since in one transaction. So a step that logs a thousand lines costs
a few inserts, its own thread never waits for the database, and ``spine runs logs --follow``
sees lines within about a second.

Why a thread and not the step's own thread or the run loop: the step's thread may be inside a
transaction of its own (an insert through ``host.storage.transaction()``) and is fenced, so its
writes belong to the step; the run loop's writes are the write-ahead history, whose latency
every step start waits for. Log writes must slow down neither.

Each message goes through the host's redactor, then is cut to 4,000 characters: a secret never
reaches the database, not even cut in half. A failed write is logged (on this thread, so it is
not captured itself) and tried again with the next batch; it never fails the step or the run.
:meth:`RunLogWriter.close` writes what is left before the runner records the run's end, so a
reader that saw the run end has seen every record.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from spine_host.orchestration._log_capture import (
    MAX_MESSAGE_LENGTH,
    MAX_RECORDS,
    AttemptLog,
    CapturedRecord,
)
from spine_host.orchestration.step_logs import StepLogRecord, StepLogRepository
from spine_host.storage import schema

if TYPE_CHECKING:
    from spine_host.redaction import Redactor
    from spine_host.storage.adapter import DatabaseAdapter

__all__ = ["CLOSE_TIMEOUT", "FLUSH_INTERVAL", "RunLogWriter"]

log = logging.getLogger(__name__)

#: Seconds between two writes while records come in.
FLUSH_INTERVAL = 0.5
#: Seconds ``close`` waits for the last write.
CLOSE_TIMEOUT = 5.0
#: Records held for a write that failed, at most, before the oldest are given up.
_HELD_MAX = 10 * MAX_RECORDS
_CUT_MARK = " [cut]"
_LEVEL_LENGTH = 20


class RunLogWriter:
    """Collects the logs of one run's attempts and writes them in batches.

    Args:
        storage: where ``workflow_step_logs`` is.
        redactor: masks secrets in each message before it is written.
        run_id: the run.
    """

    def __init__(self, storage: DatabaseAdapter, redactor: Redactor, run_id: str) -> None:
        self.repository = StepLogRepository(storage)
        self.redactor = redactor
        self.run_id = run_id
        self._lock = threading.Lock()
        self._attempts: list[AttemptLog] = []
        self._held: list[StepLogRecord] = []  # converted, waiting for a write that failed
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def attempt(self, step_name: str, attempt: int) -> AttemptLog:
        """The log of a new attempt, written by this writer."""
        attempt_log = AttemptLog(step_name, attempt, self._record_added)
        with self._lock:
            self._attempts.append(attempt_log)
        return attempt_log

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Write what is left (waiting up to ``timeout`` seconds) and stop.

        Records logged afterwards (by an attempt the runner let go) are not written.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning(
                    "run %s: its last log records were not written within %gs; "
                    "they are written when the database lets them",
                    self.run_id,
                    timeout,
                )

    def _record_added(self) -> None:
        """On a logging thread: make sure the writing thread runs and knows there is work."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(
                        target=self._work, name=f"spine-logs-{self.run_id[:8]}", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def _work(self) -> None:
        while True:
            self._wake.wait()
            # Let a burst of records gather into one write (unless closing).
            self._stop.wait(FLUSH_INTERVAL)
            self._wake.clear()
            self._flush()
            if self._stop.is_set():
                self._flush()  # what came in during the last write
                return

    def _flush(self) -> None:
        with self._lock:
            attempts = list(self._attempts)
        records = list(self._held)
        for attempt_log in attempts:
            records += [self._stored(attempt_log, taken) for taken in attempt_log.take()]
        if not records:
            return
        try:
            self.repository.write(records)
        except Exception as exc:  # never fail the run for its logs; try again next time
            log.warning(
                "run %s: could not write %d step log record(s), will try again: %s",
                self.run_id,
                len(records),
                exc,
            )
            self._held = records[-_HELD_MAX:]
            return
        self._held = []

    def _stored(self, attempt_log: AttemptLog, record: CapturedRecord) -> StepLogRecord:
        message = self.redactor.redact(record.message)
        if len(message) > MAX_MESSAGE_LENGTH:
            message = message[: MAX_MESSAGE_LENGTH - len(_CUT_MARK)] + _CUT_MARK
        return StepLogRecord(
            run_id=self.run_id,
            step_name=attempt_log.step_name,
            attempt=attempt_log.attempt,
            seq=record.seq,
            logged_at=datetime.fromtimestamp(record.created, UTC),
            level=record.level[:_LEVEL_LENGTH],
            logger=record.logger[: schema.NAME_LENGTH],
            message=message,
        )
