"""The builtin ``local`` executor: workflow steps on a pool of daemon threads.

Why not ``concurrent.futures.ThreadPoolExecutor``: a step that overruns its timeout cannot be
killed in Python, so the runner abandons it. In a fixed-size pool such a thread would hold a
worker forever (later steps queue behind it), and the interpreter joins pool threads at exit,
so one stuck step would keep the process alive. This pool starts a new worker whenever none is
idle (the runner already bounds concurrency to ``max_concurrency``) and its workers are daemon
threads, so an abandoned step neither starves the run nor blocks exit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spine_host.orchestration.step_ref import StepWork
    from spine_host.orchestration.steps import AttemptOutcome

__all__ = ["LocalExecutor"]

_STOP = None


class LocalExecutor:
    """Runs submitted callables on daemon threads, reusing idle ones (satisfies ``Executor``).

    Args:
        max_idle: idle workers kept waiting for work; extra ones exit.
        name: thread name prefix, visible in stack dumps.
    """

    def __init__(self, *, max_idle: int = 8, name: str = "spine-step") -> None:
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._idle = 0
        self._workers: list[threading.Thread] = []
        self._max_idle = max_idle
        self._name = name
        self._closed = False

    #: Steps run in this process: the runner may hand over any step, callables included.
    remote = False

    def submit(self, work: StepWork) -> Future[AttemptOutcome]:
        """Run the attempt ``work`` on a worker thread; a future for its outcome."""
        return self.call(work.run_here)

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Start ``fn(*args, **kwargs)`` on a worker and return a future for its result."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to an executor that was shut down")
            if self._idle == 0:
                self._start_worker()
            else:
                self._idle -= 1
        self._work.put((future, lambda: fn(*args, **kwargs)))
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, wait for workers that are not stuck in a step.

        Idle workers exit at once; busy ones finish their step first. Waiting is bounded per
        worker so an abandoned (timed-out) step cannot hang the caller.
        """
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for _ in workers:
            self._work.put(_STOP)
        if wait:
            for worker in workers:
                worker.join(timeout=1.0)

    def _start_worker(self) -> None:
        worker = threading.Thread(
            target=self._work_loop, name=f"{self._name}-{len(self._workers) + 1}", daemon=True
        )
        self._workers.append(worker)
        worker.start()

    def _work_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is _STOP:
                return
            future, call = item
            if future.set_running_or_notify_cancel():
                try:
                    result = call()
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del item, future, call  # drop references before idling
            with self._lock:
                if self._closed or self._idle >= self._max_idle:
                    self._workers.remove(threading.current_thread())
                    return
                self._idle += 1
