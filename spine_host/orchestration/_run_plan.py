"""What a run does next: which step may start, which is skipped and why, and how the run ends.

A :class:`RunPlan` holds a run's decisions and nothing else: it does no I/O and keeps no
attempt records (the run loop owns those). Steps become ready in workflow order once every
step they need is decided. A ready step is skipped when something it needs failed (and then
so are its dependents), when it sits only behind branches that were not taken, or when its
condition says no; a condition that raises is the step's failure. A failed attempt is tried
again when the step's retry policy allows; a step that fails for good with
``on_failure="stop"`` stops the run starting anything new.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.records import (
    SKIP_STAGE_REACHED,
    RunStatus,
    StepStatus,
    work_done,
)
from spine_host.orchestration.steps import declared_params, pipeline_step_params, step_retry_policy
from spine_host.orchestration.workflow import Branch, OnFailure

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.workflow import Step, Workflow
    from spine_host.retry import RetryPolicy

__all__ = ["KeptStep", "RunPlan"]


@attrs.frozen
class KeptStep:
    """A decided step (or one a resumed run does not run again): its final status, stored
    outputs and, when SKIPPED, why."""

    status: StepStatus
    outputs: Any = None
    skip_reason: str | None = None

    @property
    def satisfied(self) -> bool:
        """Whether the step's work is done: COMPLETED, or skipped because it was done before."""
        return work_done(self.status, self.skip_reason)


class RunPlan:
    """The decided steps of one run of ``workflow``, and the steps ready or due to start.

    Args:
        host: classifies a condition's exception; resolves retry policies and pipeline params.
        workflow: the DAG.
        run_params: the run's params (a step's params are layered over them).
        kept: steps a resume keeps (COMPLETED or SKIPPED, with outputs): decided from the start.
    """

    def __init__(
        self,
        host: Host,
        workflow: Workflow,
        run_params: Mapping[str, Any],
        kept: Mapping[str, KeptStep] | None = None,
    ) -> None:
        self.host = host
        self.workflow = workflow
        self.run_params = run_params
        self.steps = {step.name: step for step in workflow.steps}
        self.done: dict[str, KeptStep] = dict(kept or {})
        # Steps skipped because something they need failed: their dependents skip too.
        self.blocked: set[str] = set()
        # Ready steps come out in workflow order; each waits for its undecided parents.
        self.position = {name: index for index, name in enumerate(workflow.order)}
        self.children: dict[str, list[str]] = {name: [] for name in workflow.order}
        for step in workflow.steps:
            for parent in step.needs:
                self.children[parent].append(step.name)
        self.undecided: dict[str, int] = {}
        self.ready: list[tuple[int, str]] = []
        for name in workflow.order:
            if name not in self.done:
                waiting = sum(1 for p in self.steps[name].needs if p not in self.done)
                self.undecided[name] = waiting
                if not waiting:
                    heapq.heappush(self.ready, (self.position[name], name))
        self.retries: list[tuple[float, int, str, int]] = []  # (due, tiebreak, step, tries)
        self._tiebreak = itertools.count()
        #: The failure of an ``on_failure="stop"`` step: nothing new starts once it is set.
        self.stop_error: SpineError | None = None
        self.first_error: SpineError | None = None
        self._declared: dict[str, frozenset[str]] = {}
        self._policies: dict[str, RetryPolicy] = {}

    # -- what starts next ----------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """Whether a ``stop`` failure ended the starting of steps."""
        return self.stop_error is not None

    @property
    def has_ready(self) -> bool:
        """Whether a step waits to start (or be skipped) and the run is not stopped."""
        return bool(self.ready) and self.stop_error is None

    def pop_ready(self) -> Step:
        """The first ready step in workflow order."""
        _, name = heapq.heappop(self.ready)
        return self.steps[name]

    @property
    def waiting_for_retry(self) -> bool:
        """Whether a failed step waits to be tried again (never once the run is stopped)."""
        return bool(self.retries) and self.stop_error is None

    def next_retry_due(self) -> float:
        """``time.monotonic()`` at which the earliest retry is due (one must be waiting)."""
        return self.retries[0][0]

    def retry_due(self, now: float) -> bool:
        """Whether a retry is due at ``now``."""
        return bool(self.retries) and self.retries[0][0] <= now

    def pop_retry(self) -> tuple[Step, int]:
        """The earliest due retry: its step and how many attempts it had so far."""
        _, _, name, tries = heapq.heappop(self.retries)
        return self.steps[name], tries

    def skip_reason(self, step: Step) -> SpineError | str | None:
        """Why ``step`` must not run: an error (upstream failed), "condition", or None."""
        failed = [
            parent
            for parent in step.needs
            if self.done[parent].status.failed or parent in self.blocked
        ]
        if failed:
            return SpineError(
                f"not run: step(s) {', '.join(failed)} it depends on did not complete",
                category=ErrorCategory.DEPENDENCY,
            )
        if step.needs and not any(self.done[p].satisfied for p in step.needs):
            return "condition"  # only reachable through a branch that was not taken
        if step.condition is None:
            return None
        inputs = self.inputs(step)
        params = self.workflow.params_for(step, self.run_params)
        if isinstance(step.condition, Branch):
            return None if step.condition.taken(inputs) else "condition"
        try:
            return None if step.condition(inputs, params) else "condition"
        except Exception as exc:
            error = self.host.classify(exc)
            return SpineError(
                f"condition of step {step.name!r} raised: {error.message}",
                category=error.category,
                cause=exc,
            )

    def inputs(self, step: Step) -> dict[str, Any]:
        """The outputs of the completed (or done before) steps ``step`` needs, by step name."""
        done = self.done
        return {parent: done[parent].outputs for parent in step.needs if done[parent].satisfied}

    def params(self, step: Step) -> dict[str, Any]:
        """Defaults < run params < step params; a pipeline gets only the shared ones it declares."""
        params = self.workflow.params_for(step, self.run_params)
        if step.pipeline is None:
            return params
        if step.pipeline not in self._declared:
            self._declared[step.pipeline] = declared_params(self.host, step.pipeline)
        return pipeline_step_params(params, step.params, self._declared[step.pipeline])

    # -- deciding ------------------------------------------------------------------------------

    def completed(self, name: str, outputs: Any) -> None:
        """Decide ``name`` COMPLETED with ``outputs``."""
        self._decide(name, KeptStep(StepStatus.COMPLETED, outputs))

    def skipped(self, name: str, *, blocked: bool, reason: str | None = None) -> None:
        """Decide ``name`` SKIPPED; ``blocked`` (something it needs failed) skips its dependents."""
        if blocked:
            self.blocked.add(name)
        self._decide(name, KeptStep(StepStatus.SKIPPED, skip_reason=reason))

    def done_before(self, name: str, outputs: Any) -> None:
        """Decide ``name`` SKIPPED because an earlier run did its work: its dependents run."""
        self._decide(name, KeptStep(StepStatus.SKIPPED, outputs, SKIP_STAGE_REACHED))

    def put_back(self, step: Step, tries: int) -> None:
        """Undo popping ``step`` (its start could not be recorded yet): it is due again."""
        if tries <= 1:
            heapq.heappush(self.ready, (self.position[step.name], step.name))
        else:
            heapq.heappush(self.retries, (0.0, next(self._tiebreak), step.name, tries - 1))

    def retry_later(self, step: Step, tries: int, error: SpineError) -> bool:
        """Queue another attempt of ``step`` when its retry policy allows; False if not."""
        policy = self._retry_policy(step)
        if tries < policy.max_attempts and policy.should_retry(error):
            due = time.monotonic() + policy.delay_for(tries, error)
            heapq.heappush(self.retries, (due, next(self._tiebreak), step.name, tries))
            return True
        return False

    def failed(self, step: Step, status: StepStatus, error: SpineError) -> None:
        """Decide ``step`` failed for good (``status``); a ``stop`` step stops the run."""
        self._decide(step.name, KeptStep(status))
        self.first_error = self.first_error or error
        if step.on_failure is OnFailure.STOP and self.stop_error is None:
            self.stop_error = error
            self.ready.clear()  # nothing new starts; a resume runs what never did

    def abandon(self) -> None:
        """Start nothing more: forget the ready steps and the waiting retries."""
        self.ready.clear()
        self.retries.clear()

    # -- concluding ----------------------------------------------------------------------------

    def final_status(self) -> RunStatus:
        """The status of a run that ran to its end: FAILED, PARTIAL or COMPLETED."""
        if self.stop_error is not None:
            return RunStatus.FAILED
        undecided = [name for name in self.steps if name not in self.done]
        if undecided:  # never COMPLETED with a step that did not run (the loop must not get here)
            self.first_error = self.first_error or SpineError(
                f"step(s) {', '.join(undecided)} never ran", category=ErrorCategory.INTERNAL
            )
            return RunStatus.FAILED
        if any(kept.status.failed for kept in self.done.values()):
            return RunStatus.PARTIAL
        return RunStatus.COMPLETED

    @property
    def error(self) -> SpineError | None:
        """The error the run ends with: the one that stopped it, else the first failure."""
        return self.stop_error or self.first_error

    # -- helpers -------------------------------------------------------------------------------

    def _decide(self, name: str, outcome: KeptStep) -> None:
        """Record a step's final state and release the steps that were waiting only for it."""
        self.done[name] = outcome
        for child in self.children[name]:
            if child in self.undecided:
                self.undecided[child] -= 1
                if self.undecided[child] == 0:
                    heapq.heappush(self.ready, (self.position[child], child))

    def _retry_policy(self, step: Step) -> RetryPolicy:
        if step.name not in self._policies:
            self._policies[step.name] = step_retry_policy(self.host, step)
        return self._policies[step.name]
