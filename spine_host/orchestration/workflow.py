"""The workflow model: a :class:`Workflow` is a validated DAG of :class:`Step` s.

A step runs a registered pipeline (by name) or a callable ``fn(context, inputs, params)``;
``inputs`` maps each step it depends on to that step's outputs. Parameters merge as workflow
``defaults`` < run params < step ``params``. A workflow is checked when it is built: duplicate
step names, unknown dependencies and cycles are refused with the offending path named::

    SpineError: workflow 'otc.weekly': cycle: a -> b -> c -> a
"""

from __future__ import annotations

import enum
import graphlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.retry import RetryPolicy

if TYPE_CHECKING:
    from spine_host.orchestration.step_context import StepContext

__all__ = [
    "Branch",
    "Condition",
    "OnFailure",
    "Step",
    "StepFunction",
    "Workflow",
    "register_workflow",
]

#: A callable step: ``fn(context, inputs, params)`` returns the step's (JSON-safe) outputs.
StepFunction = Callable[["StepContext", Mapping[str, Any], Mapping[str, Any]], Any]
#: A condition: ``condition(inputs, params)`` is True when the step should run.
Condition = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


class OnFailure(enum.StrEnum):
    """What a step's failure does to the rest of the run."""

    #: Start nothing new; the run ends FAILED.
    STOP = "stop"
    #: Skip the steps that need this one; independent branches go on; the run ends PARTIAL.
    CONTINUE = "continue"


@attrs.frozen
class Branch:
    """A branch selector: run the step when ``step`` chose ``value``.

    ``step`` chose ``value`` when its outputs equal ``value``, or when its outputs are a mapping
    whose ``"branch"`` key equals it. The step the selector reads becomes a dependency.
    """

    step: str
    value: Any

    def taken(self, inputs: Mapping[str, Any]) -> bool:
        """Whether the selecting step's outputs (in ``inputs``) chose this branch."""
        chosen = inputs.get(self.step)
        if isinstance(chosen, Mapping) and "branch" in chosen:
            chosen = chosen["branch"]
        return bool(chosen == self.value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # depends_on="a" means ("a",), not ("a",) per character
        return (value,)
    return tuple(value)


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be > 0 seconds, got {value!r}")


@attrs.frozen
class Step:
    """One node of a workflow.

    Args:
        name: unique within the workflow.
        action: a registered pipeline's name, or a callable ``fn(context, inputs, params)``.
        depends_on: steps that must finish first; their outputs are this step's ``inputs``.
        params: step parameters; they win over run params and workflow defaults.
        condition: ``condition(inputs, params) -> bool`` or a :class:`Branch`; when false the
            step is SKIPPED, and so are steps that depend only on skipped steps.
        retry: attempts and waits; each attempt is its own history row. When not given, a
            pipeline step retries as its pipeline's ``retry_policy`` says, and any other step
            runs once (see ``spine_host.orchestration.steps.step_retry_policy``).
        timeout: seconds one attempt may take before it is TIMED_OUT.
        on_failure: ``stop`` (the run fails) or ``continue`` (dependents are skipped, the rest
            runs, the run ends PARTIAL).
        queue: where a remote executor sends this step's attempts (a Celery queue such as
            ``heavy``); the workflow's ``queue`` when not given. The local executor ignores it.
    """

    name: str
    action: str | StepFunction
    depends_on: tuple[str, ...] = attrs.field(default=(), converter=_names)
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=dict)
    condition: Condition | Branch | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = attrs.field(default=None, validator=_positive_or_none)
    on_failure: OnFailure = attrs.field(default=OnFailure.STOP, converter=OnFailure)
    queue: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.action, str) and not callable(self.action):
            raise TypeError(
                f"step {self.name!r}: action must be a pipeline name or a callable, "
                f"got {type(self.action).__name__}"
            )

    @property
    def pipeline(self) -> str | None:
        """The registered pipeline this step runs, or None for a callable step."""
        return self.action if isinstance(self.action, str) else None

    @property
    def needs(self) -> tuple[str, ...]:
        """Every step this one waits for: ``depends_on`` plus a branch selector's step."""
        if isinstance(self.condition, Branch) and self.condition.step not in self.depends_on:
            return (*self.depends_on, self.condition.step)
        return self.depends_on

    def describe(self) -> str:
        """What the step runs, for listings: ``pipeline otc.ingest`` or ``callable mod.fn``."""
        if self.pipeline is not None:
            return f"pipeline {self.pipeline}"
        fn = self.action
        module = getattr(fn, "__module__", None)
        qualname = getattr(fn, "__qualname__", type(fn).__name__)
        return f"callable {module}.{qualname}" if module else f"callable {qualname}"


def _steps(value: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(value)


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


@attrs.frozen
class Workflow:
    """A named DAG of steps (satisfies ``WorkflowSpec``); validated when built.

    Args:
        name: the registry key (``domain.name``).
        steps: the steps, in any order.
        defaults: parameter defaults for every step.
        max_concurrency: how many independent steps may run at once.
        timeout: seconds the whole run may take before it is TIMED_OUT.
        description: one line for ``spine workflows list``.
        executor: the registered executor its steps run on (``local``: a thread pool;
            ``celery`` with spine-celery installed).
        queue: where a remote executor sends its steps' attempts, unless a step names its own.
        resume_on_crash: when the process driving a run of it dies, a scheduler replica that
            reaps the run resumes it in place (finished steps are kept, the rest re-run).
    """

    name: str
    steps: tuple[Step, ...] = attrs.field(converter=_steps)
    defaults: Mapping[str, Any] = attrs.field(factory=dict, converter=dict)
    max_concurrency: int = attrs.field(default=4, validator=_at_least_one)
    timeout: float | None = attrs.field(default=None, validator=_positive_or_none)
    description: str = ""
    executor: str = "local"
    queue: str | None = None
    resume_on_crash: bool = False
    _order: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)
    _children: Mapping[str, tuple[str, ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_order", _validated_order(self.name, self.steps))
        children: dict[str, list[str]] = {step.name: [] for step in self.steps}
        for step in self.steps:
            for parent in step.needs:
                children[parent].append(step.name)
        object.__setattr__(
            self, "_children", {name: tuple(found) for name, found in children.items()}
        )

    @property
    def order(self) -> tuple[str, ...]:
        """Step names in a dependency-respecting order (stable: declaration order breaks ties)."""
        return self._order

    def step(self, name: str) -> Step:
        """The step called ``name``; NOT_FOUND naming the known steps otherwise."""
        for step in self.steps:
            if step.name == name:
                return step
        known = ", ".join(step.name for step in self.steps)
        raise SpineError(
            f"workflow {self.name!r} has no step {name!r}; its steps: {known}",
            category=ErrorCategory.NOT_FOUND,
        )

    def dependents(self, name: str) -> set[str]:
        """Every step downstream of ``name`` (transitively), excluding ``name`` itself."""
        found: set[str] = set()
        pending = list(self._children[name])
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(self._children[current])
        return found

    @property
    def leaves(self) -> tuple[str, ...]:
        """Steps nothing depends on; their outputs are the run's outputs."""
        return tuple(name for name in self._order if not self._children[name])

    def params_for(self, step: Step, run_params: Mapping[str, Any]) -> dict[str, Any]:
        """The step's parameters: workflow defaults < run params < step params."""
        return {**self.defaults, **run_params, **step.params}


def _validated_order(workflow: str, steps: Sequence[Step]) -> tuple[str, ...]:
    """A topological order of ``steps``; refuses duplicates, unknown names and cycles.

    The order is made in sweeps over the declaration order, each placing every step whose
    needs are placed by then; so steps declared in a dependency-respecting order keep it.
    """
    by_name: dict[str, Step] = {}
    for step in steps:
        if step.name in by_name:
            raise _invalid(workflow, f"two steps are named {step.name!r}")
        by_name[step.name] = step
    if not by_name:
        raise _invalid(workflow, "it has no steps")
    for step in steps:
        for parent in step.needs:
            if parent not in by_name:
                raise _invalid(
                    workflow,
                    f"step {step.name!r} depends on unknown step {parent!r}: "
                    f"{parent} -> {step.name}; known steps: {', '.join(by_name)}",
                )
    sorter = graphlib.TopologicalSorter({step.name: step.needs for step in steps})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        # Each step in graphlib's cycle is needed by the next: the path reads as data flows.
        cycle: list[str] = exc.args[1]
        raise _invalid(workflow, "cycle: " + " -> ".join(cycle)) from None
    ready = set(sorter.get_ready())
    order: list[str] = []
    while sorter.is_active():
        for step in steps:
            if step.name in ready:
                ready.remove(step.name)
                order.append(step.name)
                sorter.done(step.name)
                ready.update(sorter.get_ready())
    return tuple(order)


def _invalid(workflow: str, problem: str) -> SpineError:
    return SpineError(f"workflow {workflow!r}: {problem}", category=ErrorCategory.VALIDATION)


WorkflowFactory = Callable[[], "Workflow | Iterable[Step]"]


@overload
def register_workflow(fn: WorkflowFactory, /) -> Workflow: ...


@overload
def register_workflow(
    *,
    name: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    max_concurrency: int = 4,
    timeout: float | None = None,
    description: str | None = None,
    executor: str = "local",
    queue: str | None = None,
    resume_on_crash: bool = False,
) -> Callable[[WorkflowFactory], Workflow]: ...


def register_workflow(
    fn: WorkflowFactory | None = None,
    /,
    *,
    name: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    max_concurrency: int = 4,
    timeout: float | None = None,
    description: str | None = None,
    executor: str = "local",
    queue: str | None = None,
    resume_on_crash: bool = False,
) -> Workflow | Callable[[WorkflowFactory], Workflow]:
    """Build a :class:`Workflow` from a function returning it, or returning its steps.

    The decorated name becomes the Workflow itself; nothing is registered globally. A plugin
    hands it to the host in its hook::

        @register_workflow(name="otc.weekly", max_concurrency=2)
        def weekly():
            return [Step("ingest", "otc.ingest"), Step("report", "otc.report", ["ingest"])]

        @hookimpl
        def spine_register_workflows(register):
            register(weekly)
    """

    def build(factory: WorkflowFactory) -> Workflow:
        made = factory()
        if isinstance(made, Workflow):
            return made
        return Workflow(
            name or factory.__name__,
            tuple(made),
            defaults=dict(defaults or {}),
            max_concurrency=max_concurrency,
            timeout=timeout,
            description=description or _first_line(factory.__doc__),
            executor=executor,
            queue=queue,
            resume_on_crash=resume_on_crash,
        )

    return build(fn) if fn is not None else build


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""
