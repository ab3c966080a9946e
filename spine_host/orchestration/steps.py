"""Running one attempt of one step, on an executor's worker: a callable or a pipeline.

What runs on the worker is :func:`run_attempt`; it never raises. It returns an
:class:`AttemptOutcome` (outputs and row counts, or the classified error) that the runner's
coordinating thread turns into history. The attempt runs under its context's fence, so once
the runner lets it go (timed out, run taken) nothing it commits through spine's storage
counts. Pipeline steps go through the pipelines
``Dispatcher``, which records the ``executions`` row; the step's attempts are the workflow's own
retries (one history row each), so the dispatcher is asked for exactly one attempt each time and
the runner retries by :func:`step_retry_policy`: the step's ``retry`` when given, else the
pipeline's own ``retry_policy``, else one attempt. A pipeline whose manifest stage was already
reached is a SKIPPED attempt with ``skip_reason`` ``stage reached``: its work is done, so the
steps that need it run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.orchestration.records import SKIP_STAGE_REACHED, StepStatus
from spine_host.orchestration.step_context import StepContext
from spine_host.retry import RetryPolicy
from spine_host.storage.fencing import fenced

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.workflow import Step

# StepContext lives in step_context (the workflow model names it too); it stays importable here.
__all__ = [
    "AttemptOutcome",
    "StepContext",
    "declared_params",
    "pipeline_step_params",
    "run_attempt",
    "step_retry_policy",
]

_ROW_COUNTS = ("rows_in", "rows_out", "rows_rejected")
# The dispatcher runs one attempt per call: the runner owns the retry loop (see module doc).
_ONE_ATTEMPT = RetryPolicy(max_attempts=1)


@attrs.frozen(kw_only=True)
class AttemptOutcome:
    """How an attempt ended, as the worker saw it."""

    status: StepStatus
    outputs: Any = None
    error: SpineError | None = None
    skip_reason: str | None = None
    execution_id: str | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    rows_rejected: int | None = None


def run_attempt(
    step: Step, context: StepContext, inputs: Mapping[str, Any], params: Mapping[str, Any]
) -> AttemptOutcome:
    """Run one attempt of ``step`` under its fence; failures come back classified, never raised."""
    try:
        with fenced(context.fence):
            if step.pipeline is not None:
                return _run_pipeline(step.pipeline, context, params)
            outputs = json_safe(step.action(context, inputs, params))  # type: ignore[operator]
    except Exception as exc:
        return AttemptOutcome(
            status=StepStatus.FAILED,
            error=context.host.classify(exc),
            execution_id=context.execution.execution_id,
        )
    return AttemptOutcome(
        status=StepStatus.COMPLETED,
        outputs=outputs,
        execution_id=context.execution.execution_id,
        **_row_counts(outputs),
    )


def step_retry_policy(host: Host, step: Step) -> RetryPolicy:
    """How often ``step`` is attempted: its ``retry``, else its pipeline's, else once.

    A pipeline registered with ``retry_policy=RetryPolicy(3)`` keeps retrying as a workflow
    step unless the step says otherwise.
    """
    if step.retry is not None:
        return step.retry
    if step.pipeline is not None:
        from spine_host.pipelines.registration import pipeline_attributes

        policy = pipeline_attributes(host.registries.pipelines.get(step.pipeline)).retry_policy
        if policy is not None:
            return policy
    return _ONE_ATTEMPT


def declared_params(host: Host, pipeline: str) -> frozenset[str]:
    """The parameter names pipeline ``pipeline`` declares (its ``Params`` fields).

    Workflow defaults and run params are shared by every step; a pipeline step receives only
    those its pipeline declares (its own step params it receives whole), because pipelines
    refuse parameters they do not know.
    """
    from spine_host.pipelines.registration import pipeline_attributes

    params_cls = pipeline_attributes(host.registries.pipelines.get(pipeline)).Params
    if params_cls is None or not attrs.has(params_cls):
        return frozenset()
    return frozenset(field.name for field in attrs.fields(params_cls))


def pipeline_step_params(
    params: Mapping[str, Any], step_params: Mapping[str, Any], declared: frozenset[str]
) -> dict[str, Any]:
    """What a pipeline step receives: the merged ``params`` it declares, and all its own."""
    return {
        name: value for name, value in params.items() if name in declared or name in step_params
    }


def _run_pipeline(name: str, context: StepContext, params: Mapping[str, Any]) -> AttemptOutcome:
    from spine_host.pipelines.dispatcher import Dispatcher

    execution = Dispatcher(context.host).run(
        name, params, context=context.execution, retry_policy=_ONE_ATTEMPT, owner=context.owner
    )
    status = str(getattr(execution.status, "value", execution.status))
    counts: dict[str, Any] = {name: getattr(execution, name, None) for name in _ROW_COUNTS}
    if status == "COMPLETED":
        return AttemptOutcome(
            status=StepStatus.COMPLETED,
            outputs=json_safe(execution.result),
            execution_id=execution.execution_id,
            **counts,
        )
    if status == "SKIPPED":  # the manifest says an earlier run did this work
        return AttemptOutcome(
            status=StepStatus.SKIPPED,
            skip_reason=SKIP_STAGE_REACHED,
            outputs=json_safe(execution.result),
            execution_id=execution.execution_id,
        )
    error = execution.error or SpineError(
        f"pipeline {name!r} ended {status}", category=ErrorCategory.INTERNAL
    )
    return AttemptOutcome(
        status=StepStatus.FAILED, error=error, execution_id=execution.execution_id, **counts
    )


def _row_counts(outputs: Any) -> dict[str, Any]:
    if not isinstance(outputs, Mapping):
        return {}
    return {
        name: value
        for name in _ROW_COUNTS
        if isinstance(value := outputs.get(name), int) and not isinstance(value, bool)
    }
