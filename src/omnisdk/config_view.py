"""The effective configuration as ``omnisdk config show`` prints it: every secret masked, as a
JSON-able document (:func:`masked_settings`) rendered as JSON or TOML (:func:`to_toml`).

Masked as :data:`MASK`: every :class:`~pydantic.SecretStr` / :class:`~pydantic.SecretBytes`
value, in the core's sections (``[lifecycle] case_links_secret``) and in each account validated
against its plugin's settings model (nested models, lists and dicts included); the password of
a store URL; and every value of an account whose plugin is not loaded (which fields are secret
is the plugin's to say).  Accounts are shown as their plugin's model reads them, defaults
included.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

MASK = "********"
"""What every secret value is shown as."""
_URL_FIELDS = ("url", "inbox_url")
"""``[store]`` fields holding a URL whose password is masked."""


def masked_settings(settings: BaseModel, models: Mapping[str, type[BaseModel]]) -> dict[str, Any]:
    """The settings as a JSON-able dict with every secret masked (see the module).

    ``models``: plugin name → its account settings model (e.g. ``{"sms": TwilioSmsSettings}``).

    Raises:
        pydantic.ValidationError: an account does not validate against its plugin's model
            (check the configuration first: :func:`omnisdk.config.check_accounts`).
    """
    doc = {name: _plain(getattr(settings, name)) for name in type(settings).model_fields if name != "accounts"}
    store = doc.get("store")
    if isinstance(store, dict):
        for key in _URL_FIELDS:
            if isinstance(store.get(key), str):
                store[key] = mask_url_password(store[key])
    accounts: dict[str, Any] = {}
    for plugin, tables in getattr(settings, "accounts", {}).items():
        model = models.get(plugin)
        accounts[plugin] = {
            account: _plain(model.model_validate(raw)) if model is not None else dict.fromkeys(raw, MASK)
            for account, raw in tables.items()
        }
    doc["accounts"] = accounts
    return doc


def mask_url_password(url: str) -> str:
    """``url`` with its password, if any, as :data:`MASK` (user, host and port kept)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL urlsplit can read (a bad port): show nothing of its authority
        return MASK
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}").geturl()


def _plain(value: Any) -> Any:
    """``value`` as JSON-able data, secrets masked."""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(k.value if isinstance(k, Enum) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return to_jsonable_python(value)


def to_json(doc: Mapping[str, Any]) -> str:
    """``doc`` as indented JSON (unset values as ``null``)."""
    return json.dumps(doc, indent=2, ensure_ascii=False)


def to_toml(doc: Mapping[str, Any]) -> str:
    """``doc`` as TOML that :mod:`tomllib` reads back to ``doc`` without its None values (TOML
    has no null: an unset value is left out).  Tables become ``[a.b]`` sections, lists of
    tables ``[[a.b]]``, empty tables and other lists inline (``{}``, ``[1, 2]``)."""
    lines: list[str] = []
    _table(lines, (), doc, array_item=False)
    return "\n".join(lines).strip("\n") + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value)  # an empty one is written inline: {}


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], *, array_item: bool) -> None:
    scalars = [(k, v) for k, v in table.items() if v is not None and not _is_table(v) and not _is_table_array(v)]
    if array_item:
        lines += ["", f"[[{_dotted(path)}]]"]
    elif path and (scalars or not any(_is_table(v) or _is_table_array(v) for v in table.values())):
        lines += ["", f"[{_dotted(path)}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in scalars]
    for k, v in table.items():
        if _is_table(v):
            _table(lines, (*path, k), v, array_item=False)
    for k, v in table.items():
        if _is_table_array(v):
            for item in v:
                _table(lines, (*path, k), item, array_item=True)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(p) for p in path)


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # a TOML basic string takes JSON's escapes; DEL, which JSON leaves raw, TOML refuses raw
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    return json.dumps(str(value))


__all__ = ["MASK", "mask_url_password", "masked_settings", "to_json", "to_toml"]
