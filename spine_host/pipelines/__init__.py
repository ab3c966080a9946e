"""Pipelines: the registry of named units of work and what runs them (DESIGN §9).

Declaring pipelines is cheap to import (a plugin's entry module may do it): ``register_pipeline``,
``register_all``, ``ExecutionContext`` and ``Pipeline`` pull in nothing heavy. Running them
(``Dispatcher``, ``WorkManifest``, ``QualityRunner``, ``RejectSink``...) needs SQLAlchemy, which is
imported only when one of those names is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from spine_host.pipelines.context import ExecutionContext
from spine_host.pipelines.execution import EventType, Execution, ExecutionEvent, ExecutionStatus
from spine_host.pipelines.pipeline import Pipeline
from spine_host.pipelines.registration import FunctionPipeline, register_all, register_pipeline

if TYPE_CHECKING:
    from spine_host.pipelines.dispatcher import Dispatcher
    from spine_host.pipelines.manifest import ManifestEntry, WorkManifest
    from spine_host.pipelines.quality import CheckResult, QualityRunner, QualityStatus
    from spine_host.pipelines.rejects import RejectRecord, RejectSink
    from spine_host.pipelines.repository import ExecutionRepository

__all__ = [
    "CheckResult",
    "Dispatcher",
    "EventType",
    "Execution",
    "ExecutionContext",
    "ExecutionEvent",
    "ExecutionRepository",
    "ExecutionStatus",
    "FunctionPipeline",
    "ManifestEntry",
    "Pipeline",
    "QualityRunner",
    "QualityStatus",
    "RejectRecord",
    "RejectSink",
    "WorkManifest",
    "register_all",
    "register_pipeline",
]

# name -> module, for the names that import SQLAlchemy.
_LAZY = {
    "Dispatcher": "dispatcher",
    "ManifestEntry": "manifest",
    "WorkManifest": "manifest",
    "CheckResult": "quality",
    "QualityRunner": "quality",
    "QualityStatus": "quality",
    "RejectRecord": "rejects",
    "RejectSink": "rejects",
    "ExecutionRepository": "repository",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
