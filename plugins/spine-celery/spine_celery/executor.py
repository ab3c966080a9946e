"""The ``celery`` executor: workflow steps run on Celery workers, recorded in spine's database.

::

    [executors.celery]
    broker_url = "redis://127.0.0.1:6379/0"

    Workflow("otc.weekly", steps, executor="celery")   # or per run: --executor celery

Guarantees (the runner's, kept across the process boundary):

- what crosses to a worker is the attempt by reference (``StepRef.to_json()``: names, params,
  upstream outputs, run id, attempt, fencing token), never a closure; the runner refuses steps
  a worker could not rebuild before anything is recorded;
- ``submit`` returns once the message is with the broker; a broker that is down is a SpineError
  (DEPENDENCY, retryable) naming it, password masked, within about twice ``connect_timeout``;
- the attempt's outcome is the worker's answer, read from the result backend by one thread
  per executor and deleted once read; a duplicate delivery that was not run never counts as
  the attempt's outcome;
- a worker that dies does not lose the attempt: it stops heartbeating it, and the runner
  records it CRASHED after ``stale_after`` and retries it by the step's policy, on any worker.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from spine_celery.config import CeleryConfig
from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from spine_celery._broker_thread import BrokerThread
    from spine_host.host import Host
    from spine_host.orchestration.step_ref import StepWork
    from spine_host.orchestration.steps import AttemptOutcome

__all__ = ["CeleryExecutor"]


class CeleryExecutor:
    """Sends each attempt to a Celery queue and waits for its worker's answer (an ``Executor``).

    Built per run by the host (``from_host``); it connects on the first ``submit``, so building
    one (``spine config check``) costs nothing.

    Args:
        config: the ``[executors.celery]`` table.
        host: the runner's host; its database settles answers that say nothing (a duplicate
            delivery) and attempts whose answer never came. Without it, every answer counts.
        name: the executor's registered name, for messages.
    """

    Config = CeleryConfig

    #: Steps run in worker processes: the runner refuses inline callables and watches the
    #: attempts' heartbeats.
    remote = True

    def __init__(
        self, config: CeleryConfig | None = None, *, host: Host | None = None, name: str = "celery"
    ) -> None:
        self.config = config or CeleryConfig()
        self.host = host
        self.name = name
        self._lock = threading.Lock()
        self._thread: BrokerThread | None = None
        self._closed = False

    @classmethod
    def from_host(cls, host: Host, name: str, config: CeleryConfig) -> CeleryExecutor:
        """The executor for one run on ``host``, configured from ``[executors.NAME]``."""
        return cls(config, host=host, name=name)

    def submit(self, work: StepWork) -> Future[AttemptOutcome]:
        """Publish ``work.ref`` to its queue (the step's, the workflow's, else ``queue``)."""
        queue_name = work.ref.queue or self.config.queue
        return self._broker_thread().send(work.ref, queue_name)

    def shutdown(self, wait: bool = True) -> None:
        """Publish nothing more and close the broker connections; attempts already sent run
        on and record their ends themselves. ``wait``: until the connections are closed."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.close(wait=wait)

    def health(self) -> str:
        """Reach the broker and the result backend once; what was reached, passwords masked.

        Raises a SpineError (DEPENDENCY) naming the one that did not answer.
        """
        from spine_celery.app import celery_app, check_broker, check_result_backend, close_app

        app = celery_app(self.config)
        try:
            check_broker(app, self.config)
            check_result_backend(app, self.config)
        finally:
            close_app(app)
        return (
            f"broker {self.config.broker_label} reachable, result backend "
            f"{self.config.backend_label}, default queue {self.config.queue!r}"
        )

    def __repr__(self) -> str:
        return f"CeleryExecutor({self.name!r}, broker={self.config.broker_label!r})"

    def _broker_thread(self) -> BrokerThread:
        with self._lock:
            if self._closed:
                raise SpineError(
                    f"executor {self.name!r} was shut down", category=ErrorCategory.INTERNAL
                )
            if self._thread is None:
                from spine_celery._broker_thread import BrokerThread

                self._thread = BrokerThread(
                    self.config, storage=_sqlalchemy_storage(self.host), name=f"spine-{self.name}"
                )
            return self._thread


def _sqlalchemy_storage(host: Host | None) -> Any:
    if host is None:
        return None
    from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

    storage = host.storage
    return storage if isinstance(storage, SqlAlchemyAdapter) else None
