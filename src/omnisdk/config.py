"""Configuration: one TOML file plus ``OMNISDK_*`` environment variables (pydantic-settings).

Precedence: init arguments > environment > secret files > TOML file > defaults.  Nested keys
use ``__`` in environment variables (``OMNISDK_GATEWAY__PORT=9000``).  Secret files are read from
``$OMNISDK_SECRETS_DIR`` (or ``load_settings(secrets_dir=…)``), one file per value:
``<dir>/accounts/whatsapp/acme/app_secret`` (:mod:`omnisdk.secret_files`).  Plugin accounts live under
``[accounts.<plugin>.<account>]`` and are validated against the plugin's settings model when
the runtime starts; their secrets are masked in every repr and error.

Example::

    [store]
    url = "sqlite:///omnisdk.db"

    [gateway]
    port = 8080
    public_url = "https://cx.example.com"   # what providers call; signatures use it

    [plugins]
    block = ["experimental"]

    [[routing.queues]]
    name = "support"

    [[routing.agents]]
    id = "alice"
    capacity = { whatsapp = 3, sms = 3 }

    [accounts.whatsapp.acme]
    app_secret = "..."
    verify_token = "..."
    access_token = "..."
    phone_number_id = "1122334455667"
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from omnisdk.access.settings import ApiSettings
from omnisdk.bus.settings import BusSettings
from omnisdk.errors import ConfigError
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.model.addresses import ChannelName
from omnisdk.networks import check_networks
from omnisdk.outbound.webhook_settings import WebhookSettings
from omnisdk.routing.model import Agent, Queue
from omnisdk.secret_files import SECRETS_DIR_ENV, SecretFilesSource
from omnisdk.urls import HttpURL


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    url: str = Field("sqlite:///omnisdk.db", description="sqlite:///relative.db, sqlite:////abs.db, or postgresql://user@host:5432/db[?schema=name]")
    inbox_url: str | None = Field(
        None, description="Keep the inbox in this separate SQLite file (serve --split derives one).")
    synchronous: Literal["FULL", "NORMAL"] = Field("FULL", description="SQLite: FULL (power-loss safe) or NORMAL.")


class GatewaySettings(_Section):
    """``[gateway]``: where the server listens and what providers call.

    Refused at load: a ``port`` outside 1–65535, a ``max_body_bytes`` or a
    ``ready_max_inbox_lag`` of 0 or less, a
    ``public_url`` that is not an absolute http(s) URL (:func:`omnisdk.urls.check_http_url`),
    a ``trusted_proxies`` entry that is no IP address or network, an empty ``metrics_token``.
    """

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535, description="TCP port to listen on (1-65535).")
    public_url: HttpURL | None = Field(
        None, description="Scheme://host[:port] providers call; used for URL-based signatures."
    )
    max_body_bytes: int = Field(
        1 << 20, gt=0, description="Webhook bodies above this get 413 (bytes, more than 0).")
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds a client has to send a request's line and headers, from "
        "its first byte (or from connecting); then 408 and the connection is closed (omnisdk serve).")
    body_timeout: float = Field(
        10.0, gt=0, description="Seconds a client has to send a whole webhook body once its headers "
        "are in; then 408 and the connection is closed.")
    max_concurrent_bodies: int = Field(
        64, gt=0, description="Webhook bodies read at once that are still arriving (per process); "
        "beyond it 503 with Retry-After.")
    ready_max_inbox_lag: int = Field(
        10_000, gt=0, description="GET /readyz answers 503 while this many inbox events or more wait "
        "for the processor (a count, more than 0).")
    log_format: Literal["text", "json"] = Field(
        "text", description="omnisdk serve's log lines on stderr: text, or json (one object a line); "
        "--log-format overrides it.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "warning", description="The least severe omnisdk records omnisdk serve writes (other loggers: "
        "warning and above); --log-level overrides it.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto omnisdk serve believes; empty: none, the client address is "
        "the connection's peer.")
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token GET /metrics requires when set (a secret: non-empty, never shown; "
        "or the file gateway/metrics_token of the secrets directory); unset: /metrics is open, and "
        "omnisdk serve warns when it binds off loopback.")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return check_networks(value, "trusted_proxies")

    @field_validator("metrics_token")
    @classmethod
    def _non_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("metrics_token must not be empty (unset it to leave /metrics open)")
        return value


class PluginSettings(_Section):
    allow: list[str] | None = Field(None, description="Load only these plugins (None = all).")
    block: list[str] = Field(default_factory=list, description="Never load these plugins.")
    modules: list[str] = Field(
        default_factory=list,
        description="Extra plugin modules to register by import path (no packaging needed).",
    )


class RoutingSettings(_Section):
    """``[routing]``: queues, agents and routing options.

    Refused at load: two agents with the same ``id``, two queues with the same ``name``.
    """

    queues: list[Queue] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)
    acknowledgement: str | None = Field(
        None, description="Text sent to the customer when a new interaction opens (None = none)."
    )
    item_size: dict[ChannelName, float] = Field(
        default_factory=dict, description="Units one item of a channel costs against max_units (voice 1.0, email 0.5, others 0.25)."
    )

    @field_validator("queues")
    @classmethod
    def _unique_queue_names(cls, queues: list[Queue]) -> list[Queue]:
        _refuse_duplicates([q.name for q in queues], "queue name")
        return queues

    @field_validator("agents")
    @classmethod
    def _unique_agent_ids(cls, agents: list[Agent]) -> list[Agent]:
        _refuse_duplicates([a.id for a in agents], "agent id")
        return agents


def _refuse_duplicates(names: list[str], what: str) -> None:
    dupes = sorted(n for n, times in Counter(names).items() if times > 1)
    if dupes:
        raise ValueError(f"duplicate {what}{'s' if len(dupes) > 1 else ''}: {', '.join(dupes)}")


ENV_PREFIX = "OMNISDK_"
ENV_DELIMITER = "__"
"""Environment variables: ``OMNISDK_`` + the field path joined by ``__`` (``OMNISDK_GATEWAY__PORT``)."""


class Settings(BaseSettings):
    """Everything omnisdk reads at start-up."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER, extra="forbid")

    store: StoreSettings = Field(default_factory=StoreSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    accounts: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict, repr=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_PATH.get("path") or os.environ.get("OMNISDK_CONFIG_FILE")
        secrets_dir = _CONFIG_PATH.get("secrets_dir") or os.environ.get(SECRETS_DIR_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if secrets_dir:
            sources.append(SecretFilesSource(settings_cls, secrets_dir))
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)



_CONFIG_PATH: dict[str, str] = {}
"""What :func:`load_settings` hands the sources while it builds one Settings: ``path`` (the TOML
file) and ``secrets_dir``."""


def load_settings(path: str | Path | None = None, *, secrets_dir: str | Path | None = None,
                  **overrides: Any) -> Settings:
    """Read the TOML file (``path``, else ``$OMNISDK_CONFIG_FILE``, else ``./omnisdk.toml`` if it
    exists), the secret files (``secrets_dir``, else ``$OMNISDK_SECRETS_DIR``, else none:
    :mod:`omnisdk.secret_files`) and the environment.

    Raises:
        ConfigError: the file is missing, not a file or unreadable; it is not valid TOML (the
            message gives the line and column); an ``OMNISDK_*`` variable holding JSON is not
            valid JSON (the message names the variable); or a value is invalid (the message
            names the field, never its value); the secrets directory is missing, or one of
            its files is empty, unreadable or not UTF-8 (the message names the file, never its
            content).
    """
    env_file = os.environ.get("OMNISDK_CONFIG_FILE")
    chosen = Path(path) if path else Path(env_file) if env_file else None
    if chosen is None and Path("omnisdk.toml").exists():
        chosen = Path("omnisdk.toml")
    if chosen is not None and not chosen.exists():
        raise ConfigError(f"configuration file {chosen} does not exist")
    if chosen is not None and not chosen.is_file():
        raise ConfigError(f"configuration file {chosen} is not a file")
    _CONFIG_PATH.clear()
    if chosen is not None:
        _CONFIG_PATH["path"] = str(chosen)
    if secrets_dir is not None:
        _CONFIG_PATH["secrets_dir"] = str(secrets_dir)
    try:
        return Settings(**overrides)
    except ConfigError:  # a secret file's own refusal: it names the file already
        raise
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_validation_error(exc)}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {chosen}: {describe_toml_error(exc)}") from None
    except SettingsError as exc:
        raise ConfigError(describe_settings_error(exc)) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read configuration file {chosen}: {exc.strerror or type(exc).__name__}") from None
    except Exception as exc:  # never a traceback, never a value
        raise ConfigError(f"cannot read configuration: {type(exc).__name__}") from None
    finally:
        _CONFIG_PATH.clear()  # a later Settings() must not read this file behind its back


def check_accounts(
    settings: Settings, models: Mapping[str, type[BaseModel]]
) -> dict[tuple[str, str], BaseModel]:
    """Validate every ``[accounts.<plugin>.<account>]`` table whose plugin is in ``models``
    (plugin name → its settings model, e.g. ``{"sms": TwilioSmsSettings}``); tables of other
    plugins are left to the runtime, which refuses a plugin that is not loaded.

    Returns the validated settings by ``(plugin, account)``.

    Raises:
        ConfigError: the first invalid table, naming ``accounts.<plugin>.<account>`` and its
            fields (an empty secret, a malformed id …), never a value.
    """
    out: dict[tuple[str, str], BaseModel] = {}
    for plugin, accounts in settings.accounts.items():
        model = models.get(plugin)
        if model is None:
            continue
        for account, raw in accounts.items():
            try:
                out[(plugin, account)] = model.model_validate(raw)
            except ValidationError as exc:
                raise ConfigError(
                    f"accounts.{plugin}.{account}: {describe_validation_error(exc)}") from None
    return out


def describe_validation_error(exc: ValidationError) -> str:
    """A secret-free summary of a pydantic error: field locations and messages, no inputs."""
    errs = exc.errors(include_input=False, include_url=False, include_context=False)
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg'].removeprefix('Value error, ')}"
        for e in errs[:5]
    )


_TOML_AT = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)\s*$")


def describe_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    """``"TOML syntax error at line 3, column 8: Invalid value"``: where, and what tomllib
    says, without quoting the file (a quoted character could belong to a secret)."""
    text = str(exc)
    where = _TOML_AT.search(text)
    reason = _TOML_AT.sub("", text)
    if "'" in reason or '"' in reason:  # tomllib quotes keys and characters: keep the words
        reason = re.split(r"['\"]", reason, maxsplit=1)[0].rstrip(" ([{:") or "invalid syntax"
    return f"TOML syntax error at {where.group(1) if where else 'an unknown position'}: {reason}"


_SETTINGS_FIELD = re.compile(r'field "([^"]+)" from source "([^"]+)"')


def describe_settings_error(exc: SettingsError) -> str:
    """Name the ``OMNISDK_*`` variable whose JSON value pydantic-settings could not decode
    (``OMNISDK_ROUTING__AGENTS='[{"id": "a",'``) and where its JSON breaks; no value."""
    found = _SETTINGS_FIELD.search(str(exc))
    if found is None or found.group(2) != "EnvSettingsSource":
        return f"cannot read configuration: {type(exc).__name__}"
    field = found.group(1)
    prefix = f"{ENV_PREFIX}{field}".upper()
    for name in sorted(os.environ):
        upper = name.upper()
        if upper != prefix and not upper.startswith(prefix + ENV_DELIMITER):
            continue
        path = [field, *upper[len(prefix) + len(ENV_DELIMITER):].lower().split(ENV_DELIMITER)]
        if not _takes_json(path if upper != prefix else [field]):
            continue
        try:
            json.loads(os.environ[name])
        except json.JSONDecodeError as bad:
            return (f"environment variable {name} is not valid JSON: {bad.msg} "
                    f"(line {bad.lineno}, column {bad.colno})")
    return f"cannot read the environment variables of {field!r}: invalid JSON"


def _takes_json(path: list[str]) -> bool:
    """Whether the setting at ``path`` (``["routing", "agents"]``) is a list, dict or model:
    the kind of value pydantic-settings decodes from JSON."""
    annotation: Any = Settings
    for part in path:
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        info = annotation.model_fields.get(part)
        if info is None:
            return False
        annotation = info.annotation
    options = [a for a in get_args(annotation) if a is not type(None)] if get_origin(annotation) in (
        Union, UnionType) else [annotation]
    return any(get_origin(a) in (list, dict, set, tuple) or (isinstance(a, type) and (
        issubclass(a, BaseModel) or issubclass(a, list | dict | set | tuple))) for a in options)
