"""``spine.toml``: where it is found, how ``${ENV}`` is filled in, and what it may contain.

Discovery: the path given, else ``$SPINE_CONFIG``, else ``./spine.toml``, else the defaults (an
embedded SQLite database ``./spine.db``). Every table is structured into an attrs class; a wrong
value is a :class:`~spine_host.errors.ConfigError` naming the TOML path, the value and what was
expected. Values that came from the environment are secrets: :meth:`SpineConfig.redacted` and
the host's log filter mask them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from spine_host._config_file import disabled_plugins, find_config_file
from spine_host._config_file import interpolate as _interpolate
from spine_host.errors import ConfigError
from spine_host.redaction import Redactor, is_secret_key, redact_url
from spine_host.severity import Severity

__all__ = [
    "DEFAULT_STORAGE_URL",
    "AlertsConfig",
    "ChannelConfig",
    "PluginsConfig",
    "SourceConfig",
    "SpineConfig",
    "StorageConfig",
    "disabled_plugins",
    "find_config_file",
    "load_config",
]

DEFAULT_STORAGE_URL = "sqlite:///spine.db"


def _masked(options: dict[str, Any]) -> str:
    """A table's repr with credential keys masked (reprs end up in logs and tracebacks)."""
    return repr(Redactor().redact_data(options))


@attrs.frozen
class StorageConfig:
    """``[storage]``: the database spine keeps its history in, and adapter options."""

    url: str = attrs.field(default=DEFAULT_STORAGE_URL, repr=redact_url)
    options: dict[str, Any] = attrs.field(factory=dict, repr=_masked)


@attrs.frozen
class PluginsConfig:
    """``[plugins]``: entry-point names never to import."""

    disable: list[str] = attrs.field(factory=list)


def _duration_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    from spine_host.orchestration.schedule import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{attribute.name}: {exc}") from None
    if seconds is not None and seconds < 0:
        raise ValueError(f"{attribute.name}: must not be negative, got {value!r}")


@attrs.frozen
class ChannelConfig:
    """``[alerts.channels.NAME]``: routing keys every channel has, plus its own ``options``.

    The type-specific keys (everything but ``type``, ``min_severity``, ``domains``,
    ``enabled`` and ``throttle``) are kept in ``options`` and structured into the channel class's
    ``Config``. ``throttle`` is how long repeats of one problem are held back on this channel
    (seconds or ``"5m"``; default 5 minutes; ``0`` sends every repeat).
    """

    type: str
    min_severity: Severity = Severity.WARNING
    domains: list[str] = attrs.field(factory=lambda: ["*"])
    enabled: bool = True
    throttle: Any = attrs.field(default=None, validator=_duration_or_none)
    options: dict[str, Any] = attrs.field(factory=dict, repr=_masked)


@attrs.frozen
class AlertsConfig:
    """``[alerts]``: the channels alerts are routed to."""

    channels: dict[str, ChannelConfig] = attrs.field(factory=dict)


@attrs.frozen
class SourceConfig:
    """``[sources.NAME]``: the source type plus its own ``options`` for the type's ``Config``."""

    type: str
    options: dict[str, Any] = attrs.field(factory=dict, repr=_masked)


@attrs.frozen
class SpineConfig:
    """The whole configuration. ``SpineConfig()`` is the no-file default."""

    storage: StorageConfig = attrs.field(factory=StorageConfig)
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    alerts: AlertsConfig = attrs.field(factory=AlertsConfig)
    sources: dict[str, SourceConfig] = attrs.field(factory=dict)
    schedules: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    freshness: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: ``[executors.NAME]``: each executor's own options (spine-celery's broker...).
    executors: dict[str, dict[str, Any]] = attrs.field(factory=dict, repr=False)
    path: Path | None = None
    secrets: frozenset[str] = attrs.field(default=frozenset(), repr=False)

    @property
    def redactor(self) -> Redactor:
        """Masks every secret this configuration holds."""
        return Redactor(self.secrets)

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration as TOML-shaped data, secrets included (do not print)."""
        from spine_host.structuring import config_converter

        converter = config_converter()
        data: dict[str, Any] = {
            "storage": {"url": self.storage.url, **self.storage.options},
            "plugins": {"disable": list(self.plugins.disable)},
            "alerts": {"channels": {}},
            "sources": {},
            "schedules": {name: dict(table) for name, table in self.schedules.items()},
            "freshness": {name: dict(table) for name, table in self.freshness.items()},
        }
        if self.executors:
            data["executors"] = {name: dict(table) for name, table in self.executors.items()}
        for name, channel in self.alerts.channels.items():
            table = converter.unstructure(channel)
            table["min_severity"] = channel.min_severity.name
            table.update(table.pop("options"))
            data["alerts"]["channels"][name] = table
        for name, source in self.sources.items():
            data["sources"][name] = {"type": source.type, **source.options}
        return data

    def redacted(self) -> dict[str, Any]:
        """:meth:`to_dict` with every secret shown as ``***``; safe to print."""
        result: dict[str, Any] = self.redactor.redact_data(self.to_dict())
        return result


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> SpineConfig:
    """Find, read, interpolate and validate the configuration."""
    file = find_config_file(path)
    if file is None:
        return SpineConfig()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read: {exc}", cause=exc) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bom = (
            " (it starts with a UTF-16 byte order mark)"
            if data[:2] in (b"\xff\xfe", b"\xfe\xff")
            else ""
        )
        raise ConfigError(
            f"{file}: not UTF-8 text: undecodable byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}{bom}; TOML files are UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}", cause=exc) from exc
    return parse_config(raw, path=file, environ=environ)


def parse_config(
    raw: Mapping[str, Any], *, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> SpineConfig:
    """Validate already-parsed TOML data (``load_config`` without the file)."""
    secrets: set[str] = set()
    data = _interpolate(raw, environ if environ is not None else os.environ, "", secrets, path)
    # A credential written into the file itself is as secret as one from the environment:
    # remember its value too, so it is masked wherever it appears (errors, logs), not only
    # under its key in `spine config show`.
    secrets.update(_credential_values(data))
    where = f" in {path}" if path else ""
    if not isinstance(data, dict):
        raise ConfigError(f"the configuration{where} must be a table")
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown top-level table {', '.join(map(repr, unknown))}{where}; "
            f"allowed: {', '.join(sorted(_TOP_LEVEL_KEYS))}"
        )
    if path is not None:
        data = _relative_to(data, path.resolve().parent)
    storage = _split_options(data.get("storage", {}), "storage", {"url"})
    channels = {
        name: _split_options(table, f"alerts.channels.{name}", _CHANNEL_KEYS)
        for name, table in _tables(data.get("alerts", {}), "alerts", {"channels"})
        .get("channels", {})
        .items()
    }
    sources = {
        name: _split_options(table, f"sources.{name}", {"type"})
        for name, table in _tables(data.get("sources", {}), "sources").items()
    }
    # cattrs is imported here, not with the module: `spine --help` reads no configuration.
    from spine_host.structuring import config_converter, structure

    converter = config_converter()
    return SpineConfig(
        storage=structure(storage, StorageConfig, "storage", converter),
        plugins=structure(data.get("plugins", {}), PluginsConfig, "plugins", converter),
        alerts=AlertsConfig(
            channels={
                name: structure(table, ChannelConfig, f"alerts.channels.{name}", converter)
                for name, table in channels.items()
            }
        ),
        sources={
            name: structure(table, SourceConfig, f"sources.{name}", converter)
            for name, table in sources.items()
        },
        schedules=dict(_tables(data.get("schedules", {}), "schedules")),
        freshness=dict(_tables(data.get("freshness", {}), "freshness")),
        executors=dict(_tables(data.get("executors", {}), "executors")),
        path=path,
        secrets=frozenset(secrets),
    )


_TOP_LEVEL_KEYS = frozenset(
    {"storage", "plugins", "alerts", "sources", "schedules", "freshness", "executors"}
)
_CHANNEL_KEYS = frozenset({"type", "min_severity", "domains", "enabled", "throttle"})


# Source and channel options that name files: relative ones are relative to spine.toml.
_PATH_OPTIONS = ("path", "ca_bundle")
_SQLITE_RELATIVE = re.compile(r"^(sqlite(?:\+\w+)?:///)(?!/)(?!:memory:)(.+)$")


def _relative_to(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` with relative file paths made absolute against ``folder`` (the config file's):
    the SQLite database of ``[storage] url`` and ``path``/``ca_bundle`` of sources and
    channels. Running spine from another directory then reads the same files."""
    data = dict(data)
    storage = data.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("url"), str):
        match = _SQLITE_RELATIVE.match(storage["url"])
        if match:
            data["storage"] = {**storage, "url": f"{match[1]}{folder / match[2]}"}
    for section in ("sources", "alerts"):
        tables = data.get(section)
        if section == "alerts" and isinstance(tables, dict):
            tables = tables.get("channels")
        if not isinstance(tables, dict):
            continue
        resolved = {
            name: _resolve_paths(table, folder) if isinstance(table, dict) else table
            for name, table in tables.items()
        }
        if section == "alerts":
            data["alerts"] = {**data["alerts"], "channels": resolved}
        else:
            data["sources"] = resolved
    return data


def _resolve_paths(table: dict[str, Any], folder: Path) -> dict[str, Any]:
    return {
        key: (
            str(folder / value)
            if key in _PATH_OPTIONS
            and isinstance(value, str)
            and value
            and "://" not in value
            and not Path(value).is_absolute()
            else value
        )
        for key, value in table.items()
    }


def _tables(value: Any, path: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path} = {value!r}: expected a table")
    for name, table in value.items():
        if allowed is not None and name not in allowed:
            raise ConfigError(
                f"{path}: unknown key {name!r}; allowed keys: {', '.join(sorted(allowed))}"
            )
        if allowed is None and not isinstance(table, dict):
            raise ConfigError(f"{path}.{name} = {table!r}: expected a table")
    return value


def _split_options(table: Any, path: str, common: set[str] | frozenset[str]) -> dict[str, Any]:
    """Separate the keys every entry has from the type-specific ones (kept under ``options``)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path} = {table!r}: expected a table")
    if "options" in table:
        raise ConfigError(f"{path}.options: reserved key; put the options directly in [{path}]")
    result = {key: value for key, value in table.items() if key in common}
    result["options"] = {key: value for key, value in table.items() if key not in common}
    return result


def _credential_values(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in _credential_values(item, name)]
    if isinstance(value, list):
        return [found for item in value for found in _credential_values(item, key)]
    if isinstance(value, str) and key and is_secret_key(key):
        return [value]
    if isinstance(value, str) and "@" in value:
        # user:password@host in a value, with or without a scheme (a URL a user wrote without
        # one is still a credential): its password is a secret wherever it appears.
        match = _USERINFO_PASSWORD.search(value)
        if match is not None:
            return [match.group(1)]
    return []


#: The password of ``[scheme://]user:password@host``.
_USERINFO_PASSWORD = re.compile(r"(?:^|//|\s)[^\s:/@]*:([^\s@/]+)@[^\s@]")
