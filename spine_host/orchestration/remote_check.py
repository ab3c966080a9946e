"""Can a remote executor's worker run this workflow? It must find the same steps by name.

A worker receives a step *reference* (:mod:`~spine_host.orchestration.step_ref`) and rebuilds
the step from the workflow its own plugins register under that name. So a workflow built in a
script (not registered), or a callable step the worker could not find by module and name (a
lambda, a function defined inside another function, one defined in ``__main__``), cannot run
remotely: the runner refuses it before anything is recorded, saying why and what to do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import attrs

from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.orchestration.workflow import Step, Workflow

__all__ = ["check_remote", "remote_problems"]


def remote_problems(host: Host, workflow: Workflow) -> list[str]:
    """Why a worker could not rebuild ``workflow``'s steps (empty when it can)."""
    problems: list[str] = []
    registered = (
        host.registries.workflows.get(workflow.name)
        if workflow.name in host.registries.workflows
        else None
    )
    if registered is None:
        problems.append(
            f"workflow {workflow.name!r} is not registered by any plugin, so a worker cannot "
            "find it by name"
        )
    elif _comparable(registered, workflow) != _comparable(workflow, workflow):
        problems.append(
            f"workflow {workflow.name!r} is not the one registered under that name, so a "
            "worker would run other steps"
        )
    for step in workflow.steps:
        problem = _callable_problem(step)
        if problem is not None:
            problems.append(problem)
    return problems


def check_remote(host: Host, workflow: Workflow, executor: str) -> None:
    """Raise VALIDATION naming every problem when ``workflow`` cannot run on ``executor``."""
    problems = remote_problems(host, workflow)
    if problems:
        raise SpineError(
            f"workflow {workflow.name!r} cannot run on the remote executor {executor!r}: "
            + "; ".join(problems)
            + ". A worker rebuilds each step from the workflow its plugins register under the "
            "same name: define step functions at module level in a module your plugin "
            "imports and register the workflow in a plugin (spine_register_workflows), or run "
            "it on the local executor (--executor local)",
            category=ErrorCategory.VALIDATION,
        )


def _comparable(candidate: object, like: Workflow) -> object:
    """``candidate`` with ``like``'s executor (a per-run override is not a different workflow)."""
    if attrs.has(type(candidate)) and hasattr(candidate, "executor"):
        return attrs.evolve(candidate, executor=like.executor)  # type: ignore[misc]
    return candidate


def _callable_problem(step: Step) -> str | None:
    """Why a worker could not find ``step``'s callable by module and qualified name."""
    if step.pipeline is not None:
        return None
    fn = step.action
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    where = f"{module}.{qualname}" if module and qualname else repr(fn)
    inline = f"step {step.name!r} runs an inline callable ({where})"
    if not module or not qualname:
        return f"{inline}: it has no module and name"
    if module == "__main__":
        return f"{inline}: it is defined in the script being run (__main__)"
    if "<lambda>" in qualname:
        return f"{inline}: a lambda has no name to find it by"
    if "<locals>" in qualname:
        return f"{inline}: it is defined inside another function"
    try:
        found: object = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return f"{inline}: {where} cannot be imported"
    if found is not fn:
        return f"{inline}: importing {where} gives another object"
    return None
