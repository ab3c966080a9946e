"""A named registry: who provides each storage scheme, source type, channel type, pipeline, ...

One small class serves every kind of thing plugins register, so collisions, overrides and "who
won" work the same everywhere. The host owns the registries; plugins only see a ``register``
callable handed to their registration hook.

Rules:
- two providers of one name without ``replace=True`` is a conflict: the name cannot be used, and
  using it is an error that names both providers;
- ``replace=True`` wins over a plain registration whatever the order (test doubles, overrides);
- two ``replace=True`` registrations of one name are again a conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

import attrs

from spine_host.errors import ConfigError, PluginError
from spine_host.printable import quoted

__all__ = ["Register", "RegisterNamed", "Registration", "Registry"]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Register(Protocol[T_contra]):
    """The callable a registration hook receives: ``register(name, thing, replace=False)``."""

    def __call__(self, name: str, value: T_contra, /, *, replace: bool = False) -> None:
        """Register ``value`` under ``name``; ``replace=True`` deliberately overrides another."""


class RegisterNamed(Protocol[T_contra]):
    """The callable for things that carry their own name: ``register(thing, replace=False)``."""

    def __call__(self, value: T_contra, /, *, replace: bool = False) -> None:
        """Register ``value`` under ``value.name``; ``replace=True`` overrides another."""


@attrs.frozen
class Registration(Generic[T]):
    """One provider's claim on a name."""

    name: str
    value: T
    provider: str
    replace: bool = False


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
        claims.append(Registration(name, value, provider, replace))

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
        """The thing registered as ``name``.

        Raises:
            PluginError: two providers claim ``name``; the message names both.
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
