"""The one thread through which a :class:`~spine_celery.executor.CeleryExecutor` talks to Celery.

Celery's result backends are not safe to share between threads (its ``rpc://`` backend even
names its reply queue after the thread), so every Celery call of an executor happens here:
``send`` hands an attempt to this thread and waits until it is published (or refused: a broker
that is down is an error within ``connect_timeout``, never a hang); the thread collects the
answers and resolves each attempt's future.

Collecting, cheapest first:

1. answers arrive through the backend's own consumer (Redis pub/sub, RabbitMQ reply queue),
   read without blocking each time the thread wakes: at once when a step is submitted, else
   every 0.5 ms for 50 ms after the last submit or answer, then after a wait that doubles up
   to 50 ms while nothing happens, so short steps are answered within a millisecond and a
   long one costs a wake-up per 50 ms;
2. every few seconds each answer still awaited is read directly from the backend, in case its
   message was missed (a reconnect);
3. an answer saying the message was not run (a duplicate delivery: the attempt is another
   worker's) is not the attempt's outcome: the history decides (see
   :mod:`~spine_celery._recorded`), and an attempt whose end is recorded but whose answer never
   came is resolved from its row.

Each answer is deleted from the backend once read.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import attrs

from spine_celery._recorded import RecordedAttempt, recorded_attempt
from spine_celery.app import TASK_NAME, celery_app, close_app, publish_failed
from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.records import StepStatus
from spine_host.orchestration.remote_worker import NOT_CLAIMED
from spine_host.orchestration.step_ref import outcome_from_json
from spine_host.orchestration.steps import AttemptOutcome
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from celery import Celery  # type: ignore[import-untyped]
    from celery.result import AsyncResult  # type: ignore[import-untyped]

    from spine_celery.config import CeleryConfig
    from spine_host.orchestration.step_ref import StepRef
    from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter

__all__ = ["BrokerThread"]

log = logging.getLogger(__name__)

_FIRST_WAIT = 0.0005
_LONGEST_WAIT = 0.05
#: Seconds after the last activity during which the thread keeps polling at ``_FIRST_WAIT``:
#: most steps answer within this, and a doubling wait would add up to its last step.
_EAGER_FOR = 0.05
#: Seconds between direct reads of the answers still awaited.
_RECHECK_EVERY = 5.0
#: An attempt whose end has been recorded this long without an answer is resolved from history.
_ANSWER_GRACE = dt.timedelta(seconds=5)
#: Reads of the answer stream that find nothing before the thread stops reading it.
_QUIET_READS = 3
_READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})


@attrs.define(eq=False)
class _Send:
    """An attempt handed to the thread, and what became of it."""

    ref: StepRef
    queue: str
    future: Future[AttemptOutcome] = attrs.field(factory=Future)
    done: threading.Event = attrs.field(factory=threading.Event)
    error: SpineError | None = None
    abandoned: bool = False


@attrs.define(eq=False)
class _Awaited:
    """A published attempt whose answer has not been read yet."""

    ref: StepRef
    future: Future[AttemptOutcome]
    result: AsyncResult
    #: Celery's consumer will call back when ``result``'s answer arrives (it calls once).
    watched: bool = False


_STOP = object()


class BrokerThread:
    """Publishes attempts and collects their answers on one daemon thread.

    Args:
        config: the broker, result backend and timeouts.
        storage: spine's database, to settle answers that say nothing (see the module
            docstring); None leaves every answer to the runner.
        name: the thread's name.
    """

    def __init__(
        self,
        config: CeleryConfig,
        *,
        storage: SqlAlchemyAdapter | None = None,
        name: str = "spine-celery",
    ) -> None:
        self.config = config
        self.storage = storage
        self._requests: queue.SimpleQueue[_Send | object] = queue.SimpleQueue()
        self._awaited: dict[str, _Awaited] = {}
        self._arrived: list[tuple[str, str, Any]] = []
        self._answered = 0
        self._next_recheck = time.monotonic() + _RECHECK_EVERY
        self._closed = False
        self._is_async = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def send(self, ref: StepRef, queue_name: str) -> Future[AttemptOutcome]:
        """Publish attempt ``ref`` to ``queue_name``; a future for its outcome.

        Raises a SpineError (DEPENDENCY, retryable) naming the broker when it refused the
        message or did not take it within the time a connection may take.
        """
        if self._closed:
            raise SpineError(
                f"{ref.label}: the Celery executor was shut down", category=ErrorCategory.INTERNAL
            )
        request = _Send(ref, queue_name)
        self._requests.put(request)
        # Connecting, one quick retry, connecting again: past that the broker is not coming.
        limit = 2 * self.config.connect_timeout + 1.0
        if not request.done.wait(limit):
            # Published later after all, the message finds its attempt ended and does nothing.
            request.abandoned = True
            raise SpineError(
                f"the Celery broker {self.config.broker_label} did not take {ref.label} "
                f"within {limit:g}s",
                category=ErrorCategory.DEPENDENCY,
                retryable=True,
                context={"broker_url": self.config.broker_label},
            )
        if request.error is not None:
            raise request.error
        return request.future

    def close(self, wait: bool = True) -> None:
        """Stop: publish nothing more, stop collecting; with ``wait``, until the thread ended.

        Futures still waiting fail with a SpineError saying so. Their attempts run on: each
        worker records its attempt's end itself, and whoever drives the run reads it there.
        """
        self._closed = True
        self._requests.put(_STOP)
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.config.connect_timeout + 1.0)

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        app: Celery | None = None
        try:
            app = celery_app(self.config)
            self._is_async = bool(getattr(app.backend, "is_async", False))
            self._loop(app)
        except BaseException as exc:
            log.exception("the Celery executor's broker thread stopped")
            self._closed = True
            self._fail_everything(_stopped(exc))
        finally:
            self._closed = True
            self._fail_awaited()
            if app is not None:
                close_app(app)

    def _loop(self, app: Celery) -> None:
        wait = _FIRST_WAIT
        active_at = time.monotonic()
        while True:
            try:
                request = self._requests.get(timeout=wait if self._awaited else None)
            except queue.Empty:
                request = None
            busy = False
            while request is not None:
                if request is _STOP:
                    return
                self._publish(app, request)  # type: ignore[arg-type]
                busy = True
                try:
                    request = self._requests.get_nowait()
                except queue.Empty:
                    request = None
            if self._awaited:
                busy = self._collect(app) or busy
            now = time.monotonic()
            if busy:
                active_at = now
            eager = now - active_at < _EAGER_FOR
            wait = _FIRST_WAIT if busy or eager else min(wait * 2, _LONGEST_WAIT)

    def _publish(self, app: Celery, request: _Send) -> None:
        if request.abandoned:
            return
        try:
            result = app.send_task(TASK_NAME, args=(request.ref.to_json(),), queue=request.queue)
            if self._is_async:
                result.then(self._on_answer)
        except Exception as exc:
            request.error = publish_failed(self.config, request.ref, exc)
        else:
            awaited = _Awaited(request.ref, request.future, result, watched=self._is_async)
            self._awaited[result.id] = awaited
        request.done.set()

    def _on_answer(self, result: AsyncResult) -> None:
        # Called by Celery's consumer while it reads: only note the answer, handle it after.
        awaited = self._awaited.get(result.id)
        if awaited is not None and awaited.result is result:
            awaited.watched = False
        self._arrived.append((result.id, result.state, result.result))

    def _collect(self, app: Celery) -> bool:
        before = self._answered
        now = time.monotonic()
        recheck = now >= self._next_recheck
        if recheck:
            self._next_recheck = now + _RECHECK_EVERY
        if self._is_async:
            self._read_answer_stream(app)
        if recheck or not self._is_async:  # a backend without a stream is only read directly
            self._read_answers(app)
        if recheck:
            self._settle_from_history()
        return self._answered != before

    def _read_answer_stream(self, app: Celery) -> None:
        consumer = app.backend.result_consumer
        quiet = 0
        for _ in range(4 * len(self._awaited) + _QUIET_READS):
            arrived = len(self._arrived)
            try:
                consumer.drain_events(timeout=0)
            except TimeoutError:  # an AMQP consumer with nothing to read
                break
            except Exception as exc:  # Celery reconnects on the next read
                log.warning("reading Celery answers failed: %s", exc)
                break
            quiet = quiet + 1 if len(self._arrived) == arrived else 0
            if quiet >= _QUIET_READS:
                break
        self._handle_arrived(app)

    def _read_answers(self, app: Celery) -> None:
        """Read each awaited answer directly from the backend."""
        for task_id, awaited in list(self._awaited.items()):
            try:
                meta = app.backend.get_task_meta(task_id)
            except Exception as exc:
                log.warning("reading the answer to %s failed: %s", awaited.ref.label, exc)
                continue
            if meta.get("status") in _READY_STATES:
                self._arrived.append((task_id, meta["status"], meta.get("result")))
        self._handle_arrived(app)

    def _settle_from_history(self) -> None:
        """Resolve the attempts whose end was recorded a while ago but whose answer never came
        (the worker died after recording it, or the answer expired)."""
        if self.storage is None:
            return
        cutoff = utc_now() - _ANSWER_GRACE
        for task_id, awaited in list(self._awaited.items()):
            recorded = self._recorded(awaited.ref)
            if recorded is not None and recorded.outcome and recorded.ended_before(cutoff):
                log.warning("%s: no answer came; its recorded end is used", awaited.ref.label)
                self._resolve(task_id, recorded.outcome)

    def _handle_arrived(self, app: Celery) -> None:
        arrived, self._arrived = self._arrived, []
        for task_id, state, value in arrived:
            awaited = self._awaited.get(task_id)
            if awaited is None:
                continue  # answered already (a duplicate, or read twice)
            outcome = _outcome(awaited.ref, state, value)
            if _not_claimed(outcome):
                settled = self._settle(awaited.ref, outcome)
                if settled is None:
                    self._await_again(app, task_id, awaited)
                    continue
                outcome = settled
            self._resolve(task_id, outcome)

    def _settle(self, ref: StepRef, outcome: AttemptOutcome) -> AttemptOutcome | None:
        """The outcome of an attempt whose answer says its message was not run; None to keep
        waiting (another worker holds the attempt: its answer, or the runner's heartbeat
        check, decides)."""
        recorded = self._recorded(ref)
        if recorded is None or recorded.worker is None:
            return outcome  # never claimed: the worker's reason is the outcome
        if recorded.running:
            return None if recorded.same_token else outcome
        return recorded.outcome

    def _recorded(self, ref: StepRef) -> RecordedAttempt | None:
        if self.storage is None:
            return None
        try:
            return recorded_attempt(self.storage, ref)
        except Exception as exc:
            log.warning("reading %s from the history failed: %s", ref.label, exc)
            return None

    def _await_again(self, app: Celery, task_id: str, awaited: _Awaited) -> None:
        log.info("%s: a duplicate delivery was not run; waiting for its worker", awaited.ref.label)
        if not self._is_async or awaited.watched:
            return  # (read by a recheck: Celery still watches for the next answer)
        awaited.result = app.AsyncResult(task_id)
        try:
            awaited.result.then(self._on_answer)
        except Exception as exc:  # the next recheck reads it directly
            log.warning("watching %s again failed: %s", awaited.ref.label, exc)
        else:
            awaited.watched = True

    def _resolve(self, task_id: str, outcome: AttemptOutcome) -> None:
        awaited = self._awaited.pop(task_id)
        self._answered += 1
        try:
            awaited.result.forget()
        except Exception as exc:  # it expires anyway (result_expires)
            log.debug("forgetting the answer to %s failed: %s", awaited.ref.label, exc)
        if awaited.future.set_running_or_notify_cancel():
            awaited.future.set_result(outcome)

    def _fail_awaited(self) -> None:
        for awaited in self._awaited.values():
            if awaited.future.set_running_or_notify_cancel():
                awaited.future.set_exception(
                    SpineError(
                        f"{awaited.ref.label}: the Celery executor was shut down before its "
                        "answer came; the worker records its end in the history",
                        category=ErrorCategory.INTERNAL,
                    )
                )
        self._awaited.clear()

    def _fail_everything(self, error: SpineError) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if isinstance(request, _Send):
                request.error = error
                request.done.set()


def _outcome(ref: StepRef, state: str, value: Any) -> AttemptOutcome:
    """An answer as an outcome; one that is not a spine outcome fails the attempt, saying so."""
    if state == "SUCCESS":
        try:
            return outcome_from_json(value)
        except (KeyError, TypeError, ValueError, AttributeError):
            problem = f"an answer that is not a spine outcome: {str(value)[:200]}"
    else:
        problem = f"task state {state}: {type(value).__name__}: {value}"
    return AttemptOutcome(
        status=StepStatus.FAILED,
        error=SpineError(
            f"{ref.label}: the Celery worker gave {problem}",
            category=ErrorCategory.INTERNAL,
            retryable=True,
        ),
        execution_id=ref.execution_id,
    )


def _stopped(exc: BaseException) -> SpineError:
    from spine_host.redaction import redact_url

    return SpineError(
        redact_url(f"the Celery executor stopped: {type(exc).__name__}: {exc}"),
        category=ErrorCategory.INTERNAL,
        cause=exc if isinstance(exc, Exception) else None,
    )


def _not_claimed(outcome: AttemptOutcome) -> bool:
    return outcome.error is not None and bool(outcome.error.context.get(NOT_CLAIMED))
