"""A remote executor without a broker: each attempt crosses a JSON boundary to a worker thread.

:class:`LoopbackExecutor` behaves as a remote executor does (``remote = True``): the runner
refuses workflows a worker could not rebuild and watches attempt heartbeats, and each attempt
goes out as ``StepRef.to_json()`` through ``json.dumps``/``json.loads`` and is run by
:func:`~spine_host.orchestration.remote_worker.run_step_ref` on a thread, on the worker host
you give it (the same configuration and plugins, as a real worker builds), its outcome coming
back through JSON too. So a plugin author can check that a workflow runs on a remote executor
(spine-celery) without a broker::

    host = Host(plugins=[my_plugin, loopback_plugin(worker_host)], ...)
    WorkflowRunner(host).run("my.workflow", executor="loopback")

``lose`` makes the worker "die" for chosen attempts: it claims them and then neither runs nor
heartbeats them, as a worker killed with ``kill -9`` mid-step; the runner must find them silent,
record them CRASHED and retry them by policy.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from spine_host.orchestration.attempt_claims import AttemptClaims
from spine_host.orchestration.remote_worker import run_step_ref, worker_id
from spine_host.orchestration.step_ref import StepRef, outcome_from_json, outcome_to_json
from spine_host.plugins import hookimpl

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.step_ref import StepWork
    from spine_host.orchestration.steps import AttemptOutcome
    from spine_host.registry import Register

__all__ = ["LoopbackExecutor", "loopback_plugin"]


class LoopbackExecutor:
    """Runs attempts by reference on threads, through JSON (satisfies ``Executor``).

    Args:
        worker_host: the host the "worker" runs attempts on.
        lose: ``(step, attempt)`` pairs the worker claims and then abandons silently.
        mute: ``(step, attempt)`` pairs the worker runs and records, but never answers.
        sent: every reference sent, as JSON (what a broker message would carry).
    """

    remote = True

    def __init__(
        self,
        worker_host: Host,
        *,
        lose: Collection[tuple[str, int]] = (),
        mute: Collection[tuple[str, int]] = (),
        sent: list[dict[str, Any]] | None = None,
    ) -> None:
        self.worker_host = worker_host
        self.lose = set(lose)
        self.mute = set(mute)
        self.sent = sent if sent is not None else []
        self.worker = worker_id()

    def submit(self, work: StepWork) -> Future[AttemptOutcome]:
        """Send ``work.ref`` through JSON to a worker thread; a future for its outcome."""
        message = json.dumps(work.ref.to_json())
        self.sent.append(json.loads(message))
        future: Future[AttemptOutcome] = Future()
        threading.Thread(
            target=self._work, args=(message, future), name="spine-loopback", daemon=True
        ).start()
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to stop: each attempt has its own thread."""

    def _work(self, message: str, future: Future[AttemptOutcome]) -> None:
        ref = StepRef.from_json(json.loads(message))
        if (ref.step, ref.attempt) in self.lose:
            # Claimed, then the worker "dies": no run, no heartbeat, no answer.
            AttemptClaims(self.worker_host.storage).claim(ref, f"{self.worker}-lost")  # type: ignore[arg-type]
            return
        outcome = run_step_ref(self.worker_host, ref, worker=self.worker)
        if (ref.step, ref.attempt) in self.mute:
            return  # ran and recorded its end, but its answer is lost
        future.set_result(outcome_from_json(json.loads(json.dumps(outcome_to_json(outcome)))))


def loopback_plugin(
    make_executor: Callable[[Host], LoopbackExecutor], name: str = "loopback"
) -> object:
    """A plugin object registering executor ``name``, built per run by ``make_executor(host)``."""

    class _Loopback(LoopbackExecutor):
        @classmethod
        def from_host(cls, host: Host, executor_name: str, config: Any) -> LoopbackExecutor:
            return make_executor(host)

    class _Plugin:
        @hookimpl
        def spine_register_executors(self, register: Register[type[Any]]) -> None:
            register(name, _Loopback)

    return _Plugin()
