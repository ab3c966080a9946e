"""An observer plugin recording the run and step events a host fires, in order."""

from __future__ import annotations

import threading
from typing import Any

from spine_host import hookimpl


class RunObserver:
    """Pass an instance as a plugin; read ``events`` afterwards."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, Any]] = []
        self._lock = threading.Lock()

    @hookimpl
    def spine_run_started(self, run: Any) -> None:
        with self._lock:
            self.events.append(("started", run.run_id, run.status))

    @hookimpl
    def spine_step_finished(self, run: Any, step: Any) -> None:
        with self._lock:
            self.events.append(("step", step.step_name, (step.status, step.attempt)))

    @hookimpl
    def spine_run_finished(self, run: Any) -> None:
        with self._lock:
            self.events.append(("finished", run.run_id, run.status))

    def of(self, kind: str) -> list[tuple[Any, Any]]:
        return [(name, detail) for event, name, detail in self.events if event == kind]
