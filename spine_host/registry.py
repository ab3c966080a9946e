"""A named registry: who provides each storage scheme, source type, channel type, pipeline, ...

One small class serves every kind of thing plugins register, so collisions, overrides and "who
won" work the same everywhere. The host owns the registries; plugins only see the ``register``
object handed to their registration hook.

Rules:
- two providers of one name without ``replace=True`` is a conflict: the name cannot be used, and
  using it is an error that names both providers;
- ``replace=True`` wins over a plain registration whatever the order (test doubles, overrides);
- two ``replace=True`` registrations of one name are again a conflict;
- a lazy registration, ``register.lazy(name, "package.module:attribute")``, claims its name at
  once, so names, counts, conflicts and ``spine plugins`` need no import; the target is imported
  the first time the thing itself is used, and a target that cannot be loaded is a
  ``PluginError`` naming the plugin and the target.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar, cast

from spine_host.errors import ConfigError, PluginError
from spine_host.printable import quoted

__all__ = [
    "NamedRegistrar",
    "Register",
    "RegisterNamed",
    "Registrar",
    "Registration",
    "Registry",
]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

#: ``package.module:attribute``; the attribute may be dotted (``module:Class.attribute``).
_TARGET = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


class Register(Protocol[T_contra]):
    """What a registration hook receives when it gives each thing its name.

    ``register(name, thing, replace=False)`` registers a thing already imported;
    ``register.lazy(name, "package.module:attribute", replace=False)`` registers the name now
    and imports the target the first time the thing is used.
    """

    def __call__(self, name: str, value: T_contra, /, *, replace: bool = False) -> None:
        """Register ``value`` under ``name``; ``replace=True`` deliberately overrides another."""

    def lazy(self, name: str, target: str, /, *, replace: bool = False) -> None:
        """Register ``name`` now; import ``target``, ``"package.module:attribute"``, on first
        use."""


class RegisterNamed(Protocol[T_contra]):
    """What a registration hook receives for things that carry their own ``name``.

    ``register(thing, replace=False)`` registers a thing already imported, under
    ``thing.name``; ``register.lazy(name, "package.module:attribute", replace=False)``
    registers ``name`` now and imports the target the first time the thing is used (its
    ``name`` must then be ``name``).
    """

    def __call__(self, value: T_contra, /, *, replace: bool = False) -> None:
        """Register ``value`` under ``value.name``; ``replace=True`` overrides another."""

    def lazy(self, name: str, target: str, /, *, replace: bool = False) -> None:
        """Register ``name`` now; import ``target``, ``"package.module:attribute"``, on first
        use; the imported thing's ``name`` must be ``name``."""


class Registration(Generic[T]):
    """One provider's claim on a name.

    An eager registration holds its value. A lazy one holds :attr:`target`
    (``"package.module:attribute"``) and imports it the first time :attr:`value` is read;
    :attr:`name`, :attr:`provider`, :attr:`replace` and :attr:`target` never import anything.

    Args:
        label: what the thing is called in messages (``"pipeline"``).
        describe_provider: renders the provider for messages (with its distribution).
        named: the thing carries its own ``name``, which must equal the registered one.
    """

    __slots__ = (
        "_describe",
        "_error",
        "_label",
        "_loaded",
        "_named",
        "_value",
        "name",
        "provider",
        "replace",
        "target",
    )

    def __init__(
        self,
        name: str,
        value: T | None = None,
        provider: str = "",
        replace: bool = False,
        *,
        target: str | None = None,
        label: str = "entry",
        describe_provider: Callable[[str], str] = str,
        named: bool = False,
    ) -> None:
        self.name = name
        self.provider = provider
        self.replace = replace
        #: ``"package.module:attribute"`` for a lazy registration; None for an eager one.
        self.target = target
        self._value = value
        self._loaded = target is None
        self._error: PluginError | None = None
        self._label = label
        self._describe = describe_provider
        self._named = named

    @property
    def loaded(self) -> bool:
        """True once the thing is in memory (from the start, for an eager registration)."""
        return self._loaded

    @property
    def value(self) -> T:
        """The registered thing; a lazy registration's target is imported on the first read.

        Raises:
            PluginError: the target cannot be imported, lacks the attribute, or (for things
                that carry their own name) is named otherwise; the message names the plugin and
                the target. Every later read raises the same error.
        """
        if not self._loaded:
            self._load()
        return cast(T, self._value)

    def _load(self) -> None:
        if self._error is not None:
            raise self._error
        target = cast(str, self.target)
        module_name, _, attribute = target.partition(":")
        try:
            found: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                found = getattr(found, part)
        except BaseException as exc:  # a module may raise anything on import, SystemExit too
            if isinstance(exc, KeyboardInterrupt):
                raise
            self._error = self._failure(f"{type(exc).__name__}: {exc}", exc)
            raise self._error from exc
        if self._named and getattr(found, "name", None) != self.name:
            self._error = self._failure(f"it is named {getattr(found, 'name', None)!r}", None)
            raise self._error
        self._value = found
        self._loaded = True

    def _failure(self, reason: str, cause: BaseException | None) -> PluginError:
        return PluginError(
            f"{self._describe(self.provider)} registered {self._label} {quoted(self.name)} as "
            f"{self.target!r}, which cannot be loaded: {reason}",
            context={"provider": self.provider, "name": self.name, "target": self.target},
            cause=cause,
        )

    def __repr__(self) -> str:
        held = f"target={self.target!r}" if self.target is not None else f"value={self._value!r}"
        return f"Registration({self.name!r}, {held}, provider={self.provider!r})"


class Registry(Generic[T]):
    """Names to registered things, with their providers.

    Args:
        kind: plural key used in listings (``"sources"``).
        label: what one entry is called in messages (``"source type"``).
        describe_provider: renders a provider (a plugin name) for messages, e.g. with its
            distribution; the identity by default.
    """

    def __init__(
        self,
        kind: str,
        label: str,
        describe_provider: Callable[[str], str] = str,
    ) -> None:
        self.kind = kind
        self.label = label
        self._describe = describe_provider
        self._claims: dict[str, list[Registration[T]]] = {}

    def add(self, name: str, value: T, *, provider: str, replace: bool = False) -> None:
        """Record ``provider``'s claim on ``name``; conflicts surface when the name is used."""
        self._claim(Registration(name, value, provider, replace))

    def add_lazy(
        self,
        name: str,
        target: str,
        *,
        provider: str,
        replace: bool = False,
        named: bool = False,
    ) -> None:
        """Record ``provider``'s claim on ``name`` for ``target``, imported on first use.

        Args:
            target: ``"package.module:attribute"``; its form is checked now, nothing imported.
            named: the thing carries its own ``name`` (a workflow, a schedule), which must be
                ``name`` once it is imported.

        Raises:
            PluginError: ``target`` is not of the form ``package.module:attribute``.
        """
        if not isinstance(target, str) or not _TARGET.fullmatch(target):
            raise PluginError(
                f"{self._describe(provider)} registered {self.label} {name!r} lazily with "
                f"target {target!r}: expected 'package.module:attribute'",
                context={"provider": provider, "name": name},
            )
        self._claim(
            Registration(
                name,
                None,
                provider,
                replace,
                target=target,
                label=self.label,
                describe_provider=self._describe,
                named=named,
            )
        )

    def _claim(self, registration: Registration[T]) -> None:
        name, provider = registration.name, registration.provider
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"{provider} registered a {self.label} with an invalid name {name!r}: "
                "expected a non-empty string",
                context={"provider": provider},
            )
        claims = self._claims.setdefault(name, [])
        if any(claim.provider == provider for claim in claims):
            raise PluginError(
                f"{self._describe(provider)} registered {self.label} {name!r} twice",
                context={"provider": provider, "name": name},
            )
        claims.append(registration)

    def remove_provider(self, provider: str) -> None:
        """Forget everything ``provider`` registered (a plugin that turned out broken)."""
        for name in list(self._claims):
            kept = [claim for claim in self._claims[name] if claim.provider != provider]
            if kept:
                self._claims[name] = kept
            else:
                del self._claims[name]

    def winner(self, name: str) -> Registration[T] | None:
        """The registration that is in force for ``name``; None when unknown or in conflict."""
        claims = self._claims.get(name, [])
        if len(claims) == 1:
            return claims[0]
        replacing = [claim for claim in claims if claim.replace]
        return replacing[0] if len(replacing) == 1 else None

    def get(self, name: str) -> T:
        """The thing registered as ``name``, imported now if it was registered lazily.

        Raises:
            PluginError: two providers claim ``name`` (the message names both), or a lazy
                target cannot be loaded (the message names the plugin and the target).
            ConfigError: nothing is registered as ``name``; the message lists what is.
        """
        claim = self.winner(name)
        if claim is not None:
            return claim.value
        conflict = self.conflict(name)
        if conflict:
            raise PluginError(self.describe_conflict(name, conflict), context={"name": name})
        known = ", ".join(sorted(self._claims)) or "none"
        raise ConfigError(
            f"unknown {self.label} {quoted(name)}; registered: {known}",
            context={"name": name, "kind": self.kind},
        )

    def load_errors(self) -> list[PluginError]:
        """Import every lazy registration in force; the error of each that cannot be loaded.

        ``spine doctor`` calls this; everything else imports a target only when it is used.
        """
        errors = []
        for name in self.names():
            claim = self.winner(name)
            if claim is None or claim.loaded:
                continue
            try:
                claim.value  # noqa: B018 - reading it is what loads it
            except PluginError as exc:
                errors.append(exc)
        return errors

    def conflict(self, name: str) -> list[Registration[T]]:
        """The competing registrations for ``name`` when no single one wins, else []."""
        claims = self._claims.get(name, [])
        if len(claims) < 2 or self.winner(name) is not None:
            return []
        replacing = [claim for claim in claims if claim.replace]
        return replacing or claims

    def conflicts(self) -> dict[str, list[Registration[T]]]:
        """Every name in conflict, with its competing registrations."""
        return {name: found for name in self._claims if (found := self.conflict(name))}

    def conflict_messages(self) -> list[str]:
        """A sentence per conflict, naming every provider involved."""
        return [self.describe_conflict(name, claims) for name, claims in self.conflicts().items()]

    def names(self) -> list[str]:
        """Every usable name, sorted."""
        return sorted(name for name in self._claims if self.winner(name) is not None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.winner(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def registrations(self) -> list[Registration[T]]:
        """Every claim made, winners and losers, in name order."""
        return [claim for name in sorted(self._claims) for claim in self._claims[name]]

    def overridden_by(self, name: str) -> list[Registration[T]]:
        """Claims on ``name`` that lost to a ``replace=True`` registration."""
        claim = self.winner(name)
        if claim is None:
            return []
        return [other for other in self._claims[name] if other is not claim]

    def describe_conflict(self, name: str, claims: list[Registration[T]]) -> str:
        """One sentence naming every provider competing for ``name``."""
        providers = " and ".join(self._describe(claim.provider) for claim in claims)
        return (
            f"{self.label} {name!r} is provided by both {providers}; disable one of them "
            "(SPINE_DISABLE_PLUGINS or [plugins] disable) or register the intended one with "
            "replace=True"
        )


class Registrar(Generic[T]):
    """The ``register`` a hook receives for one registry and one provider: ``Register[T]``."""

    def __init__(self, registry: Registry[T], provider: str) -> None:
        self._registry = registry
        self._provider = provider

    def __call__(self, name: str, value: T, /, *, replace: bool = False) -> None:
        """Register ``value`` under ``name``."""
        self._registry.add(name, value, provider=self._provider, replace=replace)

    def lazy(self, name: str, target: str, /, *, replace: bool = False) -> None:
        """Register ``name``; ``target``, ``"package.module:attribute"``, loads on first use."""
        self._registry.add_lazy(name, target, provider=self._provider, replace=replace)


class NamedRegistrar(Generic[T]):
    """The ``register`` a hook receives for things that carry their own name:
    ``RegisterNamed[T]``."""

    def __init__(self, registry: Registry[T], provider: str) -> None:
        self._registry = registry
        self._provider = provider

    def __call__(self, value: T, /, *, replace: bool = False) -> None:
        """Register ``value`` under ``value.name``."""
        name = getattr(value, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"{self._registry.label} {value!r} has no string 'name' attribute")
        self._registry.add(name, value, provider=self._provider, replace=replace)

    def lazy(self, name: str, target: str, /, *, replace: bool = False) -> None:
        """Register ``name``; ``target`` loads on first use and must carry that ``name``."""
        self._registry.add_lazy(name, target, provider=self._provider, replace=replace, named=True)
