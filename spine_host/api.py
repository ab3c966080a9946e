"""Everything a plugin author imports, in one place: ``from spine_host.api import ...``.

The entry module a distribution names under ``[project.entry-points.spine]`` imports only
``from spine_host import hookimpl`` (so every ``spine`` command starts fast); the modules that
implement sources, pipelines, channels and tables import from here. ``docs/plugin-authors.md``
uses exactly these names, and a test keeps the two in step.
"""

from __future__ import annotations

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.alerts.channel import AlertChannel
from spine_host.config import load_config
from spine_host.errors import ConfigError, ErrorCategory, PluginError, SpineError, classify
from spine_host.host import Host
from spine_host.orchestration.schedule import Schedule
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines import CheckResult, Dispatcher, ExecutionContext, register_pipeline
from spine_host.plugins import hookimpl
from spine_host.registry import Register, RegisterNamed
from spine_host.retry import RetryPolicy
from spine_host.severity import Severity
from spine_host.sources.base import BaseSource
from spine_host.sources.result import Reject, SourceMetadata, SourceResult
from spine_host.sources.rows import RowSource
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.plugin_tables import PluginTables, migrations_path

__all__ = [
    "Alert",
    "AlertChannel",
    "BaseSource",
    "CheckResult",
    "ConfigError",
    "DatabaseAdapter",
    "DeliveryResult",
    "DeliveryStatus",
    "Dispatcher",
    "ErrorCategory",
    "ExecutionContext",
    "Host",
    "PluginError",
    "PluginTables",
    "Register",
    "RegisterNamed",
    "Reject",
    "RetryPolicy",
    "RowSource",
    "Schedule",
    "Severity",
    "SourceMetadata",
    "SourceResult",
    "SpineError",
    "Step",
    "Workflow",
    "classify",
    "hookimpl",
    "load_config",
    "migrations_path",
    "register_pipeline",
]
