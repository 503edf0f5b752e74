"""IMAP as a durable inbound transport of the email channel (aioimaplib).

:class:`ImapTransport` reads one mailbox folder of one email account and hands each mail to
the core as the webhook path would (:class:`omnisdk.inbox.transports.InboundTransport`):

1. connect (implicit TLS on 993, STARTTLS, or plain on a loopback host only) and log in:
   ``LOGIN`` with a password, or ``AUTHENTICATE XOAUTH2`` with an OAuth 2.0 access token
   (Gmail, Microsoft 365; :func:`xoauth2_initial_response`);
2. ``SELECT`` the folder and read its ``UIDVALIDITY`` (RFC 9051 section 2.3.1.1; RFC 3501
   section 2.3.1.1);
3. find the mail not yet taken in: ``UID SEARCH UNSEEN`` when taken mail is flagged ``\\Seen``
   (``after = "seen"``), ``UID SEARCH UNDELETED`` when it is moved away (``after = "move"``:
   whatever is still in the folder is new; a mail flagged ``\\Deleted`` was already copied out);
4. for each, by UID: ``UID FETCH <uid> (BODY.PEEK[])`` (``PEEK``: fetching does not set
   ``\\Seen``, RFC 3501 section 6.4.5), ``adapter.parse()`` of the raw mail (no signature
   check: the IMAP login authenticated the source), ``await deliver(events, received_at)``
   — which returns after the inbox commit — and only then the acknowledgement:
   ``UID STORE <uid> +FLAGS.SILENT (\\Seen)``, or ``UID MOVE <uid> <move_to>`` (RFC 6851), or,
   on a server without MOVE, ``UID COPY`` + ``UID STORE +FLAGS.SILENT (\\Deleted)`` +
   ``UID EXPUNGE`` (RFC 4315 UIDPLUS; a plain ``EXPUNGE`` without it);
5. wait for more: ``IDLE`` (RFC 2177) when the server offers it and ``idle`` is on, broken off
   after ``poll_seconds`` (at most 29 minutes, as RFC 2177 asks), else sleep ``poll_seconds``
   and ``NOOP``; then back to 3.

Durability.  A mail is acknowledged only after its events are committed, so:

- a crash (or a lost connection) *before* the commit leaves the mail unacknowledged: it is
  fetched again on the next pass;
- a crash *after* the commit but before the acknowledgement also leaves it unacknowledged: it
  is fetched and delivered again, and the inbox deduplicates it (CloudEvents ``source`` +
  ``id``: the Message-ID, or an id derived from the bytes of a mail without one), then it is
  acknowledged;
- a failed commit (the store is unavailable) leaves it unacknowledged and the transport backs
  off before it tries again.

A mail the adapter cannot parse (a :class:`~omnisdk.errors.PayloadError`, or any error of
``parse()``), or whose events name a business address the account does not own, is moved to
``quarantine_folder`` (created when missing), counted (``transport.<name>.quarantined``) and
the rest of the mailbox goes on.

The highest acknowledged UID of each UIDVALIDITY is kept in memory, so a pass searches only
``UID <last+1>:*``; a new UIDVALIDITY (the folder was recreated) forgets it, and the re-scan is
safe because the inbox deduplicates.

Outages (connection refused or lost, a timeout, a refused login, a failed commit) are logged
without secrets, counted (``transport.<name>.retries``, and ``login_failed`` for a refused
login) and retried with exponential backoff (``backoff_initial_seconds`` doubling up to
``backoff_max_seconds``); :meth:`ImapTransport.run` never raises for them.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import aioimaplib
from aioimaplib.aioimaplib import AUTH, STOP_WAIT_SERVER_PUSH, Command
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from omnisdk.adapters import Count, Deliver, WebhookRequest
from omnisdk.errors import WebhookError
from omnisdk.events import now_rfc3339
from omnisdk.inbox.transports import Backoff, sleep_or_stop

if TYPE_CHECKING:
    from omnisdk_email.adapter import EmailAdapter

log = logging.getLogger("omnisdk_email.imap")

IDLE_MAX_SECONDS = 29 * 60
"""RFC 2177 section 3: a client should re-issue IDLE at least every 29 minutes (servers may
log out an idle client after 30)."""

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_MAILBOX_CHARS = re.compile(r"[\x20-\x7e]+")


def is_loopback(host: str) -> bool:
    """``host`` is ``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def xoauth2_initial_response(user: str, token: str) -> bytes:
    """The base64 client response of the SASL XOAUTH2 mechanism:
    ``base64("user=" + user + "\\x01auth=Bearer " + token + "\\x01\\x01")``, sent as
    ``AUTHENTICATE XOAUTH2 <response>`` (SASL-IR, RFC 4959).

    Specified by Google (developers.google.com/workspace/gmail/imap/xoauth2-protocol, "The SASL
    XOAUTH2 Mechanism") and Microsoft (learn.microsoft.com/en-us/exchange/client-developer/
    legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth, "SASL
    XOAUTH2"); ``\\x01`` is Control+A.

    Raises:
        ValueError: ``user`` or ``token`` is empty or holds a control character.
    """
    for what, value in (("user", user), ("token", token)):
        if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError(f"XOAUTH2 {what} must be non-empty, without control characters")
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())


def quote_mailbox(name: str) -> str:
    """An IMAP quoted string (RFC 9051 section 4.3) of a mailbox name, ``\\`` and ``"``
    escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSettings(BaseModel):
    """The ``imap`` table of an email account: the mailbox the account's mail is read from.

    Attributes:
        host: the IMAP server (``imap.gmail.com``, ``outlook.office365.com`` …).
        port: 993 by default (implicit TLS); STARTTLS and plain servers usually listen on 143.
        security: ``tls`` (implicit TLS, RFC 8314), ``starttls`` (RFC 9051 section 6.2.1) or
            ``none`` — refused unless ``host`` is a loopback address (a local relay, tests).
        username: the login name (the mailbox address for Gmail and Microsoft 365).
        password: the password (``LOGIN``); exactly one of ``password`` and ``oauth2_token``.
        oauth2_token: an OAuth 2.0 access token (``AUTHENTICATE XOAUTH2``).  It is read at each
            login; embedders refreshing it pass ``token_provider`` to :class:`ImapTransport`.
        folder: the folder read (``INBOX``).
        after: what marks a mail taken in, after its commit: ``seen`` sets ``\\Seen``;
            ``move`` moves it to ``move_to``.
        move_to: the folder taken mail goes to; required with ``after = "move"``.
        quarantine_folder: where a mail that cannot be parsed goes (created when missing).
        poll_seconds: the longest wait between two passes (an IDLE is broken off and re-issued
            after it; without IDLE, the polling interval), 1 s to 29 min.
        idle: use IDLE when the server offers it.
        timeout: seconds one IMAP command may take.
        backoff_initial_seconds, backoff_max_seconds: the reconnection backoff after an outage
            (doubling from the first to the second).

    Folder names are printable ASCII (non-ASCII names would need modified UTF-7, RFC 3501
    section 5.1.3, which is not implemented).  Secrets are masked in reprs and never part of
    an error message (``hide_input_in_errors``).

    Raises:
        pydantic.ValidationError: on construction; the message names fields, never values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, hide_input_in_errors=True)

    host: str = Field(min_length=1, description="IMAP server host name.")
    port: int = Field(993, ge=1, le=65535, description="IMAP server port (993: implicit TLS).")
    security: Literal["tls", "starttls", "none"] = Field("tls", description="tls, starttls or none (loopback only).")
    username: str = Field(min_length=1, description="Login name.")
    password: SecretStr | None = Field(None, description="Password (LOGIN).")
    oauth2_token: SecretStr | None = Field(None, description="OAuth 2.0 access token (XOAUTH2).")
    folder: str = Field("INBOX", description="Folder to read.")
    after: Literal["seen", "move"] = Field("seen", description="Mark taken mail \\Seen, or move it.")
    move_to: str | None = Field(None, description="Folder taken mail is moved to (after = move).")
    quarantine_folder: str = Field("omnisdk-quarantine", description="Folder of unparsable mail.")
    poll_seconds: float = Field(60.0, ge=1.0, le=IDLE_MAX_SECONDS, description="Longest wait between passes.")
    idle: bool = Field(True, description="Use IDLE (RFC 2177) when offered.")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds per IMAP command.")
    backoff_initial_seconds: float = Field(1.0, gt=0, le=600, description="First reconnection delay.")
    backoff_max_seconds: float = Field(60.0, gt=0, le=3600, description="Longest reconnection delay.")

    @field_validator("password", "oauth2_token", mode="after")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raw = value.get_secret_value()
            if not raw.strip():
                raise ValueError("is a secret and must not be empty (nor only whitespace)")
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
                raise ValueError("is a secret and must not hold control characters")
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("must not hold control characters")
        return value

    @field_validator("folder", "move_to", "quarantine_folder")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        if value is not None and not _MAILBOX_CHARS.fullmatch(value):
            raise ValueError("must be a non-empty folder name of printable ASCII characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ImapSettings:
        if (self.password is None) == (self.oauth2_token is None):
            raise ValueError("set exactly one of password and oauth2_token")
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError("security = 'none' is allowed only for a loopback host (127.0.0.1, ::1, localhost)")
        if self.after == "move":
            if self.move_to is None:
                raise ValueError("after = 'move' needs move_to")
            if self.move_to == self.folder:
                raise ValueError("move_to must be another folder than folder")
        if self.quarantine_folder == self.folder:
            raise ValueError("quarantine_folder must be another folder than folder")
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("backoff_max_seconds must be at least backoff_initial_seconds")
        return self


class ImapError(Exception):
    """An IMAP command failed or the server's answer is not what RFC 9051 describes.  Its
    message holds no secret."""


class LoginRefused(ImapError):
    """The server refused the credentials (or the mechanism)."""


TokenProvider = Callable[[], Awaitable[str]]
"""Returns a current OAuth 2.0 access token (called at each login)."""

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)\b")


class ImapTransport:
    """Reads ``settings.folder`` of one email account; see the module docstring.

    Args:
        adapter: the account's :class:`~omnisdk_email.adapter.EmailAdapter` (its pure
            ``parse()`` turns each mail into events).
        settings: the account's :class:`ImapSettings`.
        token_provider: for XOAUTH2, a coroutine returning a fresh access token at each login
            (else ``settings.oauth2_token`` is used).
        ssl_context: the TLS context (default: the system's trust store, host names checked).

    Attributes:
        name: ``imap:<account>`` (counters ``transport.imap:<account>.<what>``).
        exclusive: True: reading the mailbox flags and moves its mail, so one process reads
            it (in a hot-standby core, the leader only).
    """

    exclusive = True

    def __init__(self, adapter: EmailAdapter, settings: ImapSettings, *,
                 token_provider: TokenProvider | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.adapter = adapter
        self.settings = settings
        self.name = f"imap:{adapter.account}"
        self.token_provider = token_provider
        self.ssl_context = ssl_context
        self.last_uid: dict[int, int] = {}
        """UIDVALIDITY → the highest UID acknowledged (in memory; lost on restart, safely)."""
        self._lost = asyncio.Event()

    def __repr__(self) -> str:
        return f"ImapTransport(name={self.name!r}, host={self.settings.host!r}, folder={self.settings.folder!r})"

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, deliver: Deliver, stop: asyncio.Event, count: Count) -> None:
        """Connect, take in the folder's mail, wait (IDLE or poll), again, until ``stop``;
        reconnect with backoff after any failure.  Never raises but for cancellation."""
        s = self.settings
        backoff = Backoff(s.backoff_initial_seconds, s.backoff_max_seconds)
        while not stop.is_set():
            client: aioimaplib.IMAP4 | None = None
            try:
                client = await self._connect()
                count("connected")
                backoff.reset()
                await self._session(client, deliver, stop, count, backoff)
            except asyncio.CancelledError:
                raise
            except LoginRefused as exc:
                count("login_failed")
                count("retries")
                log.warning("IMAP %s: login to %s refused (%s); retrying", self.name, s.host, self._describe(exc))
            except Exception as exc:  # noqa: BLE001 - an outage: log, count, back off, retry
                count("retries")
                log.warning("IMAP %s: %s (%s); retrying", self.name, type(exc).__name__, self._describe(exc))
            finally:
                if client is not None:
                    await self._close(client)
            if stop.is_set() or await backoff.wait(stop):
                break

    async def _session(self, client: aioimaplib.IMAP4, deliver: Deliver, stop: asyncio.Event,
                       count: Count, backoff: Backoff) -> None:
        s = self.settings
        await self._ensure_folder(client, s.quarantine_folder)
        if s.after == "move" and s.move_to is not None:
            await self._ensure_folder(client, s.move_to)
        validity = await self._select(client)
        while not stop.is_set():
            await self._pass(client, validity, deliver, stop, count)
            backoff.reset()
            if stop.is_set():
                return
            await self._wait(client, stop)

    async def _pass(self, client: aioimaplib.IMAP4, validity: int, deliver: Deliver,
                    stop: asyncio.Event, count: Count) -> None:
        """Take in every mail the search finds, in UID order."""
        for uid in await self._search(client, validity):
            if stop.is_set():
                return
            raw = await self._fetch(client, uid)
            if raw is None:  # gone meanwhile (another client moved or expunged it)
                continue
            received_at = now_rfc3339()
            try:
                events = self.adapter.parse(WebhookRequest(
                    method="POST", url=f"imap://{self.settings.host}/{self.settings.folder}",
                    headers={"content-type": "message/rfc822"}, body=raw, received_at=received_at))
            except Exception as exc:  # noqa: BLE001 - PayloadError by contract; anything else is a plugin bug
                await self._quarantine(client, validity, uid, count, exc)
                continue
            try:
                await deliver(events, received_at)  # returns after the inbox commit
            except WebhookError as exc:  # refused for good (foreign business address): set aside
                await self._quarantine(client, validity, uid, count, exc)
                continue
            # the events are durable: now, and only now, acknowledge at the source
            await self._acknowledge(client, uid)
            self._advance(validity, uid)

    # --- IMAP steps ---------------------------------------------------------------------------

    async def _connect(self) -> aioimaplib.IMAP4:
        s = self.settings
        lost = self._lost = asyncio.Event()  # one per connection: a late callback of the last one
        client: aioimaplib.IMAP4
        if s.security == "tls":
            ctx = self.ssl_context or ssl.create_default_context()
            client = aioimaplib.IMAP4_SSL(host=s.host, port=s.port, timeout=s.timeout, ssl_context=ctx)
        else:
            client = aioimaplib.IMAP4(host=s.host, port=s.port, timeout=s.timeout)
        client.protocol.conn_lost_cb = lambda exc: lost.set()
        try:
            await client.wait_hello_from_server()
            if s.security == "starttls":
                await self._starttls(client)
            await self._login(client)
        except BaseException:
            await self._close(client)
            raise
        return client

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        """STARTTLS (RFC 9051 section 6.2.1), then the capabilities again: those read before
        TLS must be discarded."""
        proto = client.protocol
        if not client.has_capability("STARTTLS"):
            raise ImapError("the server does not offer STARTTLS")
        response = await self._execute(client, Command("STARTTLS", proto.new_tag(), loop=proto.loop))
        self._check(response, "STARTTLS")
        loop = asyncio.get_running_loop()
        ctx = self.ssl_context or ssl.create_default_context()
        proto.transport = await loop.start_tls(proto.transport, proto, ctx, server_hostname=self.settings.host)
        await asyncio.wait_for(proto.capability(), self.settings.timeout)

    async def _login(self, client: aioimaplib.IMAP4) -> None:
        """LOGIN, or AUTHENTICATE XOAUTH2 with an initial response.  The commands go through
        aioimaplib with the secret form scrubbed from its debug log (aioimaplib's own
        ``xoauth2()`` scrubs the token but not the base64 that carries it)."""
        s = self.settings
        proto = client.protocol
        if s.oauth2_token is not None or self.token_provider is not None:
            token = await self.token_provider() if self.token_provider is not None else \
                s.oauth2_token.get_secret_value()  # type: ignore[union-attr]
            response_b64 = xoauth2_initial_response(s.username, token).decode("ascii")
            command = Command("AUTHENTICATE", proto.new_tag(), "XOAUTH2", response_b64, loop=proto.loop)
            response = await self._authenticate(client, command, response_b64)
        else:
            if not client.has_capability("IMAP4rev1") and not client.has_capability("IMAP4rev2"):
                raise ImapError("the server is not IMAP4rev1")
            if client.has_capability("LOGINDISABLED"):
                raise LoginRefused("the server has disabled LOGIN on this connection (LOGINDISABLED)")
            password = quote_mailbox(s.password.get_secret_value())  # type: ignore[union-attr]
            command = Command("LOGIN", proto.new_tag(), quote_mailbox(s.username), password, loop=proto.loop)
            response = await self._execute(client, command, scrub=password)
        if response.result != "OK":
            raise LoginRefused(f"{response.result} {self._last_line(response)}")
        proto.state = AUTH
        await asyncio.wait_for(proto.capability(), s.timeout)  # they change after login (MOVE, IDLE …)

    async def _authenticate(self, client: aioimaplib.IMAP4, command: Command, scrub: str) -> Any:
        """Run an AUTHENTICATE with an initial response.  A refused token is answered with a
        challenge carrying a base64 JSON error (``+ eyJzdGF0dXMiOiI0MDEi…``, Google's "Error
        response"; Dovecot's oauth2 passdb does the same), which the client must answer with an
        empty line before the server sends the tagged ``NO``: aioimaplib does not, so the
        protocol's continuation handler is wrapped for the duration of the command."""
        proto = client.protocol
        original = proto._continuation

        def on_continuation(line: bytes) -> None:
            pending = proto.pending_sync_command
            if pending is not None and pending.name == "AUTHENTICATE" and proto.transport is not None:
                proto.transport.write(b"\r\n")  # the empty client response: "abort, tell me why"
                return
            original(line)

        proto._continuation = on_continuation  # type: ignore[method-assign]
        try:
            return await self._execute(client, command, scrub=scrub)
        finally:
            proto._continuation = original  # type: ignore[method-assign]

    async def _select(self, client: aioimaplib.IMAP4) -> int:
        """SELECT the folder; its UIDVALIDITY.  A new UIDVALIDITY forgets the UIDs of the old."""
        response = await client.select(quote_mailbox(self.settings.folder))
        self._check(response, "SELECT")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                validity = int(found.group(1))
                for old in [v for v in self.last_uid if v != validity]:
                    del self.last_uid[old]  # the folder was recreated: its UIDs mean other mail
                return validity
        raise ImapError("SELECT answered without UIDVALIDITY")

    async def _search(self, client: aioimaplib.IMAP4, validity: int) -> list[int]:
        """The UIDs to take in, ascending: ``UNSEEN`` (after = seen) or ``UNDELETED`` (after =
        move), above the highest acknowledged UID of this UIDVALIDITY."""
        criteria = "UNSEEN" if self.settings.after == "seen" else "UNDELETED"
        last = self.last_uid.get(validity, 0)
        args = (f"UID {last + 1}:*", criteria) if last else (criteria,)
        response = await client.uid_search(*args, charset=None)
        self._check(response, "UID SEARCH")
        uids: set[int] = set()
        for line in response.lines[:-1]:  # aioimaplib: the "* SEARCH" data lines without the word, then the status text
            words = bytes(line).split()
            if words[:1] == [b"SEARCH"]:
                words = words[1:]
            if words and all(w.isdigit() for w in words):
                uids.update(int(w) for w in words)
        return sorted(u for u in uids if u > last)  # "n:*" always holds the highest UID, RFC 9051 6.4.4

    async def _fetch(self, client: aioimaplib.IMAP4, uid: int) -> bytes | None:
        """The raw mail by UID, without setting ``\\Seen`` (``BODY.PEEK[]``)."""
        response = await client.uid("fetch", str(uid), "(UID BODY.PEEK[])")
        self._check(response, "UID FETCH")
        lines = response.lines
        for i, line in enumerate(lines[:-1]):
            head = bytes(line)
            if b"FETCH" in head and head.rstrip().endswith(b"}"):
                found = _FETCH_UID.search(head)
                if found is None or int(found.group(1)) == uid:
                    return bytes(lines[i + 1])
        return None

    async def _acknowledge(self, client: aioimaplib.IMAP4, uid: int) -> None:
        if self.settings.after == "seen":
            response = await self._uid(client, "store", str(uid), "+FLAGS.SILENT", "(\\Seen)")
            self._check(response, "UID STORE")
        else:
            await self._move(client, uid, self.settings.move_to or "")

    async def _move(self, client: aioimaplib.IMAP4, uid: int, folder: str) -> None:
        """UID MOVE (RFC 6851), or UID COPY + \\Deleted + UID EXPUNGE (RFC 4315) / EXPUNGE."""
        target = quote_mailbox(folder)
        if client.has_capability("MOVE"):
            self._check(await self._uid(client, "move", str(uid), target), "UID MOVE")
            return
        self._check(await self._uid(client, "copy", str(uid), target), "UID COPY")
        self._check(await self._uid(client, "store", str(uid), "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
        if client.has_capability("UIDPLUS"):
            self._check(await self._uid(client, "expunge", str(uid)), "UID EXPUNGE")
        else:  # expunges every \Deleted mail of the folder: the only way without UIDPLUS
            self._check(await client.expunge(), "EXPUNGE")

    async def _quarantine(self, client: aioimaplib.IMAP4, validity: int, uid: int, count: Count,
                          exc: Exception) -> None:
        reason = getattr(exc, "reason", type(exc).__name__)
        log.warning("IMAP %s: mail UID %d of %s cannot be taken in (%s): moved to %s", self.name, uid,
                    self.settings.folder, reason, self.settings.quarantine_folder)
        await self._move(client, uid, self.settings.quarantine_folder)
        count("quarantined")
        self._advance(validity, uid)

    async def _ensure_folder(self, client: aioimaplib.IMAP4, folder: str) -> None:
        """CREATE the folder unless it exists (``LIST "" <name>``)."""
        name = quote_mailbox(folder)
        listed = await client.list('""', name)
        self._check(listed, "LIST")
        if len(listed.lines) > 1:  # aioimaplib: the "* LIST" data lines (word dropped), then the status
            return
        created = await client.create(name)
        if created.result != "OK" and b"ALREADYEXISTS" not in b" ".join(bytes(x) for x in created.lines):
            raise ImapError(f"CREATE of a folder failed: {created.result} {self._last_line(created)}")

    async def _wait(self, client: aioimaplib.IMAP4, stop: asyncio.Event) -> None:
        """Until new mail, ``poll_seconds``, ``stop`` or a lost connection: IDLE when offered."""
        s = self.settings
        if not (s.idle and client.has_capability("IDLE")):
            if await sleep_or_stop(stop, s.poll_seconds):
                return
            self._check(await client.noop(), "NOOP")
            return
        idle = await client.idle_start(timeout=min(s.poll_seconds, IDLE_MAX_SECONDS))
        waiters = {asyncio.ensure_future(client.wait_server_push(timeout=s.poll_seconds + s.timeout)),
                   asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._lost.wait())}
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._lost.is_set():
            raise ImapError("the connection was lost")
        for waiter in done:
            if not waiter.cancelled() and waiter.exception() is not None:
                exc = waiter.exception()
                if not isinstance(exc, TimeoutError):
                    raise ImapError(f"IDLE failed: {type(exc).__name__}")
        if client.has_pending_idle():
            client.idle_done()
        response = await asyncio.wait_for(idle, s.timeout)
        self._check(response, "IDLE")
        while not client.protocol.idle_queue.empty():  # pushes left over: the next pass reads all
            pushed = client.protocol.idle_queue.get_nowait()
            if pushed is STOP_WAIT_SERVER_PUSH:
                continue

    # --- helpers ------------------------------------------------------------------------------

    def _advance(self, validity: int, uid: int) -> None:
        if uid > self.last_uid.get(validity, 0):
            self.last_uid[validity] = uid

    async def _uid(self, client: aioimaplib.IMAP4, command: str, *args: str) -> Any:
        """``UID <command>`` within ``timeout`` (aioimaplib bounds only some commands)."""
        return await asyncio.wait_for(client.uid(command, *args), self.settings.timeout)

    async def _execute(self, client: aioimaplib.IMAP4, command: Command, scrub: str | None = None) -> Any:
        return await asyncio.wait_for(client.protocol.execute(command, scrub=scrub), self.settings.timeout)

    @staticmethod
    def _last_line(response: Any) -> str:
        lines = response.lines
        text = bytes(lines[-1]).decode("utf-8", "replace") if lines else ""
        return text[:200]

    def _check(self, response: Any, what: str) -> None:
        if response.result != "OK":
            raise ImapError(f"{what} failed: {response.result} {self._last_line(response)}")

    def _describe(self, exc: BaseException) -> str:
        """The exception's text with every form of the secrets blanked (aioimaplib may put a
        command's arguments in its messages)."""
        text = str(exc)[:300] or type(exc).__name__
        s = self.settings
        for secret in (s.password, s.oauth2_token):
            if secret is None:
                continue
            raw = secret.get_secret_value()
            forms = {raw, quote_mailbox(raw)}
            try:
                forms.add(xoauth2_initial_response(s.username, raw).decode("ascii"))
            except ValueError:
                pass
            for form in forms:
                text = text.replace(form, "***")
        return text

    async def _close(self, client: aioimaplib.IMAP4) -> None:
        try:
            if client.protocol.state in ("AUTH", "SELECTED") and not self._lost.is_set():
                if client.has_pending_idle():
                    client.idle_done()
                await asyncio.wait_for(client.logout(), 2.0)
        except Exception:  # noqa: BLE001 - closing a connection that may be dead already
            pass
        finally:
            transport = client.protocol.transport
            if transport is not None:
                transport.close()


__all__ = ["ImapError", "ImapSettings", "ImapTransport", "LoginRefused", "TokenProvider", "is_loopback",
           "quote_mailbox", "xoauth2_initial_response"]
