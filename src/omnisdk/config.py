"""Configuration: one TOML file plus ``OMNISDK_*`` environment variables (pydantic-settings).

Precedence: init arguments > environment > TOML file > defaults.  Nested keys use ``__`` in
environment variables (``OMNISDK_GATEWAY__PORT=9000``).  Plugin accounts live under
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

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from omnisdk.errors import ConfigError
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.model.addresses import ChannelName
from omnisdk.routing.model import Agent, Queue


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    url: str = Field("sqlite:///omnisdk.db", description="sqlite:///relative.db or sqlite:////abs.db")
    inbox_url: str | None = Field(
        None, description="Keep the inbox in this separate SQLite file (serve --split derives one).")
    synchronous: Literal["FULL", "NORMAL"] = Field("FULL", description="SQLite: FULL (power-loss safe) or NORMAL.")


class GatewaySettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        None, description="Scheme://host[:port] providers call; used for URL-based signatures."
    )
    max_body_bytes: int = Field(1 << 20, description="Webhook bodies above this get 413 (bytes).")


class PluginSettings(_Section):
    allow: list[str] | None = Field(None, description="Load only these plugins (None = all).")
    block: list[str] = Field(default_factory=list, description="Never load these plugins.")
    modules: list[str] = Field(
        default_factory=list,
        description="Extra plugin modules to register by import path (no packaging needed).",
    )


class RoutingSettings(_Section):
    queues: list[Queue] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)
    acknowledgement: str | None = Field(
        None, description="Text sent to the customer when a new interaction opens (None = none)."
    )
    item_size: dict[ChannelName, float] = Field(
        default_factory=dict, description="Units one item of a channel costs against max_units (voice 1.0, email 0.5, others 0.25)."
    )


class Settings(BaseSettings):
    """Everything omnisdk reads at start-up."""

    model_config = SettingsConfigDict(env_prefix="OMNISDK_", env_nested_delimiter="__", extra="forbid")

    store: StoreSettings = Field(default_factory=StoreSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
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
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)



_CONFIG_PATH: dict[str, str] = {}


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (``path``, else ``$OMNISDK_CONFIG_FILE``, else ``./omnisdk.toml`` if it
    exists) and the environment.

    Raises:
        ConfigError: the file is missing/unreadable or a value is invalid (the message names
            the field, never its value).
    """
    env_file = os.environ.get("OMNISDK_CONFIG_FILE")
    chosen = Path(path) if path else Path(env_file) if env_file else None
    if chosen is None and Path("omnisdk.toml").exists():
        chosen = Path("omnisdk.toml")
    if chosen is not None and not chosen.exists():
        raise ConfigError(f"configuration file {chosen} does not exist")
    _CONFIG_PATH.clear()
    if chosen is not None:
        _CONFIG_PATH["path"] = str(chosen)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_validation_error(exc)}") from None
    except Exception as exc:  # TOML syntax errors come from tomllib
        raise ConfigError(f"cannot read configuration: {type(exc).__name__}") from None
    finally:
        _CONFIG_PATH.clear()  # a later Settings() must not read this file behind its back


def describe_validation_error(exc: ValidationError) -> str:
    """A secret-free summary of a pydantic error: field locations and messages, no inputs."""
    errs = exc.errors(include_input=False, include_url=False, include_context=False)
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in errs[:5])
