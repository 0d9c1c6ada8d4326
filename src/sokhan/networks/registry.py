"""Connector registry: built-in connectors and third-party ones from package entry points.

A third-party package exposes its class under the ``sokhan.connectors`` entry-point group, e.g. in
its ``pyproject.toml``::

    [project.entry-points."sokhan.connectors"]
    rubika = "sokhan_rubika:RubikaConnector"
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from importlib.metadata import entry_points

from sokhan.networks import connectors as builtin_package
from sokhan.networks.base import CAPABILITY_METHODS, OPERATIONS, Connector
from sokhan.networks.types import AuthKind, Capability, Limits

logger = logging.getLogger("sokhan.networks")
ENTRY_POINT_GROUP = "sokhan.connectors"

_registry: dict[str, type[Connector]] = {}
_loaded = False


class RegistrationError(TypeError):
    """A connector class breaks the interface's rules."""


def _overrides(cls: type[Connector], method: str) -> bool:
    return getattr(cls, method) is not getattr(Connector, method)


def validate(cls: type[Connector]) -> None:
    name = getattr(cls, "__name__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise RegistrationError(f"{name} is not a Connector subclass")
    for attr in ("key", "name", "auth", "capabilities", "limits"):
        if not hasattr(cls, attr):
            raise RegistrationError(f"{name} does not declare {attr}")
    if not cls.key.isidentifier() or cls.key != cls.key.lower():
        raise RegistrationError(f"{name}.key must be a lowercase identifier, not {cls.key!r}")
    if not isinstance(cls.auth, AuthKind):
        raise RegistrationError(f"{name}.auth must be an AuthKind")
    if not isinstance(cls.limits, Limits):
        raise RegistrationError(f"{name}.limits must be a Limits")
    if not all(isinstance(c, Capability) for c in cls.capabilities):
        raise RegistrationError(f"{name}.capabilities must hold Capability values")
    if Capability.PROFILE_READ not in cls.capabilities:
        raise RegistrationError(f"{name} must declare PROFILE_READ and implement verify()")
    for capability in cls.capabilities:
        method = CAPABILITY_METHODS[capability]
        if not _overrides(cls, method):
            raise RegistrationError(f"{name} declares {capability.value} but does not implement {method}()")
    declared_methods = {CAPABILITY_METHODS[c] for c in cls.capabilities}
    for method in OPERATIONS - declared_methods:
        if _overrides(cls, method):
            raise RegistrationError(f"{name} implements {method}() without declaring a capability for it")
    if cls.auth in (AuthKind.OAUTH2_PKCE, AuthKind.OAUTH2) and cls.oauth is None:
        raise RegistrationError(f"{name} uses OAuth but declares no OAuthSpec")
    if cls.auth is AuthKind.OAUTH2_PKCE and cls.oauth is not None and not cls.oauth.pkce:
        raise RegistrationError(f"{name} declares OAuth 2.0 with PKCE but its OAuthSpec has pkce=False")


def register[C: type[Connector]](cls: C) -> C:
    """Class decorator for built-in connectors; also used for entry-point connectors."""
    validate(cls)
    existing = _registry.get(cls.key)
    if existing is not None and existing is not cls:
        raise RegistrationError(f"connector key {cls.key!r} is taken by {existing.__module__}.{existing.__name__}")
    _registry[cls.key] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(builtin_package.__path__, builtin_package.__name__ + "."):
        importlib.import_module(module.name)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register(entry.load())
        except Exception:  # a broken plugin must not take the product down
            logger.exception("Could not load connector %s from %s", entry.name, entry.value)
    _loaded = True


def get(key: str) -> type[Connector]:
    _load()
    try:
        return _registry[key]
    except KeyError:
        raise KeyError(f"no connector named {key!r}; known: {', '.join(sorted(_registry))}") from None


def all_connectors() -> list[type[Connector]]:
    _load()
    return sorted(_registry.values(), key=lambda c: c.key)


def describe(cls: type[Connector]) -> dict[str, object]:
    """The public description printed by ``sokhan networks --json``."""
    return {
        "key": cls.key,
        "name": cls.name,
        "auth": cls.auth.value,
        "capabilities": sorted(c.value for c in cls.capabilities),
        "limits": cls.limits.as_json(),
        "docs": cls.docs_url,
    }
