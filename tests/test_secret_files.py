"""Account secrets from a secrets directory (``OMNISDK_SECRETS_DIR``): the nested layout a
Kubernetes secret volume makes (``accounts/<plugin>/<account>/<field>``, behind its ``..data``
links), the flat one of Docker secrets, their precedence, and refusals that name the file but
never what is in it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisdk import cli
from omnisdk.config import check_accounts, load_settings
from omnisdk.errors import ConfigError
from omnisdk_email import EmailAdapter
from omnisdk_sms import TwilioSmsAdapter

SMS = TwilioSmsAdapter.example_settings()
TOKEN = "file-auth-token-4242"
MODELS = {"sms": TwilioSmsAdapter.Settings, "email": EmailAdapter.Settings}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OMNISDK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def config_without_token(tmp_path: Path) -> Path:
    path = tmp_path / "omnisdk.toml"
    path.write_text("[accounts.sms.acme]\n" + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in SMS.items() if k != "auth_token"))
    return path


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_the_nested_layout_fills_an_account_from_the_toml_file(tmp_path):
    secrets = tmp_path / "secrets"
    write(secrets / "accounts" / "sms" / "acme" / "auth_token", TOKEN + "\n")  # as `kubectl create secret` writes it
    settings = load_settings(config_without_token(tmp_path), secrets_dir=secrets)
    assert settings.accounts["sms"]["acme"] == {**SMS, "auth_token": TOKEN}
    conf = check_accounts(settings, MODELS)[("sms", "acme")]
    assert conf.auth_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in repr(conf)


def test_a_kubernetes_secret_volume_with_its_data_links(tmp_path, monkeypatch):
    """The kubelet writes the files in a timestamped folder and points ``..data`` and every
    top-level name at it with symbolic links (``items[].path: accounts/sms/acme/auth_token``)."""
    volume = tmp_path / "run" / "omnisdk"
    stamp = volume / "..2026_11_21_09_00_00.000000001"
    write(stamp / "accounts" / "sms" / "acme" / "auth_token", TOKEN)
    (volume / "..data").symlink_to(stamp.name)
    (volume / "accounts").symlink_to("..data/accounts")
    monkeypatch.setenv("OMNISDK_SECRETS_DIR", str(volume))
    settings = load_settings(config_without_token(tmp_path))
    assert settings.accounts["sms"]["acme"]["auth_token"] == TOKEN


@pytest.mark.parametrize("name", ["omnisdk_accounts__sms__acme__auth_token", "OMNISDK_ACCOUNTS__SMS__ACME__AUTH_TOKEN"])
def test_the_flat_layout_of_docker_secrets(tmp_path, name):
    secrets = tmp_path / "run-secrets"
    write(secrets / name, TOKEN)
    write(secrets / "some_other_services_secret", "not ours")  # not read: not omnisdk_…
    settings = load_settings(config_without_token(tmp_path), secrets_dir=secrets)
    assert settings.accounts["sms"]["acme"]["auth_token"] == TOKEN


def test_files_beat_the_toml_file_and_lose_to_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "omnisdk.toml"
    path.write_text('[gateway]\nport = 8000\nhost = "0.0.0.0"\n[lifecycle]\ncase_links_secret = "from-toml"\n')
    secrets = tmp_path / "s"
    write(secrets / "gateway" / "port", "8100\n")
    write(secrets / "gateway" / "host", "10.0.0.1")
    write(secrets / "lifecycle" / "case_links_secret", "from-file-secret")
    monkeypatch.setenv("OMNISDK_GATEWAY__PORT", "8200")
    settings = load_settings(path, secrets_dir=secrets)
    assert settings.gateway.port == 8200 and settings.gateway.host == "10.0.0.1"
    assert settings.lifecycle.case_links_secret.get_secret_value() == "from-file-secret"


@pytest.mark.parametrize("content", ["", "\n", "\r\n"])
def test_an_empty_secret_file_is_refused_naming_the_file(tmp_path, content):
    secrets = tmp_path / "secrets"
    empty = write(secrets / "accounts" / "sms" / "acme" / "auth_token", content)
    with pytest.raises(ConfigError) as info:
        load_settings(config_without_token(tmp_path), secrets_dir=secrets)
    assert str(info.value) == f"secret file {empty} is empty"


def test_a_file_that_is_not_utf8_is_refused_without_its_bytes(tmp_path):
    secrets = tmp_path / "secrets"
    bad = write(secrets / "accounts" / "sms" / "acme" / "auth_token", b"tok\xff\xfeSECRETPART")
    with pytest.raises(ConfigError) as info:
        load_settings(config_without_token(tmp_path), secrets_dir=secrets)
    assert str(info.value) == f"secret file {bad} is not UTF-8 text"


def test_a_missing_directory_and_two_files_for_one_setting_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="secrets directory .*nowhere does not exist"):
        load_settings(config_without_token(tmp_path), secrets_dir=tmp_path / "nowhere")
    secrets = tmp_path / "secrets"
    write(secrets / "accounts" / "sms" / "acme" / "auth_token", TOKEN)
    write(secrets / "omnisdk_accounts__sms__acme__auth_token", "other-token-value")
    with pytest.raises(ConfigError) as info:
        load_settings(config_without_token(tmp_path), secrets_dir=secrets)
    message = str(info.value)
    assert "both set accounts.sms.acme.auth_token" in message
    assert TOKEN not in message and "other-token-value" not in message


def test_an_invalid_secret_from_a_file_is_refused_without_its_value(tmp_path):
    secrets = tmp_path / "secrets"
    (tmp_path / "omnisdk.toml").write_text(
        '[accounts.email.support]\naddresses = ["support@example.com"]\n')
    write(secrets / "accounts" / "email" / "support" / "webhook_secret", "not-a-whsec-key-31337")
    settings = load_settings(tmp_path / "omnisdk.toml", secrets_dir=secrets)
    with pytest.raises(ConfigError) as info:
        check_accounts(settings, MODELS)
    assert "accounts.email.support: webhook_secret" in str(info.value)
    assert "31337" not in str(info.value)


def test_the_cli_reads_the_directory_and_never_prints_a_secret(tmp_path, monkeypatch):
    config_without_token(tmp_path)
    write(tmp_path / "secrets" / "accounts" / "sms" / "acme" / "auth_token", TOKEN)
    monkeypatch.setenv("OMNISDK_SECRETS_DIR", str(tmp_path / "secrets"))
    check = CliRunner().invoke(cli.app, ["config", "check"])
    assert check.exit_code == 0, check.output
    assert check.stdout.startswith("configuration OK: 1 account (sms/acme)")
    show = CliRunner().invoke(cli.app, ["config", "show"])
    assert show.exit_code == 0 and 'auth_token = "********"' in show.stdout and TOKEN not in show.output
    write(tmp_path / "secrets" / "accounts" / "sms" / "acme" / "auth_token", "\n")
    refused = CliRunner().invoke(cli.app, ["config", "check"])
    assert refused.exit_code == 4
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "secret file" in refused.stderr and "auth_token is empty" in refused.stderr
