"""The worker's side: the ``spine.run_attempt`` task and the spine host each process builds once.

A message carries one attempt by reference (:class:`~spine_host.orchestration.step_ref.StepRef`
as JSON). The task rebuilds nothing but the reference: each worker process builds its
:class:`~spine_host.host.Host` once, from the ``spine.toml`` its ``spine worker`` was started
with (same plugins, same database as the runners), and runs the attempt with
:func:`~spine_host.orchestration.remote_worker.run_step_ref`, which claims it, heartbeats it,
runs it as the local executor would and records its end. The answer is the outcome as JSON.

The task never raises: a reference it cannot read (another spine-host version) or a host it
cannot build is answered as a FAILED outcome saying so, which the runner records and retries by
the step's policy, perhaps on a worker that is configured right.

Prefork pool processes each build their own host (the parent's would share its database
connections across ``fork``); the solo and threads pools use the worker process's one host.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from celery import Task  # type: ignore[import-untyped]  # Celery ships no type hints

from spine_celery.app import TASK_NAME
from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.records import StepStatus
from spine_host.orchestration.step_ref import StepRef, outcome_to_json
from spine_host.orchestration.steps import AttemptOutcome

if TYPE_CHECKING:
    from celery import Celery

    from spine_host.host import Host

__all__ = ["RunAttempt", "WorkerHost", "register_task"]

log = logging.getLogger(__name__)


def register_task(app: Celery) -> RunAttempt:
    """Register ``spine.run_attempt`` on ``app``; the task object (its ``worker_host`` too)."""
    task = RunAttempt()
    registered: RunAttempt = app.register_task(task)
    return registered


class WorkerHost:
    """This process's spine host and worker identity, built on first use, once per process.

    Args:
        config_path: the ``spine.toml`` to build from; None: ``$SPINE_CONFIG`` or
            ``./spine.toml`` as the CLI finds them.
    """

    def __init__(self, config_path: str | None = None) -> None:
        self.config_path = config_path
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._host: Host | None = None
        self._worker = ""

    def get(self) -> tuple[Host, str]:
        """The host and the worker name attempts are claimed under (``host:pid:nonce``)."""
        pid = os.getpid()
        if self._pid != pid and self._host is not None:
            # A forked pool process: the parent's host (and its lock) stay the parent's.
            self._lock = threading.Lock()
            self._host = None
        with self._lock:
            if self._host is None:
                from spine_host.host import Host
                from spine_host.orchestration.liveness import new_owner

                self._host = Host.from_config(self.config_path)
                self._worker = new_owner()
                self._pid = pid
                log.info("spine host ready in process %d (worker %s)", pid, self._worker)
            return self._host, self._worker

    def close(self) -> None:
        """Release this process's host (its database connections), if it built one."""
        with self._lock:
            if self._host is not None and self._pid == os.getpid():
                self._host.close()
            self._host = None


class RunAttempt(Task):  # type: ignore[misc]
    """``spine.run_attempt(step_ref_json) -> outcome_json``: one attempt, by reference."""

    name = TASK_NAME
    acks_late = True
    reject_on_worker_lost = True
    # The payload is validated by StepRef.from_json, which says what is wrong with it.
    typing = False

    def __init__(self) -> None:
        self._worker_host: WorkerHost | None = None
        self._lock = threading.Lock()

    @property
    def worker_host(self) -> WorkerHost:
        """The host this process runs attempts on (from the app's ``spine_config``)."""
        with self._lock:
            if self._worker_host is None:
                self._worker_host = WorkerHost(self.app.conf.get("spine_config"))
            return self._worker_host

    def run(self, payload: Any) -> dict[str, Any]:
        """Claim and run the attempt ``payload`` refers to; its outcome as JSON."""
        from spine_host.orchestration.remote_worker import run_step_ref

        try:
            ref = StepRef.from_json(payload)
        except SpineError as exc:
            return _failed(exc, None)
        try:
            host, worker = self.worker_host.get()
        except Exception as exc:
            error = SpineError(
                f"the worker process {os.getpid()} could not build its spine host from "
                f"{self.worker_host.config_path or 'the default configuration'}: {exc}",
                category=ErrorCategory.CONFIG,
                retryable=True,  # another worker may be configured right
                cause=exc,
            )
            return _failed(error, ref)
        try:
            outcome = run_step_ref(host, ref, worker=worker)
        except Exception as exc:  # its claim or its end could not be written
            return _failed(host.classify(exc), ref)
        return outcome_to_json(outcome)


def _failed(error: SpineError, ref: StepRef | None) -> dict[str, Any]:
    log.error("%s: %s", ref.label if ref else "a spine message", error.message)
    outcome = AttemptOutcome(
        status=StepStatus.FAILED, error=error, execution_id=ref.execution_id if ref else None
    )
    return outcome_to_json(outcome)
