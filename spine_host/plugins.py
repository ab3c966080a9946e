"""Finding, vetting and calling plugins (DESIGN §4).

pluggy alone would let one failing import abort the rest, keep one of two same-named entry points
silently, accept a misspelled hook until someone calls ``check_pending()``, and stop an event hook
at the first raising implementation. :class:`PluginLoader` does none of these:

- builtins register first, then each entry point of group ``spine`` in its own guard;
- ``SPINE_LOAD_PLUGINS`` (allow-list; empty means none), ``SPINE_DISABLE_PLUGINS`` and
  ``[plugins] disable`` are applied before anything is imported;
- a distribution whose ``Requires-Dist`` range for spine-host excludes the running version is
  marked incompatible from its metadata alone and never imported;
- a failing import, an unknown hook (with a "did you mean"), or a misnamed hook argument marks
  that plugin broken and the host carries on; ``SPINE_STRICT_PLUGINS=1`` makes any of it fatal;
- hooks are called one implementation at a time, so the caller knows which plugin provided what
  and one raising plugin never silences another.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import logging
import os
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pluggy

from spine_host import hookspecs
from spine_host._entry_points import Distribution, EntryPoint, entry_points
from spine_host._requires import excluding_clause
from spine_host._version import __version__
from spine_host.errors import PluginError

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginLoader",
    "PluginStatus",
    "hookimpl",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "spine"
HOST_DISTRIBUTION = "spine-host"

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT_NAME)

#: Builtin plugins, registered before any entry point, in this order.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("builtin.sqlite", "spine_host.builtins.sqlite"),
    ("builtin.sources", "spine_host.builtins.sources"),
    ("builtin.alerts", "spine_host.builtins.alerts"),
    ("builtin.executors", "spine_host.builtins.executors"),
)


class PluginStatus(enum.StrEnum):
    """Where a plugin stands after loading."""

    OK = "ok"
    #: Loaded, but it registered nothing and implements no event hook: it does nothing.
    EMPTY = "empty"
    DISABLED = "disabled"
    INCOMPATIBLE = "incompatible"
    BROKEN = "broken"
    CONFLICT = "conflict"


# A dataclass, not attrs: importing attrs would be an eighth of `spine --help`, which loads
# plugins to list their commands.
@dataclasses.dataclass(slots=True)
class PluginInfo:
    """What ``spine plugins`` reports for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    status: PluginStatus = PluginStatus.OK
    builtin: bool = False
    module: str | None = None
    errors: list[str] = dataclasses.field(default_factory=list)
    hooks: list[str] = dataclasses.field(default_factory=list)
    provides: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def problem(self) -> bool:
        """True when the plugin is broken, incompatible or in conflict (disabled is a choice;
        an empty plugin is reported, not a problem)."""
        return self.status not in (PluginStatus.OK, PluginStatus.DISABLED, PluginStatus.EMPTY)

    def fail(self, status: PluginStatus, message: str) -> None:
        """Record a problem; a worse status is never downgraded by a later, milder one."""
        if _SEVERITY_ORDER[status] > _SEVERITY_ORDER[self.status]:
            self.status = status
        self.errors.append(message)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for ``spine plugins --json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status.value,
            "builtin": self.builtin,
            "module": self.module,
            "error": "; ".join(self.errors) or None,
            "hooks": sorted(self.hooks),
            "provides": {kind: sorted(names) for kind, names in sorted(self.provides.items())},
        }


_SEVERITY_ORDER = {
    PluginStatus.OK: 0,
    PluginStatus.EMPTY: 0,
    PluginStatus.DISABLED: 1,
    PluginStatus.CONFLICT: 2,
    PluginStatus.BROKEN: 3,
    PluginStatus.INCOMPATIBLE: 4,
}


def _env_list(environ: Mapping[str, str], name: str) -> list[str] | None:
    """A comma-separated variable as a list; None when unset, [] when set but empty."""
    if name not in environ:
        return None
    return [item.strip() for item in environ[name].split(",") if item.strip()]


def strict_from_env(environ: Mapping[str, str]) -> bool:
    """True when ``SPINE_STRICT_PLUGINS`` asks for plugin problems to be fatal."""
    return environ.get("SPINE_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


class PluginLoader:
    """Owns one pluggy ``PluginManager`` and the record of every plugin it saw.

    Args:
        builtins: register spine-host's builtin plugins.
        load_entrypoints: load installed distributions' ``spine`` entry points.
        plugins: extra plugin objects (modules, instances) registered after the rest; tests use
            this for doubles.
        disable: names to skip (``[plugins] disable``), in addition to ``SPINE_DISABLE_PLUGINS``.
        environ: the environment to read ``SPINE_*`` variables from; ``os.environ`` by default.
    """

    def __init__(
        self,
        *,
        builtins: bool = True,
        load_entrypoints: bool = True,
        plugins: Sequence[object] = (),
        disable: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.environ = environ if environ is not None else os.environ
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._allowed = _env_list(self.environ, "SPINE_LOAD_PLUGINS")
        self._disabled = set(disable) | set(_env_list(self.environ, "SPINE_DISABLE_PLUGINS") or [])
        if builtins:
            for name, module in BUILTIN_PLUGINS:
                self._load_builtin(name, module)
        if load_entrypoints:
            self._load_entry_points()
        for plugin in plugins:
            self.add(plugin)

    # -- public --------------------------------------------------------------------------------

    @property
    def strict(self) -> bool:
        """Whether plugin problems are fatal (``SPINE_STRICT_PLUGINS=1``)."""
        return strict_from_env(self.environ)

    def add(self, plugin: object, name: str | None = None) -> PluginInfo:
        """Register an in-process plugin object (a module or an instance with hookimpls).

        A module that an installed ``spine`` entry point names gets that entry point's name
        and distribution, so a plugin reads the same in a test as when it is installed
        (``ticker``, not ``spine_ticker``).
        """
        installed = _installed_as(plugin) if name is None else None
        if installed is not None:
            name = installed.name
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        info = PluginInfo(
            name=name,
            distribution=installed.dist.name if installed is not None else None,
            version=installed.dist.version if installed is not None else None,
            module=_module_of(plugin),
        )
        self.infos[name] = info
        self._register(plugin, info)
        return info

    def unknown_names(self) -> list[str]:
        """``SPINE_LOAD_PLUGINS``/``SPINE_DISABLE_PLUGINS``/``[plugins] disable`` entries that
        name no plugin seen (a typo, or a plugin not installed), as ``VARIABLE: name`` lines."""
        known = {info.name for info in self.infos.values()}
        known |= {info.distribution for info in self.infos.values() if info.distribution}
        lines = []
        for name in sorted(set(self._allowed or []) - known):
            lines.append(f"SPINE_LOAD_PLUGINS names {name!r}, which is no installed plugin")
        for name in sorted(self._disabled - known):
            lines.append(
                f"plugin {name!r} is disabled (SPINE_DISABLE_PLUGINS or [plugins] disable) "
                "but no such plugin is installed"
            )
        return lines

    def problems(self) -> list[PluginInfo]:
        """Plugins that are broken, incompatible or in conflict."""
        return [info for info in self.infos.values() if info.problem]

    def raise_if_strict(self) -> None:
        """In strict mode, turn any plugin problem into a PluginError naming every plugin."""
        problems = self.problems()
        if problems and self.strict:
            details = "; ".join(f"{info.name}: {' / '.join(info.errors)}" for info in problems)
            raise PluginError(
                f"SPINE_STRICT_PLUGINS is set and {len(problems)} plugin(s) have problems: "
                f"{details}",
                context={"plugins": [info.name for info in problems]},
            )

    def describe(self, plugin_name: str) -> str:
        """``name (distribution version)`` for messages that must say where a thing came from."""
        info = self.infos.get(plugin_name)
        if info is None or info.distribution is None:
            return f"plugin {plugin_name!r}"
        return f"plugin {plugin_name!r} ({info.distribution} {info.version})"

    def call_each(
        self, hook_name: str, kwargs: Mapping[str, Any], *, on_error: str = "log"
    ) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook_name`` separately, oldest registration first.

        Returns ``(plugin_name, result)`` pairs. An implementation that raises is logged and, with
        ``on_error="break"``, marks its plugin broken; with ``on_error="return"`` its exception
        is its result; the remaining implementations still run.
        """
        caller = getattr(self.manager.hook, hook_name)
        results: list[tuple[str, Any]] = []
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            try:
                args = [kwargs[argname] for argname in impl.argnames]
                results.append((impl.plugin_name, impl.function(*args)))
            except Exception as exc:
                message = f"hook {hook_name} raised {type(exc).__name__}: {exc}"
                log.warning("plugin %s: %s", impl.plugin_name, message, exc_info=True)
                if on_error == "return":
                    results.append((impl.plugin_name, exc))
                if on_error == "break" and impl.plugin_name in self.infos:
                    self.infos[impl.plugin_name].fail(PluginStatus.BROKEN, message)
        return results

    def first_result(self, hook_name: str, kwargs: Mapping[str, Any]) -> Any:
        """A ``firstresult`` hook called through pluggy, with a raising plugin logged, not fatal."""
        caller = getattr(self.manager.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                answer = impl.function(*[kwargs[argname] for argname in impl.argnames])
            except Exception:
                log.warning("plugin %s: hook %s raised", impl.plugin_name, hook_name, exc_info=True)
                continue
            if answer is not None:
                return answer
        return None

    def unregister(self, plugin_name: str) -> None:
        """Drop a plugin's hook implementations (it stays listed with its status)."""
        plugin = self.manager.get_plugin(plugin_name)
        if plugin is not None:
            self.manager.unregister(plugin, name=plugin_name)

    # -- loading -------------------------------------------------------------------------------

    def _load_builtin(self, name: str, module_name: str) -> None:
        info = PluginInfo(
            name=name,
            distribution=HOST_DISTRIBUTION,
            version=__version__,
            builtin=True,
            module=module_name,
        )
        self.infos[name] = info
        if name in self._disabled:
            info.status = PluginStatus.DISABLED
            return
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a builtin failing is a bug, but the host still starts
            info.fail(PluginStatus.BROKEN, f"import failed: {type(exc).__name__}: {exc}")
            return
        self._register(module, info)

    def _load_entry_points(self) -> None:
        by_name: dict[str, list[EntryPoint]] = {}
        for entry_point in entry_points(ENTRY_POINT_GROUP):
            found = by_name.setdefault(entry_point.name, [])
            # The same distribution seen twice on sys.path is one plugin, not a conflict.
            if not any(other.dist.name == entry_point.dist.name for other in found):
                found.append(entry_point)
        for name, declared in sorted(by_name.items()):
            if len(declared) > 1:
                self._record_duplicate_entry_point(name, declared)
            else:
                self._load_entry_point(declared[0])

    def _record_duplicate_entry_point(self, name: str, declared: list[EntryPoint]) -> None:
        dists = [f"{ep.dist.name} {ep.dist.version}" for ep in declared]
        message = (
            f"entry point name {name!r} is declared by {' and '.join(dists)}; neither is loaded "
            "until one of those distributions is uninstalled"
        )
        first = declared[0]
        info = PluginInfo(
            name=name,
            distribution=" + ".join(ep.dist.name for ep in declared),
            version=first.dist.version,
            module=first.value,
        )
        info.fail(PluginStatus.CONFLICT, message)
        self.infos[name] = info

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        dist = entry_point.dist
        info = PluginInfo(
            name=entry_point.name,
            distribution=dist.name,
            version=dist.version,
            module=entry_point.value,
        )
        self.infos[entry_point.name] = info
        if not self._wanted(entry_point.name, dist.name):
            info.status = PluginStatus.DISABLED
            return
        incompatible = _incompatibility(dist)
        if incompatible:
            info.fail(PluginStatus.INCOMPATIBLE, incompatible)
            return
        try:
            plugin = entry_point.load()
        except BaseException as exc:  # SystemExit from a plugin must not end the host either
            if isinstance(exc, KeyboardInterrupt):
                raise
            info.fail(PluginStatus.BROKEN, f"import failed: {type(exc).__name__}: {exc}")
            log.debug("plugin %s failed to import", entry_point.name, exc_info=True)
            return
        self._register(plugin, info)

    def _wanted(self, name: str, dist_name: str) -> bool:
        names = {name, dist_name, dist_name.replace("-", "_")}
        if self._allowed is not None and not names & set(self._allowed):
            return False
        return not names & self._disabled

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self.manager.register(plugin, name=info.name)
        except pluggy.PluginValidationError as exc:
            info.fail(PluginStatus.BROKEN, _one_line(str(exc)))
            return
        except ValueError as exc:  # pluggy: the same object or name registered twice
            info.fail(PluginStatus.BROKEN, str(exc))
            return
        unknown = [
            caller.name
            for caller in self.manager.get_hookcallers(plugin) or []
            if not caller.has_spec()
        ]
        if unknown:
            self.manager.unregister(plugin, name=info.name)
            for hook_name in unknown:
                info.fail(PluginStatus.BROKEN, _unknown_hook_message(hook_name))
            return
        info.hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])


def _unknown_hook_message(hook_name: str) -> str:
    import difflib

    known = [name for name in dir(hookspecs) if name.startswith("spine_")]
    close = difflib.get_close_matches(hook_name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known hooks: {', '.join(known)}"
    return f"implements unknown hook {hook_name!r}{hint}"


def _incompatibility(dist: Distribution) -> str | None:
    """Why this distribution cannot run with this spine-host, from its metadata alone."""
    excluded = excluding_clause(dist.requires, HOST_DISTRIBUTION, __version__)
    if excluded is None:
        return None
    return (
        f"requires {HOST_DISTRIBUTION}{excluded} but {__version__} is running; it was not imported"
    )


def _installed_as(plugin: object) -> EntryPoint | None:
    """The installed ``spine`` entry point naming this module, if one does."""
    if not isinstance(plugin, types.ModuleType):
        return None
    for entry_point in entry_points(ENTRY_POINT_GROUP):
        if entry_point.value.strip().split(":", 1)[0].strip() == plugin.__name__:
            return entry_point
    return None


def _module_of(plugin: object) -> str | None:
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    return type(plugin).__module__


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
