"""smtp.py against a real SMTP server: aiosmtpd's Controller on 127.0.0.1, in this process.

The Controller runs its own event loop in a thread; the client (aiosmtplib) runs in the
test's loop.  Certificates for the TLS tests are made here with ``cryptography``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pydantic
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from omnisdk.adapters import AccountSettings, OutboundMessage
from omnisdk.outbound.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    UnprocessableEntityError,
)
from omnisdk.outbound.http import RetryPolicy
from omnisdk.testkit.ports import free_port
from omnisdk_email.compose import compose, message_id_for
from omnisdk_email.smtp import SmtpSettings, is_retryable, send_mail, send_mail_retrying

HOST = "127.0.0.1"
USER = "agent@acme.example"
PASSWORD = "s3cret-Pa55word"
TOKEN = "ya29.fake-access-token"
SENDER = "support@acme.example"
CUSTOMER = "jane@example.com"

# aiosmtpd warns when AUTH is allowed in clear text, which the non-TLS tests do on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


# --------------------------------------------------------------------------- server side


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    authenticated: bool

    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class Recorder:
    """aiosmtpd handler: records each mail; replies can be scripted per command."""

    mails: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    data_replies: list[str] = field(default_factory=list)
    data_attempts: list[bytes] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)
    xoauth2_blobs: list[bytes] = field(default_factory=list)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.data_attempts.append(data)
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if not reply.startswith("250"):
                return reply
        self.mails.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data,
                                   session.ssl is not None, bool(session.authenticated)))
        return "250 2.0.0 Message accepted for delivery"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        blob = base64.b64decode(args[1])
        self.xoauth2_blobs.append(blob)
        expected = f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01".encode()
        return AuthResult(success=blob == expected, handled=False)


def _authenticator(recorder: Recorder) -> Callable[..., AuthResult]:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        recorder.mechanisms.append(mechanism)
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextmanager
def smtp_server(recorder: Recorder, **kwargs: Any) -> Iterator[int]:
    """An aiosmtpd server on 127.0.0.1 and an ephemeral port; yields the port."""
    port = free_port()
    controller = Controller(recorder, hostname=HOST, port=port, server_hostname="mx.test", **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certs:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A self-signed certificate for 127.0.0.1 / localhost (it is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "omnisdk test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("certs")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Certs(folder / "cert.pem", folder / "key.pem")


# --------------------------------------------------------------------------- client side


def _mail(key: str = "outbox-0001", text: str = "Hello Jane") -> EmailMessage:
    return compose(
        OutboundMessage(customer=CUSTOMER, text=text),
        sender=SENDER,
        sender_name="Acme Support",
        message_id=message_id_for(key, SENDER),
        subject="Your question [Case:CS0000011]",
        in_reply_to="parent@mail.example.com",
        references=["root@mail.example.com"],
        date=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
    )


def _plain(port: int, **kwargs: Any) -> SmtpSettings:
    return SmtpSettings(host=HOST, port=port, security="none", timeout_seconds=5, **kwargs)


def _headers(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]


def _assert_no_secret(exc: BaseException, *secrets: str) -> None:
    texts = [str(exc), repr(exc), repr(exc.args)]
    for secret in secrets:
        encoded = base64.b64encode(secret.encode()).decode()
        for text in texts:
            assert secret not in text and encoded not in text


async def test_send_reaches_server_with_exact_envelope_and_headers() -> None:
    recorder = Recorder()
    msg = _mail()
    with smtp_server(recorder) as port:
        mid = await send_mail(_plain(port), msg, recipients=[CUSTOMER], sender="bounces@acme.example")
    assert mid == "outbox-0001@acme.example"
    (got,) = recorder.mails
    assert got.mail_from == "bounces@acme.example"
    assert got.rcpt_tos == [CUSTOMER]
    assert _headers(got.data) == _headers(msg.as_bytes())
    parsed = got.parsed()
    assert parsed["Message-ID"] == "<outbox-0001@acme.example>"
    assert parsed["In-Reply-To"] == "<parent@mail.example.com>"
    assert parsed["References"] == "<root@mail.example.com> <parent@mail.example.com>"
    assert parsed["Subject"] == "Re: Your question [Case:CS0000011]"
    assert parsed.get_content().strip() == "Hello Jane"


async def test_envelope_sender_defaults_to_from_and_utf8_body_arrives() -> None:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        await send_mail(_plain(port), _mail(text="Grüße aus Köln"), recipients=[CUSTOMER])
    (got,) = recorder.mails
    assert got.mail_from == SENDER
    assert got.parsed().get_content().replace("\r\n", "\n") == "Grüße aus Köln\n"


async def test_same_idempotency_key_same_message_id() -> None:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        first = await send_mail(_plain(port), _mail("outbox-7"), recipients=[CUSTOMER])
        second = await send_mail(_plain(port), _mail("outbox-7"), recipients=[CUSTOMER])
    assert first == second == "outbox-7@acme.example"
    assert [m.parsed()["Message-ID"] for m in recorder.mails] == ["<outbox-7@acme.example>"] * 2


@pytest.mark.parametrize("exclude,mechanism", [(["LOGIN"], "PLAIN"), (["PLAIN"], "LOGIN")])
async def test_auth_accepted(exclude: list[str], mechanism: str) -> None:
    recorder = Recorder()
    with smtp_server(recorder, authenticator=_authenticator(recorder), auth_require_tls=False,
                     auth_required=True, auth_exclude_mechanism=[*exclude, "XOAUTH2"]) as port:
        await send_mail(_plain(port, username=USER, password=PASSWORD), _mail(), recipients=[CUSTOMER])
    assert recorder.mechanisms == [mechanism]
    assert len(recorder.mails) == 1


async def test_auth_refused_is_permanent_and_hides_the_password() -> None:
    recorder = Recorder()
    wrong = "Wr0ng-" + PASSWORD
    with smtp_server(recorder, authenticator=_authenticator(recorder), auth_require_tls=False,
                     auth_required=True) as port:
        with pytest.raises(AuthenticationError) as info:
            await send_mail(_plain(port, username=USER, password=wrong), _mail(), recipients=[CUSTOMER])
    exc = info.value
    assert exc.status_code == 401 and exc.error_code == "535 5.7.8"
    assert "535" in str(exc) and "AUTH" in str(exc)
    assert not is_retryable(exc)
    _assert_no_secret(exc, wrong, PASSWORD)
    assert exc.__cause__ is None and exc.__suppress_context__
    assert recorder.mails == []


async def test_xoauth2_accepted_and_refused() -> None:
    recorder = Recorder()
    with smtp_server(recorder, auth_require_tls=False, auth_required=True,
                     authenticator=_authenticator(recorder)) as port:
        await send_mail(_plain(port, username=USER, oauth2_token=TOKEN), _mail(), recipients=[CUSTOMER])
        bad = "ya29.expired"
        with pytest.raises(AuthenticationError) as info:
            await send_mail(_plain(port, username=USER, oauth2_token=bad), _mail(), recipients=[CUSTOMER])
    assert recorder.xoauth2_blobs[0] == f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01".encode()
    assert len(recorder.mails) == 1
    _assert_no_secret(info.value, bad, TOKEN)
    assert "XOAUTH2" in str(info.value)


async def test_starttls_with_self_signed_cert(certs: Certs) -> None:
    recorder = Recorder()
    with smtp_server(recorder, tls_context=certs.server_context(), require_starttls=True,
                     authenticator=_authenticator(recorder), auth_required=True) as port:
        settings = SmtpSettings(host=HOST, port=port, security="starttls", username=USER,
                                password=PASSWORD, cert_bundle=str(certs.cert), timeout_seconds=5)
        await send_mail(settings, _mail(), recipients=[CUSTOMER])
    (got,) = recorder.mails
    assert got.tls  # the session was upgraded before MAIL FROM
    assert got.authenticated  # AUTH went over TLS (auth_require_tls defaults to True)
    assert recorder.mechanisms == ["PLAIN"]


async def test_starttls_untrusted_cert_is_not_sent(certs: Certs) -> None:
    recorder = Recorder()
    with smtp_server(recorder, tls_context=certs.server_context()) as port:
        settings = SmtpSettings(host=HOST, port=port, security="starttls", timeout_seconds=5)
        with pytest.raises(APIConnectionError, match="TLS|certificate") as info:
            await send_mail(settings, _mail(), recipients=[CUSTOMER])
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert recorder.mails == []


async def test_starttls_required_but_not_offered_is_permanent() -> None:
    recorder = Recorder()
    with smtp_server(recorder) as port:  # no tls_context: no STARTTLS in EHLO
        settings = SmtpSettings(host=HOST, port=port, security="starttls", timeout_seconds=5)
        with pytest.raises(BadRequestError, match="STARTTLS") as info:
            await send_mail(settings, _mail(), recipients=[CUSTOMER])
    assert not is_retryable(info.value)
    assert recorder.mails == []


async def test_implicit_tls(certs: Certs) -> None:
    recorder = Recorder()
    with smtp_server(recorder, ssl_context=certs.server_context()) as port:
        settings = SmtpSettings(host=HOST, port=port, security="tls", cert_bundle=str(certs.cert),
                                timeout_seconds=5)
        await send_mail(settings, _mail(), recipients=[CUSTOMER])
    (got,) = recorder.mails
    assert got.rcpt_tos == [CUSTOMER]


async def test_451_is_retryable() -> None:
    recorder = Recorder(rcpt_replies={CUSTOMER: "451 4.7.1 Greylisted, please try again later"})
    with smtp_server(recorder) as port:
        with pytest.raises(InternalServerError) as info:
            await send_mail(_plain(port), _mail(), recipients=[CUSTOMER])
    exc = info.value
    assert exc.status_code == 503 and exc.error_code == "451 4.7.1"
    assert exc.retry_after == 300.0  # the outbox waits 5 minutes: greylisting, RFC 5321 4.5.4.1
    assert "Greylisted" in str(exc) and "451" in str(exc)
    assert is_retryable(exc)


async def test_421_at_mail_from_is_retryable() -> None:
    recorder = Recorder(mail_reply="421 4.3.2 Service shutting down")
    with smtp_server(recorder) as port:
        with pytest.raises((InternalServerError, APIConnectionError)) as info:
            await send_mail(_plain(port), _mail(), recipients=[CUSTOMER])
    assert is_retryable(info.value)
    assert "421" in str(info.value)


async def test_550_is_permanent() -> None:
    recorder = Recorder(rcpt_replies={CUSTOMER: "550 5.1.1 No such user here"})
    with smtp_server(recorder) as port:
        with pytest.raises(UnprocessableEntityError) as info:
            await send_mail(_plain(port), _mail(), recipients=[CUSTOMER])
    exc = info.value
    assert exc.status_code == 422 and exc.error_code == "550 5.1.1"
    assert "No such user" in str(exc)
    assert not is_retryable(exc)


async def test_554_at_data_is_permanent() -> None:
    recorder = Recorder(data_replies=["554 5.7.1 Message rejected as spam"])
    with smtp_server(recorder) as port:
        with pytest.raises(UnprocessableEntityError, match="SMTP DATA answered 554") as info:
            await send_mail(_plain(port), _mail(), recipients=[CUSTOMER])
    assert info.value.error_code == "554 5.7.1"


async def test_partial_refusal_still_sends() -> None:
    other = "bob@example.com"
    recorder = Recorder(rcpt_replies={other: "550 5.1.1 No such user"})
    with smtp_server(recorder) as port:
        mid = await send_mail(_plain(port), _mail(), recipients=[CUSTOMER, other])
    assert mid == "outbox-0001@acme.example"
    assert recorder.mails[0].rcpt_tos == [CUSTOMER]


async def test_connection_refused_is_retryable() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(APIConnectionError) as info:
        await send_mail(_plain(port), _mail(), recipients=[CUSTOMER])
    assert not isinstance(info.value, APITimeoutError)
    assert is_retryable(info.value)
    assert f"{HOST}:{port}" in str(info.value)


async def test_silent_server_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)  # accepts the connection, never greets
        writer.close()

    server = await asyncio.start_server(silent, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = SmtpSettings(host=HOST, port=port, security="none", timeout_seconds=0.3)
        with pytest.raises(APITimeoutError) as info:
            await send_mail(settings, _mail(), recipients=[CUSTOMER])
    finally:
        server.close()
    assert is_retryable(info.value)


async def test_retrying_resends_the_same_message_id() -> None:
    recorder = Recorder(data_replies=["451 4.3.0 Temporary failure, try again", "250"])
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with smtp_server(recorder) as port:
        mid = await send_mail_retrying(_plain(port), _mail("outbox-9"), recipients=[CUSTOMER],
                                       retry=RetryPolicy(max_attempts=3, initial_backoff=0.5), sleep=fake_sleep)
    assert mid == "outbox-9@acme.example"
    ids = [BytesParser(policy=policy.default).parsebytes(d)["Message-ID"] for d in recorder.data_attempts]
    assert ids == ["<outbox-9@acme.example>"] * 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5


async def test_retrying_does_not_retry_permanent_errors() -> None:
    recorder = Recorder(data_replies=["554 5.7.1 No"] * 3)
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with smtp_server(recorder) as port:
        with pytest.raises(UnprocessableEntityError):
            await send_mail_retrying(_plain(port), _mail(), recipients=[CUSTOMER], sleep=fake_sleep)
    assert len(recorder.data_attempts) == 1 and sleeps == []


async def test_message_without_id_refused() -> None:
    msg = _mail()
    del msg["Message-ID"]
    with pytest.raises(ValueError, match="Message-ID"):
        await send_mail(_plain(25), msg, recipients=[CUSTOMER])


# --------------------------------------------------------------------------- settings


def test_settings_defaults_and_ports() -> None:
    assert SmtpSettings(host="smtp.example.com").port == 587
    assert SmtpSettings(host="smtp.example.com").security == "starttls"
    assert SmtpSettings(host="smtp.example.com", security="tls").port == 465
    assert SmtpSettings(host="smtp.example.com", security="tls", port=2465).port == 2465
    assert SmtpSettings(host="smtp.example.com").timeout_seconds == 30


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.53"])
def test_clear_text_allowed_to_loopback(host: str) -> None:
    assert SmtpSettings(host=host, security="none").security == "none"


@pytest.mark.parametrize("host", ["smtp.example.com", "10.0.0.5", "localhost.example.com"])
def test_clear_text_refused_elsewhere(host: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="loopback"):
        SmtpSettings(host=host, security="none")


@pytest.mark.parametrize("kwargs", [
    {"username": USER},
    {"password": PASSWORD},
    {"oauth2_token": TOKEN},
    {"username": USER, "password": PASSWORD, "oauth2_token": TOKEN},
    {"username": USER, "password": "  "},
    {"username": USER, "oauth2_token": ""},
    {"unknown": 1},
    {"host": "smtp.example.com\r\nX"},
])
def test_settings_refused_without_leaking(kwargs: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        SmtpSettings(**{"host": "smtp.example.com", **kwargs})
    assert PASSWORD not in str(info.value) and TOKEN not in str(info.value)


@pytest.mark.parametrize("kwargs", [
    {"username": USER, "password": PASSWORD, "oauth2_token": TOKEN},
    {"password": PASSWORD},
    {"username": USER, "oauth2_token": TOKEN, "security": "none"},
])
def test_nested_settings_errors_do_not_leak(kwargs: dict[str, Any]) -> None:
    """Nested in a model that shows its input (as AccountSettings does), a model-level error
    prints the nested input dict: the secrets in it must already be masked."""

    class Outer(AccountSettings):
        smtp: SmtpSettings

    with pytest.raises(pydantic.ValidationError) as info:
        Outer(smtp={"host": "smtp.example.com", **kwargs})
    assert PASSWORD not in str(info.value) and TOKEN not in str(info.value)
    assert PASSWORD not in repr(info.value.errors()) and TOKEN not in repr(info.value.errors())


def test_secrets_masked_in_repr() -> None:
    settings = SmtpSettings(host="smtp.example.com", username=USER, password=PASSWORD)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    settings = SmtpSettings(host="smtp.example.com", username=USER, oauth2_token=TOKEN)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
