"""Who owns a run or an execution, and whether that owner is still alive.

An owner is one runner or dispatcher invocation, named ``host:pid:random:identity``, where
``identity`` is the process's pid namespace and start time (Linux ``/proc``). A heartbeat is
the only sign of life another host can see; on the same host the process table says more, and
says it at once:

- the owner's process is gone (or its pid now belongs to a process started later): DEAD, so
  the reaper need not wait for its heartbeat to go stale;
- the owner's process exists: ALIVE. On SQLite this outranks a stale heartbeat, because a step
  holding the database's one write lock for minutes also holds up its own runner's heartbeat;
- in this process, an owner is ALIVE while one of its heartbeats runs (:func:`owner_alive`);
- on another host, or when the owner cannot be read: UNKNOWN, and the heartbeat decides.
"""

from __future__ import annotations

import enum
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache

__all__ = ["Liveness", "abandoned", "new_owner", "owner_alive", "owner_liveness"]


class Liveness(enum.Enum):
    """What this host can tell about an owner."""

    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"


_live_here: Counter[str] = Counter()
_live_lock = threading.Lock()


def new_owner() -> str:
    """A name for one runner invocation, unique even across pid reuse and containers."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    identity = _identity(os.getpid())
    return f"{owner}:{identity}" if identity else owner


@contextmanager
def owner_alive(owner: str) -> Iterator[None]:
    """Mark ``owner`` alive in this process for the duration of the block (nestable)."""
    with _live_lock:
        _live_here[owner] += 1
    try:
        yield
    finally:
        with _live_lock:
            _live_here[owner] -= 1
            if _live_here[owner] <= 0:
                del _live_here[owner]


def owner_liveness(owner: str | None) -> Liveness:
    """ALIVE, DEAD or UNKNOWN for ``owner``, from what this host can see."""
    if not owner:
        return Liveness.UNKNOWN
    with _live_lock:
        if owner in _live_here:
            return Liveness.ALIVE
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return Liveness.UNKNOWN
    pid, identity = int(parts[1]), parts[3]
    if pid == os.getpid():
        # This process: its owners are alive exactly while registered; an unregistered one
        # (a runner that stopped, or a test standing in for a frozen one) is left to the
        # heartbeat, as another host's would be.
        return Liveness.UNKNOWN
    if identity.split("-")[0] != _identity(os.getpid()).split("-")[0]:
        return Liveness.UNKNOWN  # another pid namespace (container) that shares the host name
    current = _identity(pid)
    if not current:
        return Liveness.DEAD if _proc_readable() else Liveness.UNKNOWN
    return Liveness.ALIVE if current == identity else Liveness.DEAD


def abandoned(
    owner: str | None,
    heartbeat_at: datetime | None,
    cutoff: datetime,
    *,
    heartbeats_can_block: bool,
) -> bool:
    """Whether work owned by ``owner``, last heard of at ``heartbeat_at``, is abandoned.

    Its process is known dead: yes, at once. Known alive: no where a held lock can delay
    heartbeats (``heartbeats_can_block``, SQLite), else only if the heartbeat is older than
    ``cutoff`` (the process is alive but frozen). Unknown: the heartbeat decides.
    """
    liveness = owner_liveness(owner)
    if liveness is Liveness.DEAD:
        return True
    if liveness is Liveness.ALIVE and heartbeats_can_block:
        return False
    return heartbeat_at is None or heartbeat_at < cutoff


def _identity(pid: int) -> str:
    """``<pid namespace inode>-<start time in ticks>`` of process ``pid``; '' if unreadable."""
    try:
        namespace = os.readlink(f"/proc/{pid}/ns/pid")
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    # Field 22 of /proc/PID/stat is the start time; fields[0] here is field 3.
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # a zombie has finished: it is dead
        return ""
    inode = namespace.partition("[")[2].rstrip("]")
    return f"{inode}-{fields[19]}"


@cache
def _proc_readable() -> bool:
    return bool(_identity(os.getpid()))
