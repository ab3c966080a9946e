"""Where ``spine.toml`` is, how ``${ENV}`` is filled in, and ``[plugins] disable`` read alone.

The part of :mod:`spine_host.config` that ``spine --help`` needs: it lists plugin commands, so
it must know which plugins are disabled, but it validates no configuration. This module imports
no attrs and no cattrs; :mod:`spine_host.config` re-exports what is public here.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spine_host.errors import ConfigError

__all__ = ["CONFIG_ENV", "disabled_plugins", "find_config_file", "interpolate"]

CONFIG_ENV = "SPINE_CONFIG"

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def find_config_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: ``path``, ``$SPINE_CONFIG``, ``./spine.toml``, or None.

    A file named explicitly (argument or environment) that does not exist is an error; a missing
    ``./spine.toml`` just means "use the defaults".
    """
    named = path if path is not None else os.environ.get(CONFIG_ENV) or None
    if named is not None:
        candidate = Path(named)
        if not candidate.is_file():
            origin = "--config" if path is not None else f"${CONFIG_ENV}"
            raise ConfigError(f"config file {str(candidate)!r} (from {origin}) does not exist")
        return candidate
    default = Path("spine.toml")
    return default if default.is_file() else None


def disabled_plugins(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """``[plugins] disable`` alone, read without validating the rest of the file.

    What the CLI needs to list plugin commands for ``spine --help``, without importing cattrs
    for the whole configuration. Lenient: no file, an unreadable one or a ``disable`` that is
    not a list of strings gives ``[]`` (``load_config`` reports those problems).
    """
    try:
        file = find_config_file(path)
        if file is None:
            return []
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
        table = raw.get("plugins")
        names = table.get("disable") if isinstance(table, dict) else None
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            return []
        environ = environ if environ is not None else os.environ
        return [interpolate(name, environ, "plugins.disable", set(), file) for name in names]
    except (ConfigError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []


def interpolate(
    value: Any, environ: Mapping[str, str], path: str, secrets: set[str], file: Path | None
) -> Any:
    """``value`` with every ``${NAME}`` / ``${NAME:-default}`` in its strings filled in.

    Args:
        value: TOML data (tables, arrays, strings, other scalars).
        environ: where variables are looked up.
        path: the TOML path of ``value``, for messages (``storage.url``).
        secrets: collects every non-empty value that came from a variable.
        file: the file ``value`` was read from, for messages.

    Raises:
        ConfigError: a variable without a default is not set (naming it and the TOML path).
    """
    if isinstance(value, dict):
        return {
            key: interpolate(item, environ, f"{path}.{key}" if path else key, secrets, file)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate(item, environ, f"{path}[{index}]", secrets, file)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        if name in environ:
            found = environ[name]
        elif default is not None:
            found = default
        else:
            where = f" in {file}" if file else ""
            raise ConfigError(
                f"{path}: environment variable {name} is not set (referenced as ${{{name}}}"
                f"{where}); set it or give a default as ${{{name}:-value}}",
                context={"variable": name, "path": path},
            )
        if found:
            secrets.add(found)
        return found

    return _VARIABLE.sub(substitute, value)
