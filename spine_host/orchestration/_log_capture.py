"""Capturing what a step logs: one root handler that hands each record to the attempt it
belongs to, found through a context variable set on the thread running that attempt.

The run loop submits each attempt as ``run_logged(log, run_attempt, ...)``, which sets
:data:`current_attempt_log` around the code that calls the step, on the executor's worker
thread. Records that thread creates meanwhile, through any logger, go to that attempt's
:class:`AttemptLog`; records of other threads (the runner's loop, the heartbeat, another step,
a thread the step started itself) carry no attempt and are not kept. A new thread starts with
an empty context, so nothing leaks from one attempt to another.

Keeping a record costs the step's thread a formatted message and an append under a lock; the
database write happens elsewhere, in batches (:mod:`~spine_host.orchestration._log_writer`).
Each attempt keeps at most :data:`MAX_RECORDS` records, then counts the ones it drops and says
so in one last record. Nothing here raises into the step: a record that cannot be formatted is
kept as its raw message.

Level: records of :data:`CAPTURE_LEVEL` (INFO) and above are kept. A logger's own level check
comes before any handler, and the command line leaves the root logger at WARNING, so while a
run is capturing (:func:`capturing`) the root logger is lowered to INFO and every handler that
was there before gets a filter that lets through only what it would have seen anyway: what
people see on their terminal does not change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, TypeVar

import attrs

__all__ = [
    "CAPTURE_LEVEL",
    "MAX_MESSAGE_LENGTH",
    "MAX_RECORDS",
    "SPINE_LOGGER",
    "AttemptLog",
    "CapturedRecord",
    "attempt_logging",
    "capturing",
    "current_attempt_log",
    "run_logged",
]

T = TypeVar("T")

#: Records below this level are not kept.
CAPTURE_LEVEL = logging.INFO
#: Records kept per attempt; later ones are counted in one last record.
MAX_RECORDS = 1000
#: Characters kept of each message (after redaction).
MAX_MESSAGE_LENGTH = 4000
#: Characters held in memory per message until it is redacted and cut: twice the limit, so a
#: secret that starts before the cut is still whole when it is masked.
_HELD_LENGTH = 2 * MAX_MESSAGE_LENGTH
#: The logger named by the records spine adds itself (dropped records, an attempt let go).
SPINE_LOGGER = "spine_host.orchestration.runner"

#: The log of the attempt whose step code runs in this context (None elsewhere).
current_attempt_log: ContextVar[AttemptLog | None] = ContextVar("spine_attempt_log", default=None)


@attrs.frozen
class CapturedRecord:
    """One record as captured: not yet redacted nor cut to :data:`MAX_MESSAGE_LENGTH`."""

    seq: int
    created: float
    level: str
    logger: str
    message: str


class AttemptLog:
    """The records one attempt logged, waiting to be written.

    Args:
        step_name: the step.
        attempt: the attempt's number.
        on_record: called (on the logging thread) after each record is added.
    """

    def __init__(self, step_name: str, attempt: int, on_record: Callable[[], None]) -> None:
        self.step_name = step_name
        self.attempt = attempt
        self._on_record = on_record
        self._lock = threading.Lock()
        self._pending: list[CapturedRecord] = []
        self._kept = 0
        self._dropped = 0
        self._next_seq = 1
        self._closed = False

    def add(self, record: logging.LogRecord) -> None:
        """Keep ``record`` (on the step's thread), or count it once the limit is reached."""
        if self._closed:
            return
        if self._kept >= MAX_RECORDS:  # cheap first look: no formatting for a dropped record
            with self._lock:
                self._dropped += 1
            return
        message = _message(record)
        with self._lock:
            if self._closed:
                return
            if self._kept >= MAX_RECORDS:
                self._dropped += 1
                return
            self._kept += 1
            self._append(record.created, record.levelname, record.name, message)
        self._on_record()

    def close(self) -> None:
        """The attempt's code returned: keep nothing more; say how many records were dropped."""
        self._end(None)

    def let_go(self, reason: str) -> None:
        """The runner let the attempt go (``reason``): say so, keep nothing it logs afterwards."""
        self._end(f"the runner let this attempt go: {reason}")

    def take(self) -> list[CapturedRecord]:
        """The records kept since the last call, in order."""
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

    def _end(self, note: str | None) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            now = time.time()
            if self._dropped:
                self._append(
                    now,
                    "WARNING",
                    SPINE_LOGGER,
                    f"{self._dropped} more log record(s) of this attempt were not kept "
                    f"(at most {MAX_RECORDS} per attempt)",
                )
            if note is not None:
                self._append(now, "WARNING", SPINE_LOGGER, note)
        self._on_record()

    def _append(self, created: float, level: str, logger: str, message: str) -> None:
        self._pending.append(CapturedRecord(self._next_seq, created, level, logger, message))
        self._next_seq += 1


@contextmanager
def attempt_logging(log: AttemptLog | None) -> Iterator[None]:
    """Route this context's log records to ``log`` for the block (nothing when None)."""
    if log is None:
        yield
        return
    token = current_attempt_log.set(log)
    try:
        yield
    finally:
        current_attempt_log.reset(token)
        log.close()


def run_logged(log: AttemptLog | None, fn: Callable[..., T], /, *args: Any) -> T:
    """``fn(*args)`` with this thread's records kept in ``log`` (on an executor's worker)."""
    with attempt_logging(log):
        return fn(*args)


@contextmanager
def capturing() -> Iterator[None]:
    """Keep the attempts' records for the block (nestable, thread-safe: one handler in all)."""
    _INSTALLATION.acquire()
    try:
        yield
    finally:
        _INSTALLATION.release()


class _AttemptHandler(logging.Handler):
    """Hands each record to the attempt log of its context, if any."""

    def handle(self, record: logging.LogRecord) -> bool:
        """Keep the record for its attempt; stand in for ``logging.lastResort`` if needed."""
        log = current_attempt_log.get()
        if log is not None and record.levelno >= self.level:
            with suppress(Exception):  # never let logging fail a step
                log.add(record)
        _last_resort(record, self)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Unused: :meth:`handle` does the work."""


class _AsBefore(logging.Filter):
    """Lets through what a handler saw before the root logger was lowered to INFO.

    A record passed its logger's level check; if some logger on its way to the root has a
    level of its own, that check was the one that counted before too. Otherwise the root's
    former level decided.
    """

    def __init__(self, root_level: int) -> None:
        super().__init__()
        self.root_level = root_level

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` would have reached the handler before."""
        if record.levelno >= self.root_level:
            return True
        return _own_level(record.name) is not None


class _Installation:
    """The one handler on the root logger while any run captures, and what it changed.

    Logging is process-wide, so this is too: one instance, shared by every runner.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._handler: _AttemptHandler | None = None
        self._filter: _AsBefore | None = None
        self._filtered: list[logging.Handler] = []

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            root = logging.getLogger()
            self._handler = _AttemptHandler(CAPTURE_LEVEL)
            if root.level > CAPTURE_LEVEL:
                self._filter = _AsBefore(root.level)
                self._filtered = _all_handlers()
                for handler in self._filtered:
                    handler.addFilter(self._filter)
                root.setLevel(CAPTURE_LEVEL)
            root.addHandler(self._handler)

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            root = logging.getLogger()
            if self._handler is not None:
                root.removeHandler(self._handler)
            if self._filter is not None:
                for handler in self._filtered:
                    handler.removeFilter(self._filter)
                if root.level == CAPTURE_LEVEL:  # still as this left it: put it back
                    root.setLevel(self._filter.root_level)
            self._handler, self._filter, self._filtered = None, None, []


_INSTALLATION = _Installation()


def _message(record: logging.LogRecord) -> str:
    """The record's message with its traceback, held up to :data:`_HELD_LENGTH` characters."""
    try:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{_FORMATTER.formatException(record.exc_info)}"
        if record.stack_info:
            message = f"{message}\n{record.stack_info}"
    except Exception:
        message = f"{record.msg!s} (its arguments could not be formatted)"
    return message[:_HELD_LENGTH]


_FORMATTER = logging.Formatter()


def _own_level(name: str) -> int | None:
    """The level set on logger ``name`` or an ancestor below the root, if any."""
    logger: logging.Logger | None = logging.getLogger(name)
    root = logging.getLogger()
    while logger is not None and logger is not root:
        if logger.level:
            return logger.level
        logger = logger.parent
    return None


def _all_handlers() -> list[logging.Handler]:
    """Every handler of the root logger and of the loggers created so far."""
    loggers = [logging.getLogger()]
    loggers += [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    found: dict[int, logging.Handler] = {}
    for logger in loggers:
        for handler in logger.handlers:
            found[id(handler)] = handler
    return list(found.values())


def _last_resort(record: logging.LogRecord, own: logging.Handler) -> None:
    """Do what logging does for a record no handler saw: this handler must not hide it."""
    last = logging.lastResort
    if last is None or record.levelno < last.level:
        return
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        if any(handler is not own for handler in logger.handlers):
            return
        logger = logger.parent if logger.propagate else None
    last.handle(record)
