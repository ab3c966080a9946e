"""The Host: configuration, plugins and registries in one object, with no module-level state.

Build one per process (``Host.from_config()``) or per test (``Host(plugins=[double],
load_entrypoints=False, storage_url="sqlite://")``). Everything else (CLI, runner, scheduler)
asks the host for what it needs: a source by name, the storage adapter, the error classifier.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from spine_host.config import SpineConfig, StorageConfig, load_config
from spine_host.errors import ConfigError, SpineError, classify
from spine_host.plugins import PluginInfo, PluginLoader, PluginStatus
from spine_host.printable import quoted
from spine_host.redaction import Redactor, redact_url
from spine_host.registry import NamedRegistrar, Registrar, Registry

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.alerts.router import AlertRouter
    from spine_host.orchestration.contracts import Executor, ScheduleSpec, WorkflowSpec
    from spine_host.pipelines.pipeline import Pipeline
    from spine_host.sources.source import Source
    from spine_host.storage.adapter import DatabaseAdapter, StorageFactory
    from spine_host.storage.plugin_tables import PluginTables

__all__ = ["Host", "Registries"]

T = TypeVar("T")


@attrs.define
class Registries:
    """Every named thing plugins provide, one registry per kind."""

    storage: Registry[StorageFactory]
    sources: Registry[type[Source]]
    alert_channels: Registry[type[AlertChannel]]
    schedules: Registry[ScheduleSpec]
    pipelines: Registry[Pipeline]
    workflows: Registry[WorkflowSpec]
    executors: Registry[type[Executor]]
    tables: Registry[PluginTables]

    def all(self) -> list[Registry[Any]]:
        """Every registry, in a stable order."""
        return [getattr(self, field.name) for field in attrs.fields(type(self))]


# kind -> (registration hook, label in messages, whether register() takes the name explicitly)
_REGISTRATION_HOOKS: dict[str, tuple[str, str, bool]] = {
    "storage": ("spine_register_storage", "storage scheme", True),
    "sources": ("spine_register_sources", "source type", True),
    "alert_channels": ("spine_register_alert_channels", "alert channel type", True),
    "schedules": ("spine_register_schedules", "schedule", False),
    "pipelines": ("spine_register_pipelines", "pipeline", True),
    "workflows": ("spine_register_workflows", "workflow", False),
    "executors": ("spine_register_executors", "executor", True),
    "tables": ("spine_register_tables", "plugin tables", False),
}


class Host:
    """Configuration + plugin manager + registries + storage.

    Args:
        config: the configuration; ``SpineConfig()`` (embedded SQLite) when omitted.
        plugins: extra plugin objects registered after builtins and entry points (test doubles).
        load_entrypoints: load installed plugin distributions; tests usually pass False.
        builtins: register spine-host's builtin plugins.
        storage_url: overrides ``config.storage.url`` (``"sqlite://"`` for an in-memory test DB).
        environ: where ``SPINE_*`` variables are read; ``os.environ`` by default.
    """

    def __init__(
        self,
        *,
        config: SpineConfig | None = None,
        plugins: Sequence[object] = (),
        load_entrypoints: bool = True,
        builtins: bool = True,
        storage_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        config = config or SpineConfig()
        if storage_url is not None:
            config = attrs.evolve(
                config, storage=StorageConfig(storage_url, config.storage.options)
            )
        self.config = config
        self.redactor = Redactor(config.secrets)
        self.plugins = PluginLoader(
            builtins=builtins,
            load_entrypoints=load_entrypoints,
            plugins=plugins,
            disable=config.plugins.disable,
            environ=environ if environ is not None else os.environ,
        )
        self.registries = self._collect_registrations()
        self._storage: DatabaseAdapter | None = None
        self._alerts: AlertRouter | None = None
        self.plugins.raise_if_strict()

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Host:
        """Read ``spine.toml`` (``path``, ``$SPINE_CONFIG``, ``./spine.toml``) and build a host."""
        return cls(config=load_config(path), **kwargs)

    # -- plugins -------------------------------------------------------------------------------

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Fire an event hook (with ``host=self``); each implementation runs even when another
        raises."""
        self.plugins.call_each(hook_name, {**kwargs, "host": self})

    def classify(self, exc: BaseException) -> SpineError:
        """Classify any exception, asking plugins (``spine_classify_error``) first."""
        return classify(
            exc,
            plugin_classifier=lambda error: self.plugins.first_result(
                "spine_classify_error", {"exc": error}
            ),
        )

    def plugin_report(self) -> list[PluginInfo]:
        """Every plugin seen, with what it provides, in load order."""
        return list(self.plugins.infos.values())

    def provided_by(
        self, info: PluginInfo
    ) -> tuple[dict[str, list[str]], dict[str, dict[str, str]]]:
        """What plugin ``info`` provides, as plain names: ``kind -> names`` in force from it
        (plus the event hooks it observes, as recorded), and ``kind -> name -> plugin`` for
        its names another plugin's ``replace=True`` registration won over. Sorted."""
        provides: dict[str, list[str]] = {}
        overridden_by: dict[str, dict[str, str]] = {}
        registries = self.registries.all()
        for registry in registries:
            for claim in registry.registrations():
                if claim.provider != info.name:
                    continue
                winner = registry.winner(claim.name)
                if winner is claim:
                    provides.setdefault(registry.kind, []).append(claim.name)
                elif winner is not None:
                    overridden_by.setdefault(registry.kind, {})[claim.name] = winner.provider
        kinds = {registry.kind for registry in registries}
        for kind, names in info.provides.items():  # not a registry: event hooks observed
            if kind not in kinds:
                provides[kind] = list(names)
        return (
            {kind: sorted(names) for kind, names in sorted(provides.items())},
            dict(sorted(overridden_by.items())),
        )

    def problems(self) -> list[str]:
        """One line per plugin problem; empty when all is well."""
        return [
            f"{info.name}: {info.status.value}: {error}"
            for info in self.plugins.problems()
            for error in info.errors
        ]

    def warnings(self) -> list[str]:
        """What every command should say on stderr: plugin problems, and plugin names in the
        environment or ``[plugins] disable`` that match nothing."""
        return [*self.problems(), *self.plugins.unknown_names()]

    # -- configured things ---------------------------------------------------------------------

    def source(self, name: str) -> Source:
        """The source configured as ``[sources.NAME]``, built through its type's class."""
        table = self.config.sources.get(name)
        if table is None:
            known = ", ".join(sorted(self.config.sources)) or "none configured"
            raise ConfigError(f"no source named {quoted(name)} in [sources]; configured: {known}")
        cls = self.registries.sources.get(table.type)
        config = self._structure_options(cls, table.options, f"sources.{name}")
        # A source that needs the host (the database source opens a storage URL) builds itself
        # through a from_host(host, name, config) classmethod; the others from name and config.
        from_host = getattr(cls, "from_host", None)
        if from_host is not None:
            built: Source = from_host(self, name, config)
            return built
        instance: Source = cls(name, config)  # type: ignore[call-arg]
        return instance

    def alert_channel(self, name: str) -> AlertChannel:
        """The channel configured as ``[alerts.channels.NAME]``."""
        table = self.config.alerts.channels.get(name)
        if table is None:
            known = ", ".join(sorted(self.config.alerts.channels)) or "none configured"
            raise ConfigError(f"no alert channel named {quoted(name)}; configured: {known}")
        cls = self.registries.alert_channels.get(table.type)
        config = self._structure_options(cls, table.options, f"alerts.channels.{name}")
        instance: AlertChannel = cls(name, config)  # type: ignore[call-arg]
        return instance

    def executor(self, name: str) -> Executor:
        """A new executor ``name`` (for one run), configured from ``[executors.NAME]``.

        A class with a ``from_host(host, name, config)`` classmethod gets its options
        structured into its ``Config`` attrs class (the raw table when it has none); any other
        class is built with no arguments and takes no options.
        """
        cls = self.registries.executors.get(name)
        options = self.config.executors.get(name, {})
        from_host = getattr(cls, "from_host", None)
        if from_host is None:
            self._structure_options(cls, options, f"executors.{name}")  # refuses options
            instance: Executor = cls()
            return instance
        if getattr(cls, "Config", None) is None:
            built: Executor = from_host(self, name, dict(options))
            return built
        config = self._structure_options(cls, options, f"executors.{name}")
        configured: Executor = from_host(self, name, config)
        return configured

    def check_configured(self) -> list[str]:
        """Validate every configured source and channel against its type; one message each."""
        problems: list[str] = []
        checks: list[tuple[Callable[[str], object], Iterable[str]]] = [
            (self.source, self.config.sources),
            (self.alert_channel, self.config.alerts.channels),
            (lambda name: self.executor(name).shutdown(wait=False), self.config.executors),
        ]
        for build, names in checks:
            for name in names:
                try:
                    build(name)
                except SpineError as exc:  # values quoted in it may hold secrets
                    problems.append(self.redactor.redact(exc.message))
        return problems

    # -- storage -------------------------------------------------------------------------------

    @property
    def storage(self) -> DatabaseAdapter:
        """The adapter for ``[storage] url``, opened on first use and kept for the host's life."""
        if self._storage is None:
            self._storage = self.open_storage(
                self.config.storage.url, **self.config.storage.options
            )
        return self._storage

    def open_storage(self, url: str, **options: Any) -> DatabaseAdapter:
        """A new adapter for any URL whose scheme a storage plugin registered."""
        scheme = _scheme(url)
        if scheme not in self.registries.storage:
            providers = sorted(
                {claim.provider for claim in self.registries.storage.registrations()}
            )
            known = ", ".join(self.registries.storage.names()) or "none"
            raise ConfigError(
                f"no storage plugin handles scheme {scheme!r} (in {redact_url(url)}); "
                f"installed schemes: {known} (from {', '.join(providers) or 'no plugin'})",
                context={"scheme": scheme},
            )
        return self.registries.storage.get(scheme)(url, **options)

    # -- alerts --------------------------------------------------------------------------------

    @property
    def alerts(self) -> AlertRouter:
        """The alert router for ``[alerts.channels]``, built on first use."""
        if self._alerts is None:
            from spine_host.alerts.router import AlertRouter

            self._alerts = AlertRouter(self)
        return self._alerts

    def use_alert_router(self, router: AlertRouter) -> None:
        """Route this host's alerts through ``router`` (tests: a fake clock, no retry waits)."""
        if self._alerts is not None:
            self._alerts.close(timeout=0)
        self._alerts = router

    def close(self) -> None:
        """Deliver queued alerts (30 s at most), then release the storage adapter's connections."""
        if self._alerts is not None:
            self._alerts.close(timeout=30.0)
            self._alerts = None
        if self._storage is not None:
            self._storage.close()
            self._storage = None

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _structure_options(self, cls: type[Any], options: Mapping[str, Any], path: str) -> Any:
        config_cls = getattr(cls, "Config", None)
        if config_cls is None:
            if options:
                raise ConfigError(f"{path}: {cls.__name__} takes no options, got {sorted(options)}")
            return None
        from spine_host.structuring import structure  # cattrs: only when something is built

        return structure(dict(options), config_cls, path)

    def _collect_registrations(self) -> Registries:
        describe = self.plugins.describe
        registries = {
            kind: Registry[Any](kind, label, describe)
            for kind, (_, label, _) in _REGISTRATION_HOOKS.items()
        }
        for kind, (hook_name, _, explicit_name) in _REGISTRATION_HOOKS.items():
            registry = registries[kind]
            caller = getattr(self.plugins.manager.hook, hook_name)
            for impl in caller.get_hookimpls():
                register = _register_for(registry, impl.plugin_name, explicit_name)
                try:
                    impl.function(*[{"register": register}[arg] for arg in impl.argnames])
                except Exception as exc:
                    registry.remove_provider(impl.plugin_name)
                    info = self.plugins.infos.get(impl.plugin_name)
                    if info is not None:
                        info.fail(
                            PluginStatus.BROKEN,
                            f"{hook_name} raised {type(exc).__name__}: {exc}",
                        )
        # A plugin that broke in one registration hook is out entirely: what it registered in
        # its other hooks goes too, and its event hooks no longer fire.
        for info in self.plugins.problems():
            if info.status is PluginStatus.BROKEN:
                for registry in registries.values():
                    registry.remove_provider(info.name)
                self.plugins.unregister(info.name)
        result = Registries(**registries)
        self._record_provisions(result)
        return result

    def _record_provisions(self, registries: Registries) -> None:
        infos = self.plugins.infos
        for registry in registries.all():
            for claim in registry.registrations():
                info = infos.get(claim.provider)
                if info is None:
                    continue
                winner = registry.winner(claim.name)
                if winner is claim:
                    info.provides.setdefault(registry.kind, []).append(claim.name)
                elif winner is not None:
                    info.provides.setdefault(registry.kind, []).append(
                        f"{claim.name} (overridden by {winner.provider})"
                    )
            for name, claims in registry.conflicts().items():
                message = registry.describe_conflict(name, claims)
                for claim in claims:
                    if claim.provider in infos:
                        infos[claim.provider].fail(PluginStatus.CONFLICT, message)
        for info in infos.values():
            _mark_empty(info)


def _register_for(
    registry: Registry[Any], provider: str, explicit_name: bool
) -> Registrar[Any] | NamedRegistrar[Any]:
    if explicit_name:
        return Registrar(registry, provider)
    return NamedRegistrar(registry, provider)


def _scheme(url: str) -> str:
    # Not urlsplit: it rejects "_" in a scheme, and "db2+ibm_db" has one.
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not scheme:
        raise ConfigError(f"storage url {redact_url(url)!r} has no scheme, e.g. sqlite:///spine.db")
    # "postgresql+psycopg" and "db2+ibm_db" name a driver too; plugins register the base scheme.
    return scheme.split("+", 1)[0].lower()


# Registration hooks whose results are not kept in a registry, so "provides" cannot show them.
_UNREGISTERED_HOOKS = ("spine_register_commands",)


def _mark_empty(info: PluginInfo) -> None:
    """An OK plugin that registered nothing and observes nothing is EMPTY, and says so; one
    that only observes lists the event hooks it implements as what it provides."""
    if info.status is not PluginStatus.OK or info.provides:
        return
    observed = [
        hook
        for hook in info.hooks
        if not hook.startswith("spine_register_") or hook in _UNREGISTERED_HOOKS
    ]
    if observed:
        info.provides["hooks"] = sorted(observed)
        return
    info.status = PluginStatus.EMPTY
    info.errors.append("provides nothing: it registers nothing and implements no event hook")
