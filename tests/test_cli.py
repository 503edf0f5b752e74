"""The command line's refusals and the holes issue 8 found in it: an empty account secret, a
configuration that breaks the server, a store that cannot be opened, a plugin module that does
not import (exit 4, one line); ``parse - --sign`` from stdin; ``replay``'s progress bar and its
one-line exits; ``--version``.

``serve`` runs in a subprocess with a timeout: on the old code it would start serving."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from omnisdk import cli, recordings
from omnisdk.adapters import WebhookRequest
from omnisdk.testkit.channel.expectations import expected_path, load_expected, match
from omnisdk.testkit.ports import free_port
from omnisdk_sms import TwilioSmsAdapter
from omnisdk_whatsapp import WhatsAppAdapter

ADAPTERS = {"sms": TwilioSmsAdapter, "whatsapp": WhatsAppAdapter}
SMS_RECORDINGS = Path(TwilioSmsAdapter.recordings)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OMNISDK_* variable and no ./omnisdk.toml leaks in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("OMNISDK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli.app, list(args), input=input)


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``omnisdk serve`` as a user runs it; a server that starts instead of refusing times out."""
    return subprocess.run([sys.executable, "-m", "omnisdk.cli", "serve", "--port", str(free_port()), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=60)


def toml_table(name: str, values: dict[str, str]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


EMPTY_TOKEN = toml_table("accounts.sms.acme", {**TwilioSmsAdapter.example_settings(), "auth_token": ""})


# --- B1: an empty secret ends every command that loads the configuration -----------------------


def test_serve_exits_4_on_an_empty_sms_auth_token(tmp_path: Path) -> None:
    (tmp_path / "omnisdk.toml").write_text(EMPTY_TOKEN)
    proc = serve(cwd=tmp_path)
    assert proc.returncode == 4
    line = one_line(proc.stderr)
    assert "accounts.sms.acme: auth_token" in line and "must not be empty" in line
    assert TwilioSmsAdapter.example_settings()["account_sid"] not in line


@pytest.mark.parametrize("command", [["stats"], ["plugins"], ["agents"], ["queues"],
                                     ["parse", "sms", "--account", "acme", str(SMS_RECORDINGS / "inbound_sms.form")]])
def test_every_command_that_loads_the_configuration_exits_4_on_an_empty_secret(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "omnisdk.toml").write_text(EMPTY_TOKEN)
    result = run(*command)
    assert result.exit_code == 4, result.output
    assert "accounts.sms.acme: auth_token" in one_line(result.stderr)


@pytest.mark.parametrize("field", ["app_secret", "verify_token", "access_token"])
def test_an_empty_whatsapp_secret_exits_4(tmp_path: Path, field: str) -> None:
    (tmp_path / "omnisdk.toml").write_text(
        toml_table("accounts.whatsapp.acme", {**WhatsAppAdapter.example_settings(), field: "  "}))
    result = run("stats")
    assert result.exit_code == 4
    assert f"accounts.whatsapp.acme: {field}" in one_line(result.stderr)


# --- B8: configuration that breaks the server ---------------------------------------------------


BREAKS_THE_SERVER = [
    ("[gateway]\nport = 70000\n", "gateway.port"),  # bound 4464
    ('[gateway]\npublic_url = "file:///etc/passwd"\n', "gateway.public_url"),
    ("[gateway]\nmax_body_bytes = 0\n", "gateway.max_body_bytes"),
    ('[[routing.agents]]\nid = "a"\n[[routing.agents]]\nid = "a"\n', "routing.agents"),
    ('[[routing.queues]]\nname = "q"\n[[routing.queues]]\nname = "q"\n', "routing.queues"),
    (toml_table("accounts.whatsapp.acme", {**WhatsAppAdapter.example_settings(),
                                          "api_base_url": "file:///etc/passwd"}), "accounts.whatsapp.acme: api_base_url"),
    ("[gateway]\nport = = 1\n", "line 2, column"),
]


@pytest.mark.parametrize(("toml", "named"), BREAKS_THE_SERVER[:2])
def test_serve_refuses_a_configuration_that_breaks_the_server(tmp_path: Path, toml: str, named: str) -> None:
    (tmp_path / "conf.toml").write_text(toml)
    proc = serve("-c", "conf.toml", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert named in one_line(proc.stderr)


@pytest.mark.parametrize(("toml", "named"), BREAKS_THE_SERVER)
def test_commands_refuse_a_configuration_that_breaks_the_server(tmp_path: Path, toml: str, named: str) -> None:
    (tmp_path / "omnisdk.toml").write_text(toml)
    result = run("stats")
    assert result.exit_code == 4, result.output
    assert named in one_line(result.stderr)


def _not_sqlite(tmp_path: Path) -> str:
    (tmp_path / "notes.db").write_text("these are meeting notes, not a database\n" * 20)
    return "sqlite:///notes.db"


def _a_folder(tmp_path: Path) -> str:
    (tmp_path / "folder.db").mkdir()
    return "sqlite:///folder.db"


def _under_a_file(tmp_path: Path) -> str:
    (tmp_path / "plain").write_text("a file, so plain/x.db cannot be created")
    return "sqlite:///plain/x.db"


@pytest.mark.parametrize("make", [_not_sqlite, _a_folder, _under_a_file])
def test_serve_exits_4_with_one_line_on_a_store_that_cannot_be_opened(tmp_path: Path, make) -> None:
    url = make(tmp_path)
    (tmp_path / "conf.toml").write_text(f'[store]\nurl = "{url}"\n')
    proc = serve("-c", "conf.toml", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    line = one_line(proc.stderr)
    assert url.removeprefix("sqlite:///") in line


@pytest.mark.parametrize("make", [_not_sqlite, _a_folder])
def test_stats_exits_4_with_one_line_on_a_store_that_cannot_be_opened(tmp_path: Path, make) -> None:
    url = make(tmp_path)
    (tmp_path / "omnisdk.toml").write_text(f'[store]\nurl = "{url}"\n')
    result = run("stats")
    assert result.exit_code == 4, result.output
    assert url.removeprefix("sqlite:///") in one_line(result.stderr)


def test_stats_on_a_store_not_made_yet_exits_1_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "omnisdk.toml").write_text('[store]\nurl = "sqlite:///data/omni.db"\n')
    result = run("stats")
    assert result.exit_code == 1, result.output
    assert "no database at" in one_line(result.stderr)
    assert not (tmp_path / "data").exists()


def test_bad_json_in_the_environment_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISDK_ROUTING__AGENTS", '[{"id": "a",')
    result = run("stats")
    assert result.exit_code == 4
    assert "OMNISDK_ROUTING__AGENTS is not valid JSON" in one_line(result.stderr)


def test_serve_exits_4_when_a_configured_plugin_module_does_not_import(tmp_path: Path) -> None:
    (tmp_path / "conf.toml").write_text('[plugins]\nmodules = ["no_such_module_h4"]\n')
    proc = serve("-c", "conf.toml", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    line = one_line(proc.stderr)
    assert "no_such_module_h4" in line and "ModuleNotFoundError" in line


def test_serve_refuses_a_port_option_outside_the_range(tmp_path: Path) -> None:
    result = run("serve", "--port", "70000")
    assert result.exit_code == 2
    assert "--port" in result.output


# --- B9: parse from stdin -----------------------------------------------------------------------


@pytest.mark.parametrize("plugin", sorted(ADAPTERS))
def test_parse_signs_and_parses_every_recording_read_from_stdin(plugin: str) -> None:
    """``omnisdk parse sms - --sign`` crashed: a body from stdin had no content type, so the
    Twilio signer refused it with a traceback.  Now it takes the recordings' content type.
    The expected files are the plugin's own, written for an account named ``acme``."""
    (Path.cwd() / "omnisdk.toml").write_text(toml_table(f"accounts.{plugin}.acme", ADAPTERS[plugin].example_settings()))
    recs = recordings.load(ADAPTERS[plugin].recordings)
    assert recs
    for rec in recs:
        result = run("parse", plugin, "-", "--sign", "--account", "acme", input=rec.body)
        assert result.exit_code == 0, (rec.name, result.output)
        events = [json.loads(line) for line in result.stdout.splitlines()]
        patterns = load_expected(expected_path(Path(ADAPTERS[plugin].recordings) / "expected", rec.name))
        assert match(patterns, events) == [], rec.name
        assert all(e["source"] == f"/{plugin}/acme" for e in events)


def test_parse_from_stdin_takes_the_content_type_header() -> None:
    body = (SMS_RECORDINGS / "inbound_sms.form").read_bytes()
    result = run("parse", "sms", "-", "--sign", "-H", "Content-Type: application/json", input=body)
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("stdin: cannot sign: ")


def test_parse_from_stdin_still_verifies_a_forged_signature() -> None:
    body = (SMS_RECORDINGS / "inbound_sms.form").read_bytes()
    result = run("parse", "sms", "-", "-H", "X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=", input=body)
    assert result.exit_code == 3
    assert result.stdout == ""


# --- B11: replay --------------------------------------------------------------------------------


def test_replay_exits_2_with_one_line_on_an_unreachable_gateway() -> None:
    url = f"http://127.0.0.1:{free_port()}/webhooks/sms/acme"  # nothing listens there
    result = run("replay", str(SMS_RECORDINGS), "--url", url)
    assert result.exit_code == 2, result.output
    assert one_line(result.stderr) == f"cannot reach the gateway at {url}: ConnectError"


def test_replay_exits_2_with_one_line_on_a_missing_path(tmp_path: Path) -> None:
    result = run("replay", str(tmp_path / "nope"), "--url", "http://127.0.0.1:9/webhooks/sms/acme")
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"no such recording file or folder: {tmp_path / 'nope'}"


def test_replay_exits_2_on_a_folder_without_recordings(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("replay", str(tmp_path / "empty"), "--url", "http://127.0.0.1:9/webhooks/sms/acme")
    assert result.exit_code == 2
    assert "no recordings" in one_line(result.stderr)


class _Gateway(BaseHTTPRequestHandler):
    """Stands in for a gateway: records each POST and answers 200."""

    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_replay_posts_every_recording_signed_and_shows_a_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    _Gateway.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bar = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=bar, force_terminal=True, width=100))
    try:
        url = f"http://127.0.0.1:{server.server_port}/webhooks/sms/acme"
        result = run("replay", str(SMS_RECORDINGS), "--url", url)
    finally:
        server.shutdown()
        server.server_close()
    recs = recordings.load(SMS_RECORDINGS)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"200 {r.name}" for r in recs] + [f"summary: {len(recs)}×200"]
    assert f"{len(recs)}/{len(recs)}" in bar.getvalue()  # the bar's M/N column reached the end
    adapter = TwilioSmsAdapter("example", TwilioSmsAdapter.Settings(**TwilioSmsAdapter.example_settings()))
    assert [body for _, _, body in _Gateway.received] == [r.body for r in recs]
    for _path, headers, body in _Gateway.received:  # each one signed as Twilio signs it
        adapter.verify(WebhookRequest(method="POST", url=url, headers=headers, body=body))


# --- B11: --version -----------------------------------------------------------------------------


def test_version_prints_the_core_and_each_plugin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNISDK_CONFIG_FILE", str(tmp_path / "missing.toml"))  # not read
    result = run("--version")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"omnisdk {metadata.version('omnisdk')}"
    for name, dist in (("sms", "omnisdk-sms"), ("whatsapp", "omnisdk-whatsapp")):
        assert f"{name} ({dist}) {metadata.version(dist)}" in lines[1:]
