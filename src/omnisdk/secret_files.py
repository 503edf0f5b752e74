"""Settings read from a secrets directory: one file per value, as Kubernetes secret volumes and
Docker secrets mount them.

The directory is ``$OMNISDK_SECRETS_DIR`` (or ``load_settings(secrets_dir=…)``).  Two layouts,
which may be mixed:

- **nested** (Kubernetes): a folder per table, a file per field, named exactly as in the TOML
  file: ``<dir>/accounts/whatsapp/acme/app_secret`` is ``[accounts.whatsapp.acme] app_secret``,
  ``<dir>/lifecycle/case_links_secret`` is ``[lifecycle] case_links_secret``.  Only top-level
  folders named after a configuration section are read (``accounts``, ``lifecycle``,
  ``store`` …).
- **flat** (Docker, whose secret names cannot hold a ``/``): a file at the top of the directory
  named ``omnisdk_`` plus the path joined by ``__``, like the environment variables:
  ``<dir>/omnisdk_accounts__whatsapp__acme__app_secret``.  The part after the prefix is
  case-sensitive, unless the whole name is in capitals (``OMNISDK_ACCOUNTS__SMS__ACME__AUTH_TOKEN``
  is read in lower case, like the variable).  Other top-level files are not read.

Every file holds one value: its text (UTF-8) without its trailing line break(s).  Names starting
with ``.`` are skipped (Kubernetes keeps its ``..data`` links there); symbolic links are followed
(Kubernetes' files are links).  Values from files beat the TOML file and lose to the environment
and to init arguments; tables merge, so an account's ids can stay in the TOML file and its
secrets come from files.

Errors (:class:`~omnisdk.errors.ConfigError`) name the file, never its content: a directory that
does not exist, an empty file (an empty secret would let anyone sign), a file that cannot be
read or is not UTF-8, and one setting given by two files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from omnisdk.errors import ConfigError

SECRETS_DIR_ENV = "OMNISDK_SECRETS_DIR"
"""The environment variable naming the secrets directory."""
FLAT_PREFIX = "omnisdk_"
"""The name prefix of a flat secret file (matched without regard to case)."""
FLAT_DELIMITER = "__"
"""What joins the path in a flat secret file's name (as in the environment variables)."""
MAX_DEPTH = 8
"""Folders deeper than this are not read (``accounts/<plugin>/<account>/<field>`` is 4)."""


def read_secret_value(path: Path) -> str:
    """The value in one secret file: its UTF-8 text without trailing ``\\r``/``\\n``.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8, or holds nothing (after the line
            break is taken off); the message names ``path``, never the content.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"secret file {path} is not UTF-8 text") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ConfigError(f"secret file {path} is empty")
    return value


def read_secrets_dir(directory: Path, sections: frozenset[str]) -> dict[str, Any]:
    """The nested settings the files under ``directory`` give (see the module), for the
    top-level ``sections`` only.

    Raises:
        ConfigError: see the module.
    """
    if not directory.is_dir():
        raise ConfigError(f"secrets directory {directory} does not exist or is not a directory")
    out: dict[str, Any] = {}
    origin: dict[tuple[str, ...], Path] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and entry.name in sections:
            for keys, path in _walk(entry, (entry.name,)):
                _put(out, origin, keys, path)
        elif entry.is_file() and entry.name.lower().startswith(FLAT_PREFIX):
            name = entry.name.lower() if entry.name.isupper() else entry.name  # OMNISDK_… as a variable
            keys = tuple(name[len(FLAT_PREFIX):].split(FLAT_DELIMITER))
            if keys[0] in sections and all(keys):
                _put(out, origin, keys, entry)
    return out


def _walk(folder: Path, keys: tuple[str, ...]) -> list[tuple[tuple[str, ...], Path]]:
    if len(keys) > MAX_DEPTH:
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found += _walk(entry, (*keys, entry.name))
        elif entry.is_file():
            found.append(((*keys, entry.name), entry))
    return found


def _put(out: dict[str, Any], origin: dict[tuple[str, ...], Path], keys: tuple[str, ...], path: Path) -> None:
    for other_keys, other in origin.items():  # one setting, or a table and a value in it
        shorter = min(len(keys), len(other_keys))
        if keys[:shorter] == other_keys[:shorter]:
            raise ConfigError(f"secret files {other} and {path} both set {'.'.join(keys[:shorter])}")
    origin[keys] = path
    table = out
    for key in keys[:-1]:
        table = table.setdefault(key, {})
    table[keys[-1]] = read_secret_value(path)


class SecretFilesSource(PydanticBaseSettingsSource):
    """A pydantic-settings source over :func:`read_secrets_dir` (every field of the settings
    class is a section it may fill)."""

    def __init__(self, settings_cls: type[BaseSettings], secrets_dir: str | os.PathLike[str]) -> None:
        super().__init__(settings_cls)
        self.secrets_dir = Path(secrets_dir)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole tree at once

    def __call__(self) -> dict[str, Any]:
        return read_secrets_dir(self.secrets_dir, frozenset(self.settings_cls.model_fields))

    def __repr__(self) -> str:
        return f"SecretFilesSource(secrets_dir={str(self.secrets_dir)!r})"


__all__ = ["FLAT_DELIMITER", "FLAT_PREFIX", "SECRETS_DIR_ENV", "SecretFilesSource", "read_secret_value",
           "read_secrets_dir"]
