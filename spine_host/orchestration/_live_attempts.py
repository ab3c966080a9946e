"""The attempts a run waits for: their futures and deadlines, and how they are let go.

Python cannot kill a thread. When an attempt overruns its step's timeout (or the run overruns
its own), :class:`LiveAttempts` revokes its fence (so nothing it commits through spine's
storage from then on is accepted), sets its ``context.cancelled`` event, stops waiting for it
and ignores whatever it returns later; the run loop records it TIMED_OUT. Its worker thread
runs on in the background until the step's code returns; its log says it was let go and keeps
nothing more. The same happens to every live attempt when the run is cancelled (they end
CANCELLED), the runner is interrupted (they end CRASHED) or the run is taken from it (nothing
more is written).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.records import StepStatus
from spine_host.orchestration.steps import AttemptOutcome

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration._log_capture import AttemptLog
    from spine_host.orchestration.records import StepAttempt
    from spine_host.orchestration.steps import StepContext
    from spine_host.orchestration.workflow import Step, Workflow

__all__ = ["LiveAttempt", "LiveAttempts", "run_timeout_error", "step_timeout_error"]


@attrs.define
class LiveAttempt:
    """An attempt the loop is waiting for.

    Attributes:
        step: the step it runs.
        record: its RUNNING history record.
        context: what the step received (``cancelled`` lets it go).
        tries: how many attempts of the step this run made so far, this one included.
        deadline: ``time.monotonic()`` past which it is abandoned, if the step has a timeout.
        logs: where what it logs is kept.
    """

    step: Step
    record: StepAttempt
    context: StepContext
    tries: int
    deadline: float | None
    logs: AttemptLog | None = None


class LiveAttempts:
    """The submitted attempts of one run, by their futures.

    Args:
        host: classifies what an executor raised instead of returning an outcome.
    """

    def __init__(self, host: Host) -> None:
        self.host = host
        self._live: dict[Future[AttemptOutcome], LiveAttempt] = {}

    def __len__(self) -> int:
        return len(self._live)

    def add(self, future: Future[AttemptOutcome], live: LiveAttempt) -> None:
        """Wait for ``future``, the attempt ``live``."""
        self._live[future] = live

    def deadlines(self) -> list[float]:
        """The deadlines of the live attempts that have one."""
        return [live.deadline for live in self._live.values() if live.deadline is not None]

    def wait(
        self, timeout: float | None, wake: Future[Any] | None = None
    ) -> list[tuple[LiveAttempt, AttemptOutcome]]:
        """Wait up to ``timeout`` seconds for an attempt to end (or ``wake`` to be done); the
        ended ones, with outcomes."""
        waiting: list[Future[Any]] = list(self._live)
        if wake is not None:
            waiting.append(wake)
        ended, _ = wait(waiting, timeout=timeout, return_when=FIRST_COMPLETED)
        return [
            (self._live.pop(future), _outcome(future, self.host))
            for future in ended
            if future in self._live
        ]

    def take(self, step_name: str, attempt: int) -> LiveAttempt | None:
        """Stop waiting for attempt ``attempt`` of ``step_name``; it, if it was live."""
        for future, live in list(self._live.items()):
            if live.record.step_name == step_name and live.record.attempt == attempt:
                del self._live[future]
                return live
        return None

    def expire(self, now: float) -> list[LiveAttempt]:
        """Let go of the attempts still running past their deadline at ``now``.

        Each one's fence is revoked first (a commit in progress finishes, later ones are
        refused); one that finished meanwhile is kept, to be collected by :meth:`wait`.
        """
        expired = []
        for future, live in list(self._live.items()):
            if live.deadline is None or now < live.deadline or future.done():
                continue
            reason = f"it exceeded its timeout of {live.step.timeout:g}s"
            live.context.fence.revoke(reason)
            if future.done():
                continue
            del self._live[future]
            _let_go(live, reason)
            expired.append(live)
        return expired

    def cancel_all(self, reason: str) -> list[LiveAttempt]:
        """Let go of every live attempt (fence revoked for ``reason``, cancelled)."""
        cancelled = list(self._live.values())
        for live in cancelled:
            live.context.fence.revoke(reason)
            _let_go(live, reason)
        self._live.clear()
        return cancelled


def _let_go(live: LiveAttempt, reason: str) -> None:
    """Tell the attempt's code to stop, and close its log with ``reason``."""
    live.context.cancelled.set()
    if live.logs is not None:
        live.logs.let_go(reason)


def step_timeout_error(live: LiveAttempt) -> SpineError:
    """The error of an attempt abandoned for overrunning its step's timeout."""
    return SpineError(
        f"step {live.step.name!r} attempt {live.record.attempt} exceeded its "
        f"timeout of {live.step.timeout:g}s and was abandoned",
        category=ErrorCategory.TIMEOUT,
    )


def run_timeout_error(workflow: Workflow) -> SpineError:
    """The error of a run (and its live attempts) that overran ``workflow``'s timeout."""
    return SpineError(
        f"run exceeded the workflow timeout of {workflow.timeout:g}s",
        category=ErrorCategory.TIMEOUT,
    )


def _outcome(future: Future[AttemptOutcome], host: Host) -> AttemptOutcome:
    """The attempt's outcome; an executor that raised instead (a plugin's) becomes a failure."""
    exc = future.exception()
    if exc is None:
        return future.result()
    return AttemptOutcome(status=StepStatus.FAILED, error=host.classify(exc))
