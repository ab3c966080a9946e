"""The plugins page: what ``spine plugins`` lists, problems first in line to be seen.

Each plugin with its distribution, version, status, hooks, what it provides (the names in
force from it, and those another plugin's ``replace=True`` took over) and its errors.
"""

from __future__ import annotations

import attrs

from spine_host.api import Host
from spine_host.plugins import PluginInfo

__all__ = ["PluginView", "load_plugins"]


@attrs.frozen(kw_only=True)
class PluginView:
    """One plugin as the page shows it."""

    info: PluginInfo
    provides: dict[str, list[str]]
    overridden: dict[str, dict[str, str]]

    @property
    def problem(self) -> bool:
        """Broken, incompatible or in conflict: highlighted."""
        return self.info.problem


def load_plugins(host: Host) -> tuple[list[PluginView], list[str]]:
    """Every plugin, in load order, and the warnings every command prints."""
    views = []
    for info in host.plugin_report():
        provides, overridden = host.provided_by(info)
        views.append(PluginView(info=info, provides=provides, overridden=overridden))
    return views, host.warnings()
