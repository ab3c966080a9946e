"""What crosses a process boundary when a step runs elsewhere: a :class:`StepRef` going out, an
:class:`~spine_host.orchestration.steps.AttemptOutcome` coming back, both as JSON.

A remote executor (spine-celery) cannot send a closure to another machine. It sends a step
*reference*: the workflow and step names, the attempt's identity and fencing token, the params
and the upstream outputs the step receives. The worker rebuilds its host from the same
configuration and plugins, finds the same workflow by name and runs the attempt through the same
code as the local executor (:mod:`~spine_host.orchestration.remote_worker`).

The in-process executor receives the same :class:`StepWork`: its :meth:`StepWork.run_here` runs
the attempt in the calling process, with the runner's own context (fence, logs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.records import StepStatus
from spine_host.orchestration.steps import AttemptOutcome

__all__ = [
    "REF_VERSION",
    "RemoteError",
    "StepRef",
    "StepWork",
    "outcome_from_json",
    "outcome_to_json",
    "recorded_outcome",
]

#: The shape of :meth:`StepRef.to_json`; a worker refuses a reference of another version.
REF_VERSION = 1


@attrs.frozen(kw_only=True)
class StepRef:
    """One attempt of one step, by reference: everything a worker needs, all JSON-safe.

    Attributes:
        workflow: the registered workflow's name (the worker looks it up in its registry).
        step: the step's name in that workflow.
        run_id: the run.
        attempt: the attempt number (the ``workflow_steps`` key with run and step).
        execution_id: the pipeline execution id this attempt uses.
        owner: the runner driving the run when the attempt started.
        token: the attempt's fencing token: the worker claims the attempt with it, and a
            redelivered message whose attempt was claimed, ended or replaced does nothing.
        params: the params the step receives.
        inputs: the outputs of the steps it depends on, by step name.
        logical_date: the date the run is for, if a schedule gave one.
        queue: where the executor should send it (a step's or workflow's ``queue``), if set.
        heartbeat_interval: seconds between the worker's heartbeats of the attempt.
    """

    workflow: str
    step: str
    run_id: str
    attempt: int
    execution_id: str
    owner: str
    token: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    inputs: Mapping[str, Any] = attrs.field(factory=dict)
    logical_date: dt.datetime | None = None
    queue: str | None = None
    heartbeat_interval: float = 10.0

    @property
    def label(self) -> str:
        """``step 'load' attempt 2 of run 1f3a...``, for messages."""
        return f"step {self.step!r} attempt {self.attempt} of run {self.run_id}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (what a broker message carries)."""
        data = attrs.asdict(self, recurse=False)
        data["params"] = dict(self.params)
        data["inputs"] = dict(self.inputs)
        data["logical_date"] = self.logical_date.isoformat() if self.logical_date else None
        data["version"] = REF_VERSION
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRef:
        """Rebuild from :meth:`to_json`; VALIDATION naming the problem for anything else."""
        if not isinstance(data, Mapping):
            raise _bad_ref(f"expected an object, got {type(data).__name__}")
        version = data.get("version")
        if version != REF_VERSION:
            raise _bad_ref(
                f"version {version!r}, this spine-host reads version {REF_VERSION}: run the "
                "same spine-host version on runners and workers"
            )
        fields = {field.name for field in attrs.fields(cls)}
        values = {name: value for name, value in data.items() if name in fields}
        missing = sorted(
            field.name
            for field in attrs.fields(cls)
            if field.default is attrs.NOTHING and field.name not in values
        )
        if missing:
            raise _bad_ref(f"missing {', '.join(missing)}")
        logical = values.get("logical_date")
        try:
            if logical is not None:
                values["logical_date"] = dt.datetime.fromisoformat(logical)
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise _bad_ref(str(exc)) from None


@attrs.frozen
class StepWork:
    """What the runner hands an executor for one attempt.

    Attributes:
        ref: the attempt by reference; a remote executor sends this.
        run_here: runs the attempt in this process and returns its outcome (never raises);
            an in-process executor calls this on its worker thread.
    """

    ref: StepRef
    run_here: Callable[[], AttemptOutcome] = attrs.field(repr=False)


class RemoteError(SpineError):
    """A :class:`SpineError` that came back from a worker as JSON.

    It keeps the worker's dict (cause type and traceback included) so history and alerts show
    what the worker saw.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        category = _category(data.get("category"))
        retry_after = data.get("retry_after")
        super().__init__(
            str(data.get("message", "the worker gave no message")),
            category=category,
            retryable=bool(data.get("retryable", category.retryable)),
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
            context=data.get("context") if isinstance(data.get("context"), Mapping) else None,
        )
        self._data = dict(data)

    def _raw_dict(self) -> dict[str, Any]:
        return dict(self._data)


def outcome_to_json(outcome: AttemptOutcome) -> dict[str, Any]:
    """An attempt's outcome as a JSON-safe dict (what a worker sends back)."""
    data = attrs.asdict(outcome, recurse=False)
    data["status"] = outcome.status.value
    data["error"] = outcome.error.to_dict() if outcome.error is not None else None
    return data


def outcome_from_json(data: Mapping[str, Any]) -> AttemptOutcome:
    """Rebuild an outcome from :func:`outcome_to_json`."""
    error = data.get("error")
    return AttemptOutcome(
        status=StepStatus(data["status"]),
        outputs=data.get("outputs"),
        error=RemoteError(error) if isinstance(error, Mapping) else None,
        skip_reason=data.get("skip_reason"),
        execution_id=data.get("execution_id"),
        rows_in=data.get("rows_in"),
        rows_out=data.get("rows_out"),
        rows_rejected=data.get("rows_rejected"),
    )


def recorded_outcome(row: Mapping[str, Any]) -> AttemptOutcome:
    """The outcome a worker recorded in a ``workflow_steps`` row (its end, as written)."""
    error = row.get("error")
    return AttemptOutcome(
        status=StepStatus(row["status"]),
        outputs=row.get("outputs"),
        error=RemoteError(error) if isinstance(error, Mapping) else None,
        skip_reason=row.get("skip_reason"),
        execution_id=row.get("execution_id"),
        rows_in=row.get("rows_in"),
        rows_out=row.get("rows_out"),
        rows_rejected=row.get("rows_rejected"),
    )


def _category(value: object) -> ErrorCategory:
    try:
        return ErrorCategory(str(value))
    except ValueError:
        return ErrorCategory.INTERNAL


def _bad_ref(problem: str) -> SpineError:
    return SpineError(f"not a spine step reference: {problem}", category=ErrorCategory.VALIDATION)
