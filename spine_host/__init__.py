"""spine-host: a thin, plugin-based host for data pipelines.

Plugin authors need only this module: ``hookimpl`` to mark hook implementations, the error
taxonomy, the result envelope and the value types hooks exchange.

Importing it is cheap: each name is imported from its module the first time it is used, so a
plugin's ``from spine_host import hookimpl`` pulls in neither the configuration machinery
(cattrs), nor the host, nor the scheduler.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from spine_host._version import __version__

if TYPE_CHECKING:
    from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
    from spine_host.config import SpineConfig, load_config
    from spine_host.errors import ConfigError, ErrorCategory, PluginError, SpineError, classify
    from spine_host.host import Host
    from spine_host.orchestration.schedule import Schedule
    from spine_host.plugins import hookimpl
    from spine_host.result import Err, Ok, Result
    from spine_host.severity import Severity

__all__ = [
    "Alert",
    "ConfigError",
    "DeliveryResult",
    "DeliveryStatus",
    "Err",
    "ErrorCategory",
    "Host",
    "Ok",
    "PluginError",
    "Result",
    "Schedule",
    "Severity",
    "SpineConfig",
    "SpineError",
    "__version__",
    "classify",
    "hookimpl",
    "load_config",
]

# public name -> the module that defines it; imported on first use (PEP 562).
_MODULES = {
    "Alert": "spine_host.alerts.alert",
    "DeliveryResult": "spine_host.alerts.alert",
    "DeliveryStatus": "spine_host.alerts.alert",
    "SpineConfig": "spine_host.config",
    "load_config": "spine_host.config",
    "ConfigError": "spine_host.errors",
    "ErrorCategory": "spine_host.errors",
    "PluginError": "spine_host.errors",
    "SpineError": "spine_host.errors",
    "classify": "spine_host.errors",
    "Host": "spine_host.host",
    "Schedule": "spine_host.orchestration.schedule",
    "hookimpl": "spine_host.plugins",
    "Err": "spine_host.result",
    "Ok": "spine_host.result",
    "Result": "spine_host.result",
    "Severity": "spine_host.severity",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, then keep it here."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
