"""Configuration: TOML file + OMNISDK_* environment, typed values, secret-free reprs and errors."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from omnisdk.config import Settings, describe_validation_error, load_settings
from omnisdk.errors import ConfigError
from omnisdk.model.addresses import Channel
from omnisdk.routing.model import Agent, Queue

SECRET = "s3cr3t-value"

CONFIG = f"""
[store]
url = "sqlite:///test.db"
synchronous = "NORMAL"

[gateway]
host = "0.0.0.0"
port = 8088
public_url = "https://cx.example.com"

[plugins]
block = ["experimental"]

[[routing.queues]]
name = "support"
channels = ["whatsapp", "sms"]
skills = ["billing"]

[[routing.queues]]
name = "general"

[[routing.agents]]
id = "alice"
name = "Alice"
skills = ["billing"]
capacity = {{ whatsapp = 2 }}

[accounts.whatsapp.acme]
app_secret = "{SECRET}"
phone_number_id = "1122334455667"
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OMNISDK_* variable and no ./omnisdk.toml leaks in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("OMNISDK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OMNISDK_CONFIG_FILE", raising=False)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "conf.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- reading the file -------------------------------------------------------------------------


def test_load_settings_reads_toml(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, CONFIG))
    assert isinstance(s, Settings)
    assert s.store.url == "sqlite:///test.db"
    assert s.store.synchronous == "NORMAL"
    assert s.gateway.host == "0.0.0.0"
    assert s.gateway.port == 8088
    assert s.gateway.public_url == "https://cx.example.com"
    assert s.plugins.block == ["experimental"]

    assert [q.name for q in s.routing.queues] == ["support", "general"]
    support = s.routing.queues[0]
    assert isinstance(support, Queue)
    assert support.channels == [Channel.WHATSAPP, Channel.SMS]
    assert support.skills == {"billing": 1}  # a list means proficiency 1 each
    assert s.routing.queues[1].channels == []

    (alice,) = s.routing.agents
    assert isinstance(alice, Agent)
    assert alice.id == "alice" and alice.name == "Alice"
    assert alice.capacity == {Channel.WHATSAPP: 2}
    assert alice.serves(support)

    assert s.accounts["whatsapp"]["acme"]["app_secret"] == SECRET
    assert s.accounts["whatsapp"]["acme"]["phone_number_id"] == "1122334455667"


def test_load_settings_accepts_str_path(tmp_path: Path) -> None:
    s = load_settings(str(write(tmp_path, CONFIG)))
    assert s.gateway.port == 8088


def test_defaults_without_any_file(tmp_path: Path) -> None:
    assert not (tmp_path / "omnisdk.toml").exists()
    s = load_settings()
    assert s.gateway.port == 8080
    assert s.store.url == "sqlite:///omnisdk.db"
    assert s.routing.queues == [] and s.routing.agents == []
    assert s.accounts == {}


def test_omnisdk_toml_in_cwd_is_used(tmp_path: Path) -> None:
    write(tmp_path, "[gateway]\nport = 9001\n", name="omnisdk.toml")
    assert load_settings().gateway.port == 9001


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "[gateway]\nport = 9002\n", name="elsewhere.toml")
    monkeypatch.setenv("OMNISDK_CONFIG_FILE", str(p))
    assert load_settings().gateway.port == 9002


def test_explicit_path_beats_config_file_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_CONFIG_FILE", str(write(tmp_path, "[gateway]\nport = 9004\n", name="env.toml")))
    assert load_settings(write(tmp_path, "[gateway]\nport = 9005\n")).gateway.port == 9005


def test_config_file_variable_naming_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_a_later_load_does_not_reuse_the_earlier_file(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "[gateway]\nport = 9003\n")).gateway.port == 9003
    assert load_settings().gateway.port == 8080


def test_load_settings_leaves_no_file_behind_for_settings(tmp_path: Path) -> None:
    # a Settings() built later (tests, embedding code) must not silently read an earlier file
    assert load_settings(write(tmp_path, "[gateway]\nport = 9006\n")).gateway.port == 9006
    assert Settings().gateway.port == 8080
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, "[gateway\n", name="broken.toml"))
    assert Settings().gateway.port == 8080


def test_init_overrides_win(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, CONFIG), gateway={"port": 7000})
    assert s.gateway.port == 7000


# --- environment ------------------------------------------------------------------------------


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_GATEWAY__PORT", "9123")
    s = load_settings(write(tmp_path, CONFIG))
    assert s.gateway.port == 9123
    # the rest of the [gateway] table still comes from the file
    assert s.gateway.host == "0.0.0.0"
    assert s.gateway.public_url == "https://cx.example.com"


def test_environment_without_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_GATEWAY__PORT", "9124")
    monkeypatch.setenv("OMNISDK_STORE__URL", "sqlite:////abs/x.db")
    s = load_settings()
    assert s.gateway.port == 9124
    assert s.store.url == "sqlite:////abs/x.db"


def test_invalid_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_GATEWAY__PORT", "eighty")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "gateway.port" in str(info.value)
    assert "eighty" not in str(info.value)


# --- no secrets in reprs ----------------------------------------------------------------------


def test_repr_and_str_hide_account_secrets(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, CONFIG))
    assert SECRET not in repr(s)
    assert SECRET not in str(s)
    assert "8088" in repr(s)  # the repr still shows ordinary settings


# --- errors -----------------------------------------------------------------------------------


def test_invalid_value_names_field_not_value(tmp_path: Path) -> None:
    p = write(tmp_path, '[gateway]\nport = "not-a-port"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(p)
    msg = str(info.value)
    assert "gateway.port" in msg
    assert "not-a-port" not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_invalid_value_next_to_secret_does_not_leak(tmp_path: Path) -> None:
    p = write(tmp_path, CONFIG.replace("port = 8088", f'port = "{SECRET}"'))
    with pytest.raises(ConfigError) as info:
        load_settings(p)
    assert "gateway.port" in str(info.value)
    assert SECRET not in str(info.value)


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    p = write(tmp_path, '[gatway]\nport = 1\n')
    with pytest.raises(ConfigError, match="gatway"):
        load_settings(p)


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_toml_syntax_error_is_config_error(tmp_path: Path) -> None:
    p = write(tmp_path, f'[gateway\nport = = 1\napp_secret = "{SECRET}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(p)
    assert SECRET not in str(info.value)


def test_config_error_is_omni_error() -> None:
    from omnisdk.errors import OmniError

    assert issubclass(ConfigError, OmniError)


# --- describe_validation_error ----------------------------------------------------------------


class _Creds(BaseModel):
    token: SecretStr
    retries: int


class _Outer(BaseModel):
    creds: _Creds


@pytest.mark.parametrize("leak", ["sk_live_ABCDEF0123456789", "hunter2-password"])
def test_describe_validation_error_omits_inputs(leak: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Outer.model_validate({"creds": {"token": [leak], "retries": leak}})
    assert leak in str(info.value)  # pydantic's own message would leak it
    text = describe_validation_error(info.value)
    assert leak not in text
    assert "creds.token" in text
    assert "creds.retries" in text


def test_describe_validation_error_root_location() -> None:
    with pytest.raises(ValidationError) as info:
        _Creds.model_validate("sk_live_root_secret")
    text = describe_validation_error(info.value)
    assert "sk_live_root_secret" not in text
    assert text.startswith("(root):")


def test_describe_validation_error_caps_the_list() -> None:
    class Many(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int
        f: int
        g: int

    with pytest.raises(ValidationError) as info:
        Many.model_validate({k: "x" for k in "abcdefg"})
    assert len(describe_validation_error(info.value).split("; ")) == 5


def test_channels_are_an_open_vocabulary_of_checked_names():
    """A plugin's own channel needs no core release: any lower-case identifier is a channel in
    queues and capacity tables; anything else is refused with the field named."""
    agent = Agent(id="ann", capacity={"telegram": 2, Channel.SMS: 1})
    queue = Queue(name="tg", channels=["telegram"])
    assert agent.capacity == {"telegram": 2, "sms": 1}
    assert queue.accepts("telegram") and not queue.accepts("sms")
    assert agent.free("telegram", {"telegram": 1}) == 1
    for bad in ("Telegram", "tele gram", "", "9lives", "x" * 33):
        with pytest.raises(ValidationError, match="capacity"):
            Agent(id="ann", capacity={bad: 1})


# --- B1: every account secret is non-empty (the real plugins' settings models) -----------------

from omnisdk.adapters import AccountSettings  # noqa: E402
from omnisdk.config import check_accounts  # noqa: E402
from omnisdk_sms import TwilioSmsAdapter  # noqa: E402
from omnisdk_sms.settings import TwilioSmsSettings  # noqa: E402
from omnisdk_whatsapp import WhatsAppAdapter  # noqa: E402
from omnisdk_whatsapp.settings import WhatsAppSettings  # noqa: E402

REAL_MODELS = {"sms": (TwilioSmsAdapter, TwilioSmsSettings), "whatsapp": (WhatsAppAdapter, WhatsAppSettings)}


def _secret_fields(model: type[BaseModel]) -> list[str]:
    return [n for n, f in model.model_fields.items() if f.annotation is SecretStr]


def test_the_real_plugins_declare_secrets() -> None:
    # what the next test covers: auth_token for SMS; app_secret, verify_token, access_token for WhatsApp
    assert _secret_fields(TwilioSmsSettings) == ["auth_token"]
    assert sorted(_secret_fields(WhatsAppSettings)) == ["access_token", "app_secret", "verify_token"]


@pytest.mark.parametrize(("plugin", "field"), [(p, f) for p, (_, m) in REAL_MODELS.items() for f in _secret_fields(m)])
@pytest.mark.parametrize("empty", ["", " ", "\t\n  "])
def test_an_empty_secret_is_refused_naming_the_field(plugin: str, field: str, empty: str) -> None:
    adapter, model = REAL_MODELS[plugin]
    good = adapter.example_settings()
    model.model_validate(good)  # the example settings themselves load
    with pytest.raises(ValidationError) as info:
        model.model_validate({**good, field: empty})
    text = describe_validation_error(info.value)
    assert text.startswith(f"{field}: ") and "must not be empty" in text
    for other in _secret_fields(model):  # no secret value of the table reaches the message
        if other != field:
            assert good[other] not in text


def test_a_refused_secret_never_appears_in_the_error() -> None:
    """A plugin's own check of a secret's shape (the email plugin's whsec_ secrets) refuses it;
    pydantic would print the refused input beside the error: AccountSettings hides it."""
    from pydantic import field_validator

    from omnisdk.adapters import AccountSettings

    class Shaped(AccountSettings):
        key: SecretStr

        @field_validator("key")
        @classmethod
        def _prefix(cls, value: SecretStr) -> SecretStr:
            if not value.get_secret_value().startswith("k_"):
                raise ValueError("must start with k_")
            return value

    with pytest.raises(ValidationError) as info:
        Shaped(key="hunter2-the-real-secret")
    assert "must start with k_" in str(info.value)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value.errors(include_input=False))


def test_load_then_check_accounts_refuses_the_empty_sms_auth_token(tmp_path: Path) -> None:
    """The probe's finding: ``auth_token = ""`` loaded, and a body signed with the empty key
    verified.  Now the configuration does not load."""
    table = {**TwilioSmsAdapter.example_settings(), "auth_token": ""}
    lines = "\n".join(f'{k} = "{v}"' for k, v in table.items())
    s = load_settings(write(tmp_path, f"[accounts.sms.acme]\n{lines}\n"))
    with pytest.raises(ConfigError) as info:
        check_accounts(s, {"sms": TwilioSmsSettings})
    assert str(info.value).startswith("accounts.sms.acme: auth_token: ")
    assert TwilioSmsAdapter.example_settings()["account_sid"] not in str(info.value)
    # the runtime's own check refuses it too (the gateway never gets an adapter for it)
    from omnisdk.plugins import PluginHost
    from omnisdk.runtime import build_adapters

    host = PluginHost(allow=["sms"])
    host.load_entrypoints()
    with pytest.raises(ConfigError, match=r"accounts\.sms\.acme: auth_token"):
        build_adapters(s, host)


def test_check_accounts_validates_known_plugins_and_leaves_the_others(tmp_path: Path) -> None:
    p = write(tmp_path, "[accounts.sms.acme]\n" + "\n".join(
        f'{k} = "{v}"' for k, v in TwilioSmsAdapter.example_settings().items()) + '\n[accounts.fax.x]\nkey = ""\n')
    checked = check_accounts(load_settings(p), {"sms": TwilioSmsSettings})
    assert list(checked) == [("sms", "acme")]
    assert isinstance(checked[("sms", "acme")], TwilioSmsSettings)


class _PluginWithSecrets(AccountSettings):
    keys: list[SecretStr] = []
    by_name: dict[str, SecretStr] = {}
    optional: SecretStr | None = None
    defaulted: SecretStr = SecretStr("fallback-key")


def test_the_base_checks_secrets_of_any_plugin_in_lists_dicts_and_defaults() -> None:
    assert _PluginWithSecrets(keys=["k1"], by_name={"a": "k2"}).keys[0].get_secret_value() == "k1"
    assert _PluginWithSecrets(optional=None).optional is None  # an absent optional secret is fine
    for bad in ({"keys": ["k1", " "]}, {"by_name": {"a": ""}}, {"optional": ""}, {"defaulted": "  "}):
        (name,) = bad
        with pytest.raises(ValidationError) as info:
            _PluginWithSecrets(**bad)
        assert describe_validation_error(info.value).startswith(f"{name}: ")

    class EmptyDefault(AccountSettings):
        token: SecretStr = SecretStr("")

    with pytest.raises(ValidationError, match="token"):
        EmptyDefault()  # defaults are validated too: a plugin cannot ship an empty key


# --- B8: configuration that would break the server is refused at load ---------------------------


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_a_port_outside_1_to_65535_is_refused(tmp_path: Path, port: int) -> None:
    with pytest.raises(ConfigError, match=r"gateway\.port"):
        load_settings(write(tmp_path, f"[gateway]\nport = {port}\n"))


@pytest.mark.parametrize("port", [1, 65535])
def test_the_port_range_ends_are_accepted(tmp_path: Path, port: int) -> None:
    assert load_settings(write(tmp_path, f"[gateway]\nport = {port}\n")).gateway.port == port


@pytest.mark.parametrize("size", [0, -1])
def test_max_body_bytes_must_be_positive(tmp_path: Path, size: int) -> None:
    with pytest.raises(ConfigError, match=r"gateway\.max_body_bytes"):
        load_settings(write(tmp_path, f"[gateway]\nmax_body_bytes = {size}\n"))


BAD_URLS = ["file:///etc/passwd", "cx.example.com", "//cx.example.com", "ftp://cx.example.com",
            "https://", "https://cx.example.com:99999", "https://cx.example.com/?a=1",
            "https://cx.example.com/#top", "https://cx example.com", f"https://admin:{SECRET}@cx.example.com"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_public_url_must_be_an_absolute_http_url(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, f'[gateway]\npublic_url = "{url}"\n'))
    assert "gateway.public_url" in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("url", ["https://cx.example.com", "http://127.0.0.1:8080", "https://cx.example.com/omni"])
def test_public_url_accepts_http_and_https(tmp_path: Path, url: str) -> None:
    assert load_settings(write(tmp_path, f'[gateway]\npublic_url = "{url}"\n')).gateway.public_url == url


@pytest.mark.parametrize("plugin", sorted(REAL_MODELS))
@pytest.mark.parametrize("url", BAD_URLS)
def test_every_plugins_api_base_url_must_be_an_absolute_http_url(plugin: str, url: str) -> None:
    adapter, model = REAL_MODELS[plugin]
    with pytest.raises(ValidationError) as info:
        model.model_validate({**adapter.example_settings(), "api_base_url": url})
    text = describe_validation_error(info.value)
    assert text.startswith("api_base_url: ") and SECRET not in text
    # a local stand-in (the demo's, the tests') and the default stay accepted
    assert model.model_validate({**adapter.example_settings(), "api_base_url": "http://127.0.0.1:9/x"})
    assert model.model_validate(adapter.example_settings()).api_base_url in (None, "https://api.twilio.com")


def test_duplicate_agent_ids_and_queue_names_are_refused(tmp_path: Path) -> None:
    text = ('[[routing.queues]]\nname = "support"\n[[routing.queues]]\nname = "sales"\n'
            '[[routing.queues]]\nname = "support"\n'
            '[[routing.agents]]\nid = "alice"\n[[routing.agents]]\nid = "alice"\n[[routing.agents]]\nid = "bob"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    msg = str(info.value)
    assert "routing.queues: duplicate queue name: support" in msg
    assert "routing.agents: duplicate agent id: alice" in msg
    assert "bob" not in msg and "sales" not in msg


def test_duplicate_agents_from_the_environment_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_ROUTING__AGENTS", '[{"id": "ann"}, {"id": "ann"}]')
    with pytest.raises(ConfigError, match="routing.agents: duplicate agent id: ann"):
        load_settings()


def test_bad_json_in_an_environment_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_ROUTING__AGENTS", f'[{{"id": "{SECRET}",')
    monkeypatch.setenv("OMNISDK_ROUTING__ACKNOWLEDGEMENT", "[not json, a plain text]")  # a str: not JSON
    with pytest.raises(ConfigError) as info:
        load_settings()
    msg = str(info.value)
    assert msg.startswith("environment variable OMNISDK_ROUTING__AGENTS is not valid JSON")
    assert "line 1, column" in msg
    assert SECRET not in msg and "ACKNOWLEDGEMENT" not in msg


def test_a_plain_text_environment_value_is_not_taken_for_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_ROUTING__ACKNOWLEDGEMENT", "[auto] Thanks, we are on it")
    assert load_settings().routing.acknowledgement == "[auto] Thanks, we are on it"


def test_a_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    p = write(tmp_path, f'[gateway]\nport = 8080\n\n[accounts.sms.acme]\nauth_token = "{SECRET}\n')
    with pytest.raises(ConfigError) as info:
        load_settings(p)
    msg = str(info.value)
    assert msg.startswith(f"configuration file {p}: TOML syntax error at line 5, column ")
    assert SECRET not in msg


def test_a_toml_error_quoting_the_file_keeps_only_its_words(tmp_path: Path) -> None:
    # tomllib says "Cannot declare ('s3cr3t-value',) twice": the quoted part is the file's text
    p = write(tmp_path, f'[gateway]\nport = 8080\n["{SECRET}"]\n["{SECRET}"]\n')
    msg = str(pytest.raises(ConfigError, load_settings, p).value)
    assert re.search(r"TOML syntax error at line 4, column \d+: Cannot declare$", msg)
    assert SECRET not in msg


def test_a_configuration_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    with pytest.raises(ConfigError, match="is not a file"):
        load_settings(tmp_path / "conf.d")


# --- A1: capacity tables and queues accept any channel a loaded adapter declares ------------


from omnisdk.hookspecs import hookimpl  # noqa: E402


class _TelegramPlugin:
    """A plugin of a channel the core has never heard of (its adapter is the sample one,
    renamed and declaring ``telegram``)."""

    @staticmethod
    def adapter_class():
        from sample_plugin import SampleAdapter

        class TelegramAdapter(SampleAdapter):
            name = "telegram_bot"
            channel = "telegram"

        return TelegramAdapter

    def __init__(self) -> None:
        self.cls = self.adapter_class()

    @hookimpl
    def omnisdk_adapters(self):
        return [self.cls]


def _runtime_with(tmp_path, host, capacity, queue_channels):
    from sample_wire import make_settings

    from omnisdk.runtime import Runtime

    settings = make_settings(tmp_path, queues=[{"name": "tg", "channels": queue_channels}],
                             agents=[{"id": "ann", "capacity": capacity}])
    return Runtime(settings, host=host)


def test_a_channel_no_loaded_plugin_declares_is_refused_naming_agent_and_channel(tmp_path):
    from omnisdk.config import ConfigError
    from omnisdk.plugins.host import PluginHost

    host = PluginHost(allow=["sample_plugin"])
    host.load_modules(["sample_plugin"])
    with pytest.raises(ConfigError, match=r"agent 'ann' capacity: no loaded plugin declares the channel 'telegram'"):
        _runtime_with(tmp_path, host, {"telegram": 2}, ["chat"])
    with pytest.raises(ConfigError, match=r"queue 'tg' channels: no loaded plugin declares the channel 'telegram'"):
        _runtime_with(tmp_path, host, {"chat": 2}, ["telegram"])


def test_a_channel_a_loaded_plugin_declares_is_accepted_without_a_core_release(tmp_path):
    from omnisdk.plugins.host import PluginHost

    host = PluginHost(allow=["sample_plugin", "telegram"])
    host.load_modules(["sample_plugin"])
    assert host.register(_TelegramPlugin(), "telegram")
    rt = _runtime_with(tmp_path, host, {"telegram": 2, "chat": 1}, ["telegram"])
    assert "telegram" in rt.channels
    from omnisdk.routing.model import Agent

    with pytest.raises(ValueError, match="viber"):  # the API's PUT /v1/agents goes through the same check
        rt.check_channels(Agent(id="bo", capacity={"viber": 1}))
