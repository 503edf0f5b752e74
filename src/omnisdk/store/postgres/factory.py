"""The ``postgresql`` (and ``postgres``) URL scheme: :func:`open_postgres`, registered with
:func:`omnisdk.store.registry.register_store` when :mod:`omnisdk.store` is imported.

psycopg is an optional dependency (``pip install 'omnisdk[postgres]'``): it is imported when a
``postgresql://`` store is opened, never before, so a SQLite deployment does not need it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from omnisdk.errors import ConfigError
from omnisdk.store.base import Store

SCHEMES = ("postgresql", "postgres")
_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def split_schema(url: str) -> tuple[str, str | None]:
    """``url`` without omnisdk's own query parameter ``schema``, and its value (None if absent).

    Raises:
        ConfigError: ``schema`` is given twice or is not a plain identifier (letters, digits,
            ``_``, at most 63 characters, not starting with a digit).
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [v for k, v in query if k == "schema"]
    if len(schemas) > 1:
        raise ConfigError("store.url: schema is given more than once")
    if schemas and not _SCHEMA.fullmatch(schemas[0]):
        raise ConfigError("store.url: schema must be an identifier (letters, digits, _; at most 63)")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), (schemas[0] if schemas else None)


def open_postgres(url: str, *, synchronous: str = "FULL", inbox_url: str | None = None,
                  inbox_only: bool = False, pool_size: int = 4, connect_timeout: float = 10.0,
                  **options: Any) -> Store:
    """The ``postgresql`` scheme's factory: ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``
    with libpq's own query parameters (``sslmode``, ``application_name`` …) and omnisdk's
    ``schema=NAME`` (the tables' schema, created if missing).  The password never reaches
    :attr:`~omnisdk.store.base.Store.location` or an error.

    Raises:
        ConfigError: not a PostgreSQL URL, a URL libpq cannot parse, an option this store does
            not take (``inbox_url``: a separate inbox file is SQLite's), or psycopg is missing.
    """
    if options:
        raise ConfigError(f"store: option {sorted(options)[0]!r} is not one the PostgreSQL store takes")
    if inbox_url is not None or inbox_only:
        raise ConfigError("store.inbox_url is SQLite's (serve --split): a PostgreSQL store takes the "
                          "ingress's and the core's writes in one database")
    scheme = url.partition(":")[0].lower()
    if scheme not in SCHEMES or not url[len(scheme):].startswith("://"):
        raise ConfigError("store.url for PostgreSQL must look like postgresql://USER@HOST:PORT/DATABASE")
    conninfo, schema = split_schema(url)
    try:
        from psycopg import conninfo as pg_conninfo

        from omnisdk.store.postgres.store import PostgresStore
    except ImportError:
        raise ConfigError("the PostgreSQL store needs psycopg: pip install 'omnisdk[postgres]'") from None
    try:
        params = pg_conninfo.conninfo_to_dict(conninfo)
    except Exception:  # psycopg.ProgrammingError; its text may quote the URL (and a password)
        raise ConfigError("store.url is not a PostgreSQL connection URI libpq can parse") from None
    location = (f"postgresql://{params.get('user', '')}@{params.get('host', '')}:{params.get('port', 5432)}"
                f"/{params.get('dbname', '')}" + (f"?schema={schema}" if schema else ""))
    try:
        return PostgresStore(conninfo, location=location, schema=schema, synchronous=synchronous,
                             pool_size=pool_size, connect_timeout=connect_timeout)
    except ValueError as exc:
        raise ConfigError(f"store: {exc}") from None


__all__ = ["SCHEMES", "open_postgres", "split_schema"]
