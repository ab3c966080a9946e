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
    pid, (namespace, _, started) = int(parts[1]), parts[3].partition("-")
    if pid == os.getpid():
        # This process: its owners are alive exactly while registered; an unregistered one
        # (a runner that stopped, or a test standing in for a frozen one) is left to the
        # heartbeat, as another host's would be.
        return Liveness.UNKNOWN
    own = _identity(os.getpid())
    if not own or namespace != own.partition("-")[0]:
        return Liveness.UNKNOWN  # no /proc, or another pid namespace (a container) on this host
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return Liveness.DEAD
    except PermissionError:
        pass  # it exists, run by another user
    except OSError:
        return Liveness.UNKNOWN
    state = _stat(pid)
    if state is None:
        # It exists but /proc hides it (hidepid): it may be the owner; never reap what may live.
        return Liveness.ALIVE
    status, start = state
    if status in ("Z", "X") or start != started:
        return Liveness.DEAD  # finished, or the pid now belongs to a later process
    return Liveness.ALIVE


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
    except OSError:
        return ""
    state = _stat(pid)
    if state is None:
        return ""
    inode = namespace.partition("[")[2].rstrip("]")
    return f"{inode}-{state[1]}"


def _stat(pid: int) -> tuple[str, str] | None:
    """The state letter and start time (ticks since boot) of ``pid``, from ``/proc/PID/stat``.

    Readable for every user's processes (unlike ``/proc/PID/ns``), unless ``/proc`` is mounted
    with ``hidepid``; None when it cannot be read.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name, fields[0] is field 3 (state) and fields[19] field 22 (starttime).
    if len(fields) < 20:
        return None
    return fields[0], fields[19]
