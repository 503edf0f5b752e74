"""IMAP inbound (:mod:`omnisdk_email.imap`) against a real Dovecot (Debian's ``dovecot-imapd``).

Each test starts a throwaway Dovecot on 127.0.0.1 and a free port (plain IMAP on loopback, a
passwd-file with one user, Maildir in a temporary folder), puts recorded mails in with IMAP
APPEND, and runs the core's runtime with the email adapter reading that mailbox.  Without
``/usr/sbin/dovecot`` the tests skip, unless ``OMNISDK_REQUIRE_SERVICES=1`` (CI: ``.ci/run``
installs it), where they fail.
"""

from __future__ import annotations

import asyncio
import base64
import grp
import http.server
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from pydantic import ValidationError

from omnisdk.config import Settings
from omnisdk.inbox.transports import LeaderTransports
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime
from omnisdk.testkit.ports import free_port
from omnisdk.testkit.services import require_service
from omnisdk_email import EmailAdapter
from omnisdk_email.imap import ImapSettings, ImapTransport, quote_mailbox, xoauth2_initial_response

DOVECOT = Path("/usr/sbin/dovecot")
RECORDINGS = Path(EmailAdapter.recordings or "")
USER = "support@example.com"
PASSWORD = "imap-test-password"
GOOD = ("thread_new_question", "attached_pdf_from_customer", "reply_gmail")
CUSTOMERS = {"maria@customer.example", "pat@customer.example", "steven.customer@example.net"}
NAME = "imap:acme"


def recording(name: str) -> bytes:
    return (RECORDINGS / f"{name}.eml").read_bytes()


def without_from(raw: bytes) -> bytes:
    """A real recording made unparsable: its From header field removed."""
    out, n = re.subn(rb"(?m)^From:.*\r?\n", b"", raw, count=1)
    assert n == 1
    return out


GOOD_TOKEN = "ya29.omnisdk-test-access-token"


def _tokeninfo_server() -> http.server.ThreadingHTTPServer:
    """An OAuth 2.0 token-info endpoint for Dovecot's oauth2 passdb, on a free loopback port:
    ``GOOD_TOKEN`` belongs to ``USER``, any other token is refused (401)."""

    class TokenInfo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            ok = self.headers.get("Authorization", "") == f"Bearer {GOOD_TOKEN}"
            body = json.dumps({"email": USER} if ok else {"error": "invalid_token"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenInfo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Dovecot:
    """A throwaway Dovecot: ``start()``, ``stop()`` (an outage), ``kill()`` at teardown."""

    def __init__(self, tmp: Path, *, tls: bool = False, oauth2: bool = False) -> None:
        self.tmp = tmp
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.proc: subprocess.Popen[bytes] | None = None
        root = os.geteuid() == 0
        # Dovecot refuses to run its login processes, or to give mail access, as root: as root
        # use the package's unprivileged users (dovenull, dovecot), else the current user.
        me = pwd.getpwuid(os.geteuid()).pw_name
        login_user = "dovenull" if root else me
        internal_user = "dovecot" if root else me
        mail = pwd.getpwnam(internal_user) if root else pwd.getpwuid(os.geteuid())
        internal_group = grp.getgrgid(mail.pw_gid if root else os.getegid()).gr_name
        # the passwd-file and the mail home must be reachable by Dovecot's unprivileged
        # processes (pytest's tmp folders are 0700): a world-readable folder of their own
        self.base = Path(tempfile.mkdtemp(prefix="omnisdk-dovecot-"))
        self.base.chmod(0o755)
        self.home = self.base / "home"
        self.home.mkdir()
        if root:
            os.chown(self.home, mail.pw_uid, mail.pw_gid)
        passwd = self.base / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        passwd.chmod(0o644)
        self.tokeninfo: http.server.ThreadingHTTPServer | None = None
        oauth2_conf = ""
        if oauth2:  # Dovecot's oauth2 passdb asks a local token-info endpoint about each token
            self.tokeninfo = _tokeninfo_server()
            conf = self.base / "oauth2.conf"
            conf.write_text(f"tokeninfo_url = http://127.0.0.1:{self.tokeninfo.server_port}/tokeninfo?access_token=\n"
                            "username_attribute = email\n")
            conf.chmod(0o644)
            oauth2_conf = f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {conf}\n}}\n"
        self.cert = self.base / "cert.pem"
        ssl_conf = "ssl = no"
        if tls:  # a self-signed certificate for 127.0.0.1: STARTTLS on port, implicit TLS on tls_port
            key = self.base / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-keyout", str(key), "-out", str(self.cert), "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            ssl_conf = f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{key}"
        self.log = tmp / "dovecot.log"
        self.conf = tmp / "dovecot.conf"
        self.conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {self.log}
info_log_path = {self.log}
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2" if oauth2 else ""}
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
{oauth2_conf}passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={self.home}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")

    def start(self) -> None:
        # a session of its own: stop() ends the whole instance (master, imap, log, stats …)
        self.proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(self.conf)], start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    s.settimeout(2)
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        log = self.log.read_text() if self.log.exists() else ""
        self.kill()
        pytest.fail(f"dovecot did not start on {self.host}:{self.port}:\n{log[-2000:]}")

    def stop(self) -> None:
        """Kill this instance, its open IMAP sessions included (an outage): the master alone
        would leave the sessions' processes serving their connections."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the process started here
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        self.stop()
        if self.tokeninfo is not None:
            self.tokeninfo.shutdown()
            self.tokeninfo.server_close()
        shutil.rmtree(self.base, ignore_errors=True)

    def settings(self, **over: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"host": self.host, "port": self.port, "security": "none", "username": USER,
                                "password": PASSWORD, "poll_seconds": 60, "backoff_initial_seconds": 0.05,
                                "backoff_max_seconds": 0.2, "timeout": 5}
        base.update(over)
        return base

    async def client(self) -> aioimaplib.IMAP4:
        c = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=5)
        await c.wait_hello_from_server()
        assert (await c.login(USER, PASSWORD)).result == "OK"
        return c

    async def append(self, *mails: bytes, folder: str = "INBOX") -> None:
        c = await self.client()
        try:
            for raw in mails:
                assert (await c.append(raw, mailbox=quote_mailbox(folder))).result == "OK"
        finally:
            await c.logout()

    async def flags(self, folder: str = "INBOX") -> list[set[str]]:
        """The flags of every mail of ``folder``, in UID order (``[]``: empty or missing)."""
        c = await self.client()
        try:
            if (await c.select(quote_mailbox(folder))).result != "OK":
                return []
            r = await c.fetch("1:*", "(UID FLAGS)")
            out = []
            for line in r.lines:
                m = re.search(rb"FLAGS \(([^)]*)\)", bytes(line))
                if m:
                    out.append(set(m.group(1).decode().split()))
            return out
        finally:
            await c.logout()

    async def set_flags(self, op: str, flags: str, folder: str = "INBOX") -> None:
        c = await self.client()
        try:
            await c.select(quote_mailbox(folder))
            assert (await c.store("1:*", op, flags)).result == "OK"
        finally:
            await c.logout()


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    if not (DOVECOT.exists() and os.access(DOVECOT, os.X_OK)):
        require_service("dovecot", f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    server = Dovecot(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def dovecot_tls(tmp_path: Path) -> Iterator[Dovecot]:
    if not (DOVECOT.exists() and os.access(DOVECOT, os.X_OK)):
        require_service("dovecot", f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    if shutil.which("openssl") is None:
        require_service("openssl", "the openssl command makes the test certificate")
    server = Dovecot(tmp_path, tls=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def dovecot_oauth2(tmp_path: Path) -> Iterator[Dovecot]:
    if not (DOVECOT.exists() and os.access(DOVECOT, os.X_OK)):
        require_service("dovecot", f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    server = Dovecot(tmp_path, oauth2=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def make_runtime(tmp_path: Path, imap: dict[str, Any]) -> Runtime:
    """The core's runtime with one email account reading the Dovecot mailbox; the same
    ``tmp_path`` gives the same store (a restart)."""
    settings = Settings(store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
                        routing={"queues": [{"name": "support"}]})
    adapter = EmailAdapter("acme", {**EmailAdapter.example_settings(), "imap": imap})
    return Runtime(settings, host=PluginHost(), adapters={("email", "acme"): adapter})


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await predicate():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


def interactions(rt: Runtime, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(await rt.interactions()) >= n

    return check


def counter(rt: Runtime, name: str, n: int = 1) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await rt.stats()).get(f"transport.{NAME}.{name}", 0) >= n

    return check


def watch_commits(rt: Runtime, dovecot: Dovecot, seen: list[list[set[str]]],
                  folder: str = "INBOX") -> None:
    """Record the folder's flags at each inbox commit, before the commit runs."""
    real = rt.store.append_inbox

    async def append(events: Any, received_at: str) -> Any:
        seen.append(await dovecot.flags(folder))
        return await real(events, received_at)

    rt.store.append_inbox = append  # type: ignore[method-assign]


# --- against Dovecot ------------------------------------------------------------------------

async def test_mail_is_taken_in_and_flagged_seen_only_after_the_commit(dovecot, tmp_path):
    await dovecot.append(*(recording(n) for n in GOOD))
    rt = make_runtime(tmp_path, dovecot.settings(after="seen"))
    at_commit: list[list[set[str]]] = []
    watch_commits(rt, dovecot, at_commit)
    async with rt:
        await until(interactions(rt, 3))
        await until(lambda: _all_seen(dovecot))
        assert {i.customer for i in await rt.interactions()} == CUSTOMERS
        assert all(i.channel == "email" for i in await rt.interactions())
        stats = await rt.stats()
    # the n-th commit saw the n-th mail still unseen (PEEK fetched it; the ack came after)
    assert len(at_commit) == 3
    for n, flags in enumerate(at_commit):
        assert "\\Seen" not in flags[n]
        assert all("\\Seen" in f for f in flags[:n])
    assert stats[f"transport.{NAME}.delivered"] == 3 and stats["events.accepted"] == 3
    assert stats.get(f"transport.{NAME}.retries", 0) == 0


async def _all_seen(dovecot: Dovecot) -> bool:
    flags = await dovecot.flags()
    return bool(flags) and all("\\Seen" in f for f in flags)


async def test_after_move_mail_leaves_the_folder_only_after_the_commit(dovecot, tmp_path):
    await dovecot.append(recording(GOOD[0]), recording(GOOD[1]))
    rt = make_runtime(tmp_path, dovecot.settings(after="move", move_to="Processed"))
    at_commit: list[list[set[str]]] = []
    watch_commits(rt, dovecot, at_commit)
    async with rt:
        await until(interactions(rt, 2))

        async def moved() -> bool:
            return await dovecot.flags() == [] and len(await dovecot.flags("Processed")) == 2

        await until(moved)
    assert [len(f) for f in at_commit] == [2, 1]  # each mail still in INBOX at its commit
    assert all("\\Seen" not in f for f in at_commit[0])


async def test_an_unparsable_mail_is_quarantined_and_the_rest_goes_on(dovecot, tmp_path):
    await dovecot.append(recording(GOOD[0]), without_from(recording(GOOD[1])), recording(GOOD[2]))
    rt = make_runtime(tmp_path, dovecot.settings())
    async with rt:
        await until(interactions(rt, 2))
        await until(counter(rt, "quarantined"))

        async def settled() -> bool:
            return len(await dovecot.flags("omnisdk-quarantine")) == 1 and await _all_seen(dovecot)

        await until(settled)
        assert len(await dovecot.flags()) == 2  # the two good ones stay, \Seen
        assert {i.customer for i in await rt.interactions()} == {"maria@customer.example",
                                                                 "steven.customer@example.net"}
        stats = await rt.stats()
    assert stats[f"transport.{NAME}.quarantined"] == 1 and stats[f"transport.{NAME}.delivered"] == 2


async def test_a_second_run_over_the_same_mailbox_adds_nothing(dovecot, tmp_path):
    await dovecot.append(*(recording(n) for n in GOOD))
    async with make_runtime(tmp_path, dovecot.settings()) as rt:
        await until(interactions(rt, 3))
        await until(lambda: _all_seen(dovecot))
    # as if each ack had been lost (a crash after the commit): every mail is unseen again
    await dovecot.set_flags("-FLAGS", "(\\Seen)")
    async with make_runtime(tmp_path, dovecot.settings()) as rt:
        await until(lambda: _all_seen(dovecot))
        await until(counter(rt, "delivered", 3))
        stats = await rt.stats()
        assert len(await rt.interactions()) == 3
    assert stats["events.deduplicated"] == 3 and stats["events.accepted"] == 3


async def test_mail_appended_while_the_transport_idles_is_picked_up(dovecot, tmp_path):
    rt = make_runtime(tmp_path, dovecot.settings(poll_seconds=600))  # only IDLE can be this quick
    async with rt:
        await until(counter(rt, "connected"))
        await asyncio.sleep(0.5)  # in IDLE now (nothing to take in)
        started = asyncio.get_running_loop().time()
        await dovecot.append(recording(GOOD[0]))
        await until(interactions(rt, 1), timeout=5)
        assert asyncio.get_running_loop().time() - started < 5
        await until(lambda: _all_seen(dovecot))
        assert (await rt.stats())[f"transport.{NAME}.connected"] == 1  # no reconnection needed


async def test_polling_without_idle_picks_up_new_mail(dovecot, tmp_path):
    rt = make_runtime(tmp_path, dovecot.settings(idle=False, poll_seconds=1))
    async with rt:
        await until(counter(rt, "connected"))
        await dovecot.append(recording(GOOD[0]))
        await until(interactions(rt, 1))
        await until(lambda: _all_seen(dovecot))


async def test_a_failed_commit_leaves_the_mail_unseen_and_it_is_delivered_later(dovecot, tmp_path):
    await dovecot.append(recording(GOOD[0]))
    rt = make_runtime(tmp_path, dovecot.settings())
    real = rt.store.append_inbox
    failures: list[list[set[str]]] = []

    async def flaky(events: Any, received_at: str) -> Any:
        if len(failures) < 2:
            failures.append(await dovecot.flags())
            raise OSError("the disk is gone")
        return await real(events, received_at)

    rt.store.append_inbox = flaky  # type: ignore[method-assign]
    async with rt:
        await until(interactions(rt, 1))
        await until(lambda: _all_seen(dovecot))
        stats = await rt.stats()
    assert len(failures) == 2 and all(f == [set()] for f in failures)  # unseen at each failure
    assert stats[f"transport.{NAME}.failed"] == 2 and stats[f"transport.{NAME}.retries"] == 2
    assert stats[f"transport.{NAME}.delivered"] == 1


async def test_a_wrong_password_is_counted_and_retried_and_never_crashes(dovecot, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # aioimaplib's debug log shows every command sent
    rt = make_runtime(tmp_path, dovecot.settings(password="not-the-password"))
    async with rt:
        await until(counter(rt, "login_failed", 2), timeout=20)  # Dovecot slows repeated failures down
        [mailbox] = [w for w in rt.leader_workers if isinstance(w, LeaderTransports)]  # exclusive: the leader's
        task = mailbox.runner.tasks[0]
        assert not task.done()
        assert (await rt.stats())[f"transport.{NAME}.retries"] >= 2
    assert task.done() and not task.cancelled()  # it stopped when asked
    assert "not-the-password" not in caplog.text
    assert "LOGIN" in caplog.text  # the commands were logged, the password scrubbed


async def test_xoauth2_login_takes_mail_in_and_keeps_the_token_out_of_the_logs(dovecot_oauth2, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # aioimaplib's debug log shows every command sent
    await dovecot_oauth2.append(recording(GOOD[0]))
    rt = make_runtime(tmp_path, dovecot_oauth2.settings(password=None, oauth2_token=GOOD_TOKEN))
    async with rt:
        await until(interactions(rt, 1))
        await until(lambda: _all_seen(dovecot_oauth2))
    assert "AUTHENTICATE XOAUTH2" in caplog.text
    sasl = xoauth2_initial_response(USER, GOOD_TOKEN).decode()
    assert GOOD_TOKEN not in caplog.text and sasl not in caplog.text


async def test_a_refused_xoauth2_token_is_answered_counted_and_retried(dovecot_oauth2, tmp_path, caplog):
    # the server answers a bad token with a JSON error challenge and waits for an empty line:
    # answered at once, the refusal is a LoginRefused, not a command timeout (timeout = 5 s)
    rt = make_runtime(tmp_path, dovecot_oauth2.settings(password=None, oauth2_token="ya29.expired"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with rt:
        await until(counter(rt, "login_failed", 1), timeout=20)
        assert loop.time() - started < 4
    assert "AUTHENTICATIONFAILED" in caplog.text and "ya29.expired" not in caplog.text


async def test_an_outage_is_retried_and_loses_no_mail(dovecot, tmp_path):
    rt = make_runtime(tmp_path, dovecot.settings())
    async with rt:
        await until(counter(rt, "connected"))
        dovecot.stop()  # the server goes away while the transport idles
        await until(counter(rt, "retries", 2))
        dovecot.start()  # same port, same mailbox
        await dovecot.append(recording(GOOD[0]))
        await until(interactions(rt, 1), timeout=15)
        await until(lambda: _all_seen(dovecot))
        assert (await rt.stats())[f"transport.{NAME}.connected"] >= 2


async def test_a_new_uidvalidity_forgets_the_old_uids(dovecot, tmp_path):
    adapter = EmailAdapter("acme", {**EmailAdapter.example_settings(), "imap": dovecot.settings()})
    transport = adapter.transports()[0]
    assert isinstance(transport, ImapTransport) and transport.name == NAME
    transport.last_uid = {1: 99}  # a UIDVALIDITY this folder does not have
    await dovecot.append(recording(GOOD[0]))
    rt = Runtime(Settings(store={"url": f"sqlite:///{tmp_path / 'omni.db'}"}, routing={"queues": [{"name": "q"}]}),
                 host=PluginHost(), adapters={("email", "acme"): adapter})
    adapter.transports = lambda: [transport]  # type: ignore[method-assign]
    async with rt:
        await until(interactions(rt, 1))
    assert 1 not in transport.last_uid and list(transport.last_uid.values()) == [1]


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_tls_and_starttls_with_the_server_certificate_checked(dovecot_tls, tmp_path, security):
    import ssl

    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    rt = make_runtime(tmp_path, dovecot_tls.settings(security=security, port=port))
    adapter = rt.adapters[("email", "acme")]
    trusted = ssl.create_default_context(cafile=str(dovecot_tls.cert))
    transport = ImapTransport(adapter, adapter.settings.imap, ssl_context=trusted)  # type: ignore[arg-type]
    adapter.transports = lambda: [transport]  # type: ignore[method-assign]
    await dovecot_tls.append(recording(GOOD[0]))
    async with rt:
        await until(interactions(rt, 1))
        await until(lambda: _all_seen(dovecot_tls))
    # the system trust store does not know the self-signed certificate: refused, retried
    rt = make_runtime(tmp_path / "untrusted", dovecot_tls.settings(security=security, port=port))
    async with rt:
        await until(counter(rt, "retries", 1))
        assert (await rt.stats()).get(f"transport.{NAME}.connected", 0) == 0


# --- without a server -------------------------------------------------------------------------

def test_xoauth2_initial_response_is_the_documented_bytes():
    # developers.google.com/workspace/gmail/imap/xoauth2-protocol: "user=" {User} "^Aauth=Bearer "
    # {Access Token} "^A^A", base64-encoded
    got = xoauth2_initial_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert base64.b64decode(got) == (b"user=someuser@example.com\x01auth=Bearer "
                                     b"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01")
    assert got == (b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
                   b"YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==")
    with pytest.raises(ValueError):
        xoauth2_initial_response("user@example.com", "tok\x01en")
    with pytest.raises(ValueError):
        xoauth2_initial_response("", "token")


def _imap(**over: Any) -> dict[str, Any]:
    return {"host": "imap.example.com", "username": USER, "password": "hunter2-secret", **over}


def test_settings_defaults_and_checks():
    s = ImapSettings(**_imap())
    assert (s.port, s.security, s.folder, s.after, s.quarantine_folder, s.poll_seconds, s.idle) == (
        993, "tls", "INBOX", "seen", "omnisdk-quarantine", 60, True)
    assert "hunter2-secret" not in repr(s)
    assert ImapSettings(**_imap(host="127.0.0.1", security="none")).security == "none"
    assert ImapSettings(**_imap(host="::1", security="none")).security == "none"
    bad = [
        _imap(security="none"),  # plain text off loopback
        _imap(password=None),  # no credential
        _imap(oauth2_token="tok"),  # two credentials
        _imap(password=" "),  # an empty secret
        _imap(after="move"),  # no move_to
        _imap(after="move", move_to="INBOX"),
        _imap(quarantine_folder="INBOX"),
        _imap(folder="Posteingang\u00e4"),  # non-ASCII: modified UTF-7 is not implemented
        _imap(poll_seconds=3600),  # longer than RFC 2177's 29 minutes
        _imap(unknown=1),
    ]
    for conf in bad:
        with pytest.raises(ValidationError) as info:
            ImapSettings(**conf)
        assert "hunter2-secret" not in str(info.value)


def test_the_adapter_has_a_transport_only_with_imap_settings():
    assert EmailAdapter("acme", EmailAdapter.example_settings()).transports() == []
    adapter = EmailAdapter("acme", {**EmailAdapter.example_settings(),
                                    "imap": _imap(oauth2_token="ya29.token", password=None)})
    (transport,) = adapter.transports()
    assert transport.name == "imap:acme" and "ya29" not in repr(transport) and "ya29" not in repr(adapter.settings)
