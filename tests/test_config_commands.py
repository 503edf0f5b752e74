"""``omnisdk config check`` and ``omnisdk config show``: the configuration validated as ``serve``
would, and the effective configuration printed with every secret masked."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sample_wire import SECRET
from typer.testing import CliRunner

from omnisdk import cli
from omnisdk.config_view import MASK, to_toml
from omnisdk.plugins import discover
from omnisdk_email import EmailAdapter
from omnisdk_sms import TwilioSmsAdapter
from omnisdk_whatsapp import WhatsAppAdapter

LINKS_SECRET = "case-links-secret-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OMNISDK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args))


def table(name: str, values: dict[str, Any]) -> str:
    return f"\n[{name}]\n" + "".join(f"{k} = {_inline(v)}\n" for k, v in values.items())


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


SMS = TwilioSmsAdapter.example_settings()
WHATSAPP = WhatsAppAdapter.example_settings()
EMAIL = EmailAdapter.example_settings()
CONFIG = (
    '[store]\nurl = "sqlite:///omni.db"\n'
    + table("lifecycle", {"case_links_secret": LINKS_SECRET})
    + '\n[[routing.agents]]\nid = "alice"\ncapacity = { sms = 2, whatsapp = 1 }\n'
    + table("plugins", {"modules": ["sample_plugin"]})
    + table("accounts.sms.acme", SMS)
    + table("accounts.whatsapp.acme", WHATSAPP)
    + table("accounts.email.support", EMAIL)
    + table("accounts.sample.acme", {"secret": SECRET})
)
SECRETS = sorted({SECRET, LINKS_SECRET, SMS["auth_token"], *(WHATSAPP[k] for k in ("app_secret", "verify_token",
                  "access_token")), EMAIL["webhook_secret"], EMAIL["mailgun_signing_key"], EMAIL["smtp"]["password"]})


def test_check_says_ok_in_one_line_naming_what_it_checked(tmp_path):
    (tmp_path / "omnisdk.toml").write_text(CONFIG)
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    installed = ", ".join(sorted({s.name for s in discover()} | {"sample_plugin"}))  # every plugin in the tree
    assert result.stdout.splitlines() == [
        f"configuration OK: 4 accounts (email/support, sample/acme, sms/acme, whatsapp/acme) · plugins {installed} "
        "· store sqlite:///omni.db"]


@pytest.mark.parametrize("extra, named", [
    (table("accounts.sms.other", {**SMS, "auth_token": ""}), "accounts.sms.other: auth_token"),
    (table("accounts.nosuchplugin.x", {"token": "abc"}), "accounts.nosuchplugin: no such plugin is loaded"),
    ('\n[[routing.queues]]\nname = "q"\nchannels = ["fax"]\n', "queue 'q' channels"),
    ("\n[gateway]\nready_max_inbox_lag = 0\n", "gateway.ready_max_inbox_lag"),
])
def test_check_exits_4_with_the_error_in_one_line(tmp_path, extra, named):
    (tmp_path / "omnisdk.toml").write_text(CONFIG + extra)
    result = run("config", "check")
    assert result.exit_code == 4, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in result.output
    assert not any(s in result.output for s in SECRETS)


def test_show_masks_every_secret_and_reads_back_as_toml(tmp_path):
    (tmp_path / "omnisdk.toml").write_text(CONFIG + table("accounts.someoneelses.x", {"key": "unknown-plugin-key-99"}))
    result = run("config", "show")
    assert result.exit_code == 0, result.output
    for secret in [*SECRETS, "unknown-plugin-key-99"]:
        assert secret not in result.output
    doc = tomllib.loads(result.stdout)
    accounts = doc["accounts"]
    assert accounts["sms"]["acme"]["auth_token"] == MASK
    assert accounts["sms"]["acme"]["account_sid"] == SMS["account_sid"]  # not a secret: shown
    assert {accounts["whatsapp"]["acme"][k] for k in ("app_secret", "verify_token", "access_token")} == {MASK}
    assert accounts["email"]["support"]["webhook_secret"] == MASK
    assert accounts["email"]["support"]["smtp"]["password"] == MASK  # inside a nested model
    assert accounts["email"]["support"]["smtp"]["host"] == EMAIL["smtp"]["host"]
    assert accounts["sample"]["acme"]["secret"] == MASK and accounts["sample"]["acme"]["token"] == MASK  # a default
    assert accounts["someoneelses"]["x"] == {"key": MASK}  # no model to say what is secret: all masked
    assert doc["lifecycle"]["case_links_secret"] == MASK
    assert doc["gateway"]["ready_max_inbox_lag"] == 10_000  # defaults are part of the effective configuration
    assert doc["routing"]["agents"][0]["capacity"] == {"sms": 2, "whatsapp": 1}


def test_show_json_is_the_same_document_with_nulls(tmp_path):
    (tmp_path / "omnisdk.toml").write_text(CONFIG)
    as_json = json.loads(run("config", "show", "--json").stdout)
    as_toml = tomllib.loads(run("config", "show").stdout)
    assert as_json["store"]["inbox_url"] is None and "inbox_url" not in as_toml["store"]
    assert _without_none(as_json) == as_toml
    assert not any(s in json.dumps(as_json) for s in SECRETS)


def test_show_masks_a_store_password_and_takes_the_environment(tmp_path, monkeypatch):
    (tmp_path / "omnisdk.toml").write_text(CONFIG)
    monkeypatch.setenv("OMNISDK_STORE__INBOX_URL", "postgresql://omni:pg-pass-777@db:5432/inbox")
    monkeypatch.setenv("OMNISDK_GATEWAY__PORT", "9100")
    result = run("config", "show", "--json")
    doc = json.loads(result.stdout)
    assert doc["store"]["inbox_url"] == "postgresql://omni:********@db:5432/inbox"
    assert doc["gateway"]["port"] == 9100
    assert "pg-pass-777" not in result.output


def test_show_exits_4_on_an_invalid_account_without_its_value(tmp_path):
    (tmp_path / "omnisdk.toml").write_text(CONFIG + table("accounts.email.bad", {**EMAIL, "webhook_secret": "plainly-wrong-77"}))
    result = run("config", "show")
    assert result.exit_code == 4
    assert "accounts.email.bad: webhook_secret" in result.stderr and "plainly-wrong-77" not in result.output


def test_toml_rendering_reads_back_for_awkward_keys_and_values():
    doc = {"top": 1, "a": {"dotted.key": "x\ny\x7f\"", "empty": {}, "list": [1, 2.5, True, "s"], "none": None,
                           "sub": {"ü": "ö"}}, "arr": [{"k": 1, "t": {"z": [{"inline": 1}]}}, {"k": 2}],
           "inf": float("inf")}
    back = tomllib.loads(to_toml(doc))
    assert back == {"top": 1, "a": {"dotted.key": "x\ny\x7f\"", "empty": {}, "list": [1, 2.5, True, "s"],
                                    "sub": {"ü": "ö"}}, "arr": [{"k": 1, "t": {"z": [{"inline": 1}]}}, {"k": 2}],
                    "inf": float("inf")}


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value
