"""The ``sqlite`` URL scheme: :func:`open_sqlite`, registered with
:func:`omnisdk.store.registry.register_store` when this module is imported."""

from __future__ import annotations

from typing import Any

from omnisdk.errors import ConfigError
from omnisdk.store.registry import register_store
from omnisdk.store.sqlite.store import SQLiteStore


def open_sqlite(url: str, *, inbox_url: str | None = None, **options: Any) -> SQLiteStore:
    """The ``sqlite`` scheme's factory: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``;
    ``inbox_url`` (also ``sqlite:///``) keeps the inbox in a separate file.

    Raises:
        ConfigError: not a ``sqlite:///`` URL, or a bad option value.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ConfigError("store.url for SQLite must look like sqlite:///PATH")
    if inbox_url is not None:
        if not inbox_url.startswith(prefix):
            raise ConfigError("store.inbox_url must be a sqlite:/// URL too")
        options["inbox_path"] = inbox_url[len(prefix):]
    try:
        return SQLiteStore(url[len(prefix):] or "omnisdk.db", **options)
    except ValueError as exc:
        raise ConfigError(f"store: {exc}") from None


register_store("sqlite", open_sqlite)
