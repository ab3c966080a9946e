"""Work an action starts and the page does not wait for: a resume, a retry, a run-now.

Each job runs on a thread of its own, named by what it works on (``run:<id>``,
``schedule:<name>``), so a page can say "still going" and refresh. The threads are not daemons:
a server asked to stop lets a run it started finish and record its end, instead of leaving it
RUNNING for the reaper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["BackgroundJobs"]

log = logging.getLogger(__name__)


class BackgroundJobs:
    """The jobs one server started, by key."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, key: str, work: Callable[[], None]) -> None:
        """Run ``work`` on a new thread under ``key``; an exception is logged, never lost."""

        def guarded() -> None:
            try:
                work()
            except BaseException:
                log.exception("spine-web job %s failed", key)

        thread = threading.Thread(target=guarded, name=f"spine-web {key}", daemon=False)
        with self._lock:
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            self._threads[key] = thread
        thread.start()

    def running(self, key: str) -> bool:
        """Whether a job under ``key`` is still going."""
        with self._lock:
            thread = self._threads.get(key)
        return thread is not None and thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every job (the server is stopping)."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)
