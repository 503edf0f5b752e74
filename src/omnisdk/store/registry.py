"""Stores by URL scheme: ``open_store("sqlite:///omnisdk.db")``.

A store module registers a factory for its scheme with :func:`register_store` when it is
imported (the SQLite store registers ``sqlite``; the PostgreSQL store ``postgresql`` and
``postgres``, importing psycopg only when one is opened).  Third-party stores are found through the
entry-point group ``omnisdk.stores``: the entry point's name is the scheme and its object the
factory, e.g. in a ``pyproject.toml``::

    [project.entry-points."omnisdk.stores"]
    cockroachdb = "omnisdk_cockroach:open_store"

A factory is called as ``factory(url, **options)`` and returns an unopened
:class:`~omnisdk.store.base.Store`; it raises :class:`~omnisdk.errors.ConfigError` for a URL
or option it cannot use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from omnisdk.errors import ConfigError
from omnisdk.store.base import Store

log = logging.getLogger("omnisdk.store")

ENTRY_POINT_GROUP = "omnisdk.stores"

StoreFactory = Callable[..., Store]

_FACTORIES: dict[str, StoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make ``open_store`` use ``factory`` for URLs ``scheme://…`` (a later call replaces an
    earlier one)."""
    _FACTORIES[scheme.lower()] = factory


def store_schemes() -> list[str]:
    """The schemes registered now (entry points not loaded yet are not listed)."""
    return sorted(_FACTORIES)


def _from_entry_points(scheme: str) -> StoreFactory | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() == scheme:
            try:
                factory = ep.load()
            except Exception as exc:  # a broken third-party store: say which, not a traceback
                raise ConfigError(f"store plugin {ep.value!r} for {scheme}:// failed to load: "
                                  f"{type(exc).__name__}") from exc
            register_store(scheme, factory)
            return factory
    return None


def open_store(url: str, **options: Any) -> Store:
    """A store for a URL (``sqlite:///relative.db``, ``sqlite:////abs/path.db``,
    ``postgresql://user@host:5432/db?schema=name``, or any scheme a store plugin registers).
    The store is not opened yet.

    Raises:
        ConfigError: no store for the scheme, or the factory refuses the URL or options.
    """
    scheme, sep, _ = url.partition(":")
    scheme = scheme.lower()
    factory = _FACTORIES.get(scheme) if sep else None
    if factory is None and sep:
        factory = _from_entry_points(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in store_schemes()) or "none"
        raise ConfigError(f"unsupported store URL scheme {scheme!r} (known: {known})")
    return factory(url, **options)


__all__ = ["ENTRY_POINT_GROUP", "StoreFactory", "open_store", "register_store", "store_schemes"]
