"""spine-host: a thin, plugin-based host for data pipelines.

Plugin authors need only this module: ``hookimpl`` to mark hook implementations, the error
taxonomy, the result envelope and the value types hooks exchange.
"""

from spine_host._version import __version__
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
