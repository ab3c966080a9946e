"""Runs started from the dashboard say so: ``triggered_by = "web:<user or token id>"``.

:class:`ActorRunner` is the CLI's :class:`WorkflowRunner` (same validation, history, fencing),
except that every run it starts records the dashboard's actor as its trigger: a retry (which
the runner would mark ``retry``) and a schedule's run-now (``schedule:<name>``).
:class:`ActorFireRunner` is the CLI's :class:`FireRunner` for run-now, using such a runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spine_host.api import Host, Workflow
from spine_host.orchestration.fire_runner import FireRunner
from spine_host.orchestration.records import WorkflowRun
from spine_host.orchestration.runner import WorkflowRunner

__all__ = ["ActorFireRunner", "ActorRunner"]


class ActorRunner(WorkflowRunner):
    """A workflow runner whose new runs are triggered by ``actor``.

    Args:
        host: as for :class:`WorkflowRunner`.
        actor: ``web:<user or token id>``, recorded as each new run's ``triggered_by``.
        run_id: the id of the next new run (so the page can link to it before it starts).
    """

    def __init__(self, host: Host, actor: str, *, run_id: str | None = None) -> None:
        super().__init__(host)
        self.actor = actor
        self._next_run_id = run_id

    def run(
        self,
        workflow: Workflow | str,
        params: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> WorkflowRun:
        """:meth:`WorkflowRunner.run`, triggered by the actor (and with the promised run id)."""
        options["triggered_by"] = self.actor
        if self._next_run_id is not None and options.get("run_id") is None:
            options["run_id"], self._next_run_id = self._next_run_id, None
        return super().run(workflow, params, **options)


class ActorFireRunner(FireRunner):
    """The scheduler's fire runner, running workflows through an :class:`ActorRunner`."""

    def __init__(self, *args: Any, actor: str, **options: Any) -> None:
        super().__init__(*args, **options)
        self._actor_runner = ActorRunner(self.host, actor)

    @property
    def runner(self) -> WorkflowRunner:
        """The actor's runner."""
        return self._actor_runner
