"""Fencing: spine accepts a commit only while the work making it is still the live attempt.

A workflow step that overran its timeout keeps running in its thread (Python cannot stop a
thread); a runner that was reaped may wake up and carry on. Neither may change spine's tables
any more. So the work runs inside ``with fenced(fence):`` and, on that thread, every commit of
a block that may write (each autocommit call, each ``transaction()`` block, each ``commit()``)
first asks the thread's fences, in the same transaction, whether the work is still live:

- :meth:`Fence.revoke` (the runner timing the attempt out, or letting it go) is checked in
  process. It takes the fence's lock, which a commit holds from its check to its COMMIT, so a
  commit either finished before the revoke returned or is refused after it;
- each fence's database checks (the run still owned by the runner, the execution still its
  owner's) run on the committing connection, so a reaper in another process that took the
  run first makes the commit fail, and one that comes later waits for it (row lock).

A refused commit is rolled back and raises :class:`FencedError`. What the work does outside
spine's storage (files, HTTP calls, its own connections) is not fenced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError

__all__ = [
    "Fence",
    "FenceCheck",
    "FencedError",
    "active_fences",
    "fenced",
    "guard_commit",
    "share_locked",
]

#: A database check: None while the work is live, else why it is not. Runs on the committing
#: connection inside its transaction.
FenceCheck = Callable[[sa.Connection], "str | None"]


class FencedError(SpineError):
    """A commit refused because the work making it is no longer the live attempt."""

    def __init__(self, fence: str, reason: str) -> None:
        super().__init__(
            f"{fence} is no longer live ({reason}); its commit was refused and rolled back",
            category=ErrorCategory.INTERNAL,
            retryable=False,
            context={"fence": fence, "reason": reason},
        )


class Fence:
    """The liveness of one piece of work (an attempt, an execution), checked at each commit.

    Args:
        name: what the work is, for messages (``step 'load' attempt 2 of run 1f3a...``).
        checks: database checks run on the committing connection before each commit.
    """

    def __init__(self, name: str, checks: Sequence[FenceCheck] = ()) -> None:
        self.name = name
        self.checks = list(checks)
        self._lock = threading.Lock()
        self._revoked: str | None = None

    @property
    def revoked(self) -> str | None:
        """Why the work was let go, or None while it is live."""
        return self._revoked

    def revoke(self, reason: str) -> None:
        """Refuse every later commit of the work; waits for a commit in progress to finish."""
        with self._lock:
            if self._revoked is None:
                self._revoked = reason

    @contextmanager
    def guarding(self, connection: sa.Connection) -> Iterator[None]:
        """Hold the fence around one COMMIT: raise :class:`FencedError` if the work is not live."""
        with self._lock:
            if self._revoked is not None:
                raise FencedError(self.name, self._revoked)
            for check in self.checks:
                reason = check(connection)
                if reason is not None:
                    raise FencedError(self.name, reason)
            yield


def share_locked(statement: sa.Select[Any], dialect: sa.Dialect) -> sa.Executable:
    """``statement`` reading rows share-locked until the transaction ends, on ``dialect``.

    A fence check reads the row a reaper would update; holding a share lock on it until the
    COMMIT makes the reaper wait for that commit instead of racing it. PostgreSQL: ``FOR
    SHARE``. DB2: ``WITH RS USE AND KEEP SHARE LOCKS`` (ibm_db_sa cannot compile
    ``with_for_update`` under SQLAlchemy 2). SQLite needs none: its writer holds the database.
    """
    if dialect.name == "postgresql":
        return statement.with_for_update(read=True)
    if dialect.name == "ibm_db_sa":
        return statement.suffix_with("WITH RS USE AND KEEP SHARE LOCKS", dialect="ibm_db_sa")
    return statement


class _ThreadFences(threading.local):
    stack: list[Fence]

    def __init__(self) -> None:
        self.stack = []


_fences = _ThreadFences()


@contextmanager
def fenced(fence: Fence) -> Iterator[Fence]:
    """Run the block's commits on this thread under ``fence`` (and any enclosing fences)."""
    _fences.stack.append(fence)
    try:
        yield fence
    finally:
        _fences.stack.remove(fence)


def active_fences() -> tuple[Fence, ...]:
    """The fences guarding this thread's commits, outermost first."""
    return tuple(_fences.stack)


@contextmanager
def guard_commit(connection: sa.Connection) -> Iterator[None]:
    """Hold every fence of this thread around one COMMIT on ``connection``."""
    fences = _fences.stack
    if not fences:
        yield
        return
    with ExitStack() as stack:
        for fence in list(fences):
            stack.enter_context(fence.guarding(connection))
        yield
