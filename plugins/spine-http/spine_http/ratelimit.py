"""A requests-per-second limit shared by every request one source sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Spaces requests at least ``1 / requests_per_second`` seconds apart.

    A token bucket holding one token: no burst, so a server's per-second limit is respected
    even at the start of a run. Threads share the limiter safely: each reserves its own slot
    under a lock and sleeps outside it.

    Args:
        requests_per_second: the highest request rate allowed (> 0).
        clock: monotonic seconds; injectable for tests.
        sleep: how to wait; injectable for tests.
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError(f"requests_per_second must be > 0, got {requests_per_second!r}")
        self.interval = 1.0 / requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: float | None = None

    def acquire(self) -> float:
        """Wait until a request may be sent; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait
