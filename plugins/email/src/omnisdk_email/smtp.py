"""Sending a composed mail over SMTP (RFC 5321) with aiosmtplib, errors typed for the outbox.

One :func:`send_mail` call is one SMTP session: connect (implicit TLS, RFC 8314 section 3.3,
or STARTTLS, RFC 3207), authenticate (AUTH PLAIN/LOGIN, RFC 4954, or XOAUTH2), ``MAIL FROM``
/ ``RCPT TO`` / ``DATA`` (RFC 5321 section 3.3) through ``aiosmtplib.SMTP.send_message``
(aiosmtplib.readthedocs.io, "The SMTP Client Class"), ``QUIT``.  It does not retry:
:func:`send_mail_retrying` adds the short in-process retries the core's HTTP client makes
(:class:`omnisdk.outbound.ProviderClient`), and the outbox retries what is still failing
later.  The Message-ID is in the mail, so every attempt sends the *same* message.

Errors are the core's :mod:`omnisdk.outbound.errors` classes, so the outbox decides on them
unchanged (:data:`omnisdk.outbound.http.RETRY_STATUSES`, :class:`APIConnectionError`):

=========================================================  =============================  ========
failure                                                    error (``status_code``)        retried
=========================================================  =============================  ========
refused, reset, closed, TLS handshake failure              ``APIConnectionError``         yes
connect or read timeout                                    ``APITimeoutError``            yes
4yz reply (421, 450, 451, 452, 454 …; RFC 5321 4.2.1)      ``InternalServerError`` (503)  yes
530, 534, 535, 538 (authentication; RFC 4954 section 6)    ``AuthenticationError`` (401)  no
500-504, 555 (syntax, sequence, not implemented)           ``BadRequestError`` (400)      no
other 5yz (550, 551, 552, 553, 554 …: refused, relay)      ``UnprocessableEntityError``   no
                                                           (422)
STARTTLS or AUTH not offered by the server                 ``BadRequestError`` (400)      no
=========================================================  =============================  ========

``status_code`` is the HTTP status of the same meaning (what the core's retry decision
reads); the SMTP reply code itself, with its RFC 3463 enhanced status code, is the error's
``error_code`` (``"451 4.7.1"``) and is in its message with the server's text.  Passwords
and tokens are never in an error, a log line or a repr: server text is redacted of them.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage
from typing import Any, Literal

import aiosmtplib
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    field_validator,
    model_validator,
)
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from omnisdk.model.email import strip_msg_id
from omnisdk.outbound.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    OutboundError,
    status_error_class,
)
from omnisdk.outbound.http import RETRY_STATUSES, RetryPolicy

log = logging.getLogger("omnisdk.email.smtp")

PROVIDER = "email"
"""The provider name in errors and logs (the plugin's name)."""

Security = Literal["starttls", "tls", "none"]

_AUTH_CODES = frozenset({530, 534, 535, 538})
_SYNTAX_CODES = frozenset({500, 501, 502, 503, 504, 555})
_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


class SmtpSettings(BaseModel):
    """How to reach and log in to the account's submission server.

    Attributes:
        host: the server's host name (checked against its TLS certificate) or IP address.
        port: 587 (submission with STARTTLS, RFC 6409) by default, 465 when
            ``security="tls"`` (implicit TLS, RFC 8314 section 3.3).
        security: ``starttls`` (STARTTLS is *required*: a server that does not offer it is
            an error, never a fall-back to clear text), ``tls`` (implicit TLS) or ``none``
            (clear text, allowed only to ``localhost`` or a loopback address: a local relay
            or a test server).
        username: the AUTH user; None sends without authentication.
        password: the AUTH PLAIN/LOGIN password; required with ``username`` unless
            ``oauth2_token`` is set.
        oauth2_token: an OAuth 2.0 access token for AUTH XOAUTH2 (Gmail, Microsoft 365):
            the initial response is ``base64("user=" user "\\x01auth=Bearer " token
            "\\x01\\x01")`` (developers.google.com/gmail/imap/xoauth2-protocol, "The SASL
            XOAUTH2 Mechanism"); needs ``username``, excludes ``password``.  Access tokens
            expire (about an hour): refreshing is the caller's job.
        timeout_seconds: connect timeout and the timeout of each command's reply.
        cert_bundle: PEM file of the CA certificates trusted for the server (a private CA,
            tests); None uses the system's.  Certificates are always verified.
        local_hostname: the EHLO name (RFC 5321 section 4.1.1.1); None lets aiosmtplib use
            the machine's FQDN.

    Raises:
        pydantic.ValidationError: unknown keys, an empty secret, ``security="none"`` to a
            non-loopback host, a password without a user, a user without a password or
            token, both a password and a token.  Secrets stay masked in every message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, hide_input_in_errors=True)

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Security = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    oauth2_token: SecretStr | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    cert_bundle: str | None = None
    local_hostname: str | None = None

    @field_validator("password", "oauth2_token", mode="after")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is a secret and must not be empty (nor only whitespace)")
        return value

    @field_validator("host", "username", "local_hostname", mode="after")
    @classmethod
    def _no_controls(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(ord(c) < 0x21 for c in value)):
            raise ValueError("must be non-empty, without spaces or control characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SmtpSettings:
        if self.security == "none" and not _is_loopback(self.host):
            raise ValueError("security 'none' (clear text) is only allowed to localhost or a loopback address")
        if self.password is not None and self.oauth2_token is not None:
            raise ValueError("set password or oauth2_token, not both")
        if (self.password is not None or self.oauth2_token is not None) and not self.username:
            raise ValueError("a password or oauth2_token needs a username")
        if self.username and self.password is None and self.oauth2_token is None:
            raise ValueError("a username needs a password or an oauth2_token")
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _mask_first(cls, data: Any, handler: ModelWrapValidatorHandler[SmtpSettings]) -> SmtpSettings:
        """Wrap secrets in SecretStr before any validation, so no error shows them, also when
        these settings are nested in a model that does not hide its input (pydantic then
        prints the whole input dict of a model-level error); default the port for TLS.
        Defined last: pydantic applies the last-defined model validator outermost."""
        if isinstance(data, dict):
            data = {
                k: SecretStr(v) if k in ("password", "oauth2_token") and isinstance(v, str) else v
                for k, v in data.items()
            }
            if data.get("security") == "tls" and "port" not in data:
                data["port"] = 465
        return handler(data)

    def secrets(self) -> list[str]:
        """The secret values and their base64 forms (what :func:`redact` removes)."""
        out: list[str] = []
        for secret in (self.password, self.oauth2_token):
            if secret is not None:
                raw = secret.get_secret_value()
                out += [raw, base64.b64encode(raw.encode()).decode()]
        if self.username:
            for secret in (self.password, self.oauth2_token):
                if secret is not None:
                    raw = secret.get_secret_value()
                    for blob in (
                        f"\0{self.username}\0{raw}",
                        f"user={self.username}\x01auth=Bearer {raw}\x01\x01",
                    ):
                        out.append(base64.b64encode(blob.encode()).decode())
        return [s for s in out if s]


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redact(text: str, settings: SmtpSettings) -> str:
    """``text`` with the settings' secrets (and their base64 forms) replaced by ``***``,
    CR/LF folded to spaces and cut to 300 characters: safe for an error message or a log."""
    for secret in sorted(settings.secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300]


TRANSIENT_RETRY_SECONDS = 300.0
"""The outbox's wait after a 4yz reply: greylisting servers refuse a first delivery for minutes,
and RFC 5321 section 4.5.4.1 asks for retries at least 30 minutes apart for a transient failure;
with the outbox's 6 attempts, 5 minutes each spreads them over about half an hour."""


def _reply_error(code: int, text: str, stage: str, settings: SmtpSettings) -> APIStatusError:
    """The typed error of a negative SMTP reply ``code`` (see the module's table)."""
    if 400 <= code < 500:
        status = 503
    elif code in _AUTH_CODES:
        status = 401
    elif code in _SYNTAX_CODES:
        status = 400
    else:
        status = 422
    text = redact(text, settings)
    enhanced = _ENHANCED.match(text)
    error_code = f"{code} {enhanced.group(1)}" if enhanced else str(code)
    cls = status_error_class(status)
    return cls(
        f"{PROVIDER}: SMTP {stage} answered {code}: {text}" if text else f"{PROVIDER}: SMTP {stage} answered {code}",
        provider=PROVIDER,
        status_code=status,
        error_code=error_code,
        retry_after=TRANSIENT_RETRY_SECONDS if status == 503 else None,
    )


def _map_error(exc: Exception, stage: str, settings: SmtpSettings) -> OutboundError:
    """The :mod:`omnisdk.outbound.errors` error for a failure of aiosmtplib or the socket."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients
        # a transient refusal (4yz) of any recipient makes the whole send worth retrying
        first = next((r for r in refused if 400 <= r.code < 500), refused[0]) if refused else None
        if first is not None:
            return _reply_error(first.code, first.message, "RCPT TO", settings)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        stage = "MAIL FROM"
    elif isinstance(exc, aiosmtplib.SMTPDataError):
        stage = "DATA"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _reply_error(exc.code, exc.message, stage, settings)
    if isinstance(exc, TimeoutError):  # aiosmtplib.SMTPTimeoutError and asyncio's
        return APITimeoutError(f"{PROVIDER}: SMTP {stage} to {where} timed out", provider=PROVIDER)
    if isinstance(exc, ssl.SSLError):
        return APIConnectionError(
            f"{PROVIDER}: TLS with {where} failed during {stage}: {type(exc).__name__}: "
            f"{redact(getattr(exc, 'reason', None) or str(exc), settings)}",
            provider=PROVIDER,
        )
    if isinstance(exc, OSError):  # refused, reset; SMTPConnectError, SMTPServerDisconnected
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return APIConnectionError(
            f"{PROVIDER}: SMTP {stage} to {where} failed: {type(exc).__name__}: {redact(detail, settings)}",
            provider=PROVIDER,
        )
    # SMTPNotSupported (AUTH/SMTPUTF8 missing) and SMTPException (STARTTLS not offered):
    # the server cannot do what the settings require; retrying will not change that.
    return BadRequestError(
        f"{PROVIDER}: SMTP {stage} with {where}: {redact(str(exc), settings)}",
        provider=PROVIDER,
        status_code=400,
    )


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=settings.cert_bundle)  # verifies host and chain
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def is_retryable(exc: BaseException) -> bool:
    """The retry decision, the same as the outbox's: connection errors and timeouts, and
    status errors whose (HTTP-equivalent) status is in ``RETRY_STATUSES``."""
    if isinstance(exc, APIStatusError):
        return exc.status_code in RETRY_STATUSES
    return isinstance(exc, APIConnectionError)


async def send_mail(
    settings: SmtpSettings,
    msg: EmailMessage,
    *,
    recipients: Sequence[str],
    sender: str | None = None,
) -> str:
    """Send ``msg`` in one SMTP session, once; return its Message-ID (without ``<>``).

    Args:
        settings: the server and credentials.
        msg: the composed mail (:func:`omnisdk_email.compose.compose`); it must have a
            ``Message-ID``.  ``Bcc`` is never transmitted (aiosmtplib strips it).
        recipients: the envelope ``RCPT TO`` addresses (RFC 5321 section 4.1.1.3), which
            need not be the ``To`` header's.
        sender: the envelope ``MAIL FROM`` reverse-path (RFC 5321 section 4.1.1.2), where
            bounces go; None takes the ``Sender``/``From`` header's address.

    Returns:
        The Message-ID, which is what receivers and later replies (``In-Reply-To``) know the
        mail by.  When some recipients are refused and others accepted, the mail is sent:
        the refusals are logged (codes only) and the id returned.

    Raises:
        ValueError: ``msg`` without Message-ID; no recipients.
        APIConnectionError, APITimeoutError: the server could not be reached or stopped
            answering (retryable).
        APIStatusError: a negative reply (a subclass by meaning; retryable when 4yz).
    """
    raw_id = msg.get("Message-ID")
    if not raw_id:
        raise ValueError("the mail has no Message-ID")
    message_id = strip_msg_id(str(raw_id))
    if not recipients:
        raise ValueError("no recipients")
    smtp = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        timeout=settings.timeout_seconds,
        use_tls=settings.security == "tls",
        start_tls=settings.security == "starttls",  # True: required, never opportunistic
        tls_context=_tls_context(settings) if settings.security != "none" else None,
        local_hostname=settings.local_hostname,
    )
    stage = "connect"
    try:
        await smtp.connect()
        if settings.username and settings.oauth2_token is not None:
            stage = "AUTH XOAUTH2"
            await smtp.auth_xoauth2(settings.username, settings.oauth2_token.get_secret_value())
        elif settings.username and settings.password is not None:
            stage = "AUTH"
            await smtp.login(settings.username, settings.password.get_secret_value())
        stage = "send"
        refused, _ = await smtp.send_message(msg, sender=sender, recipients=list(recipients))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise _map_error(exc, stage, settings) from None
    finally:
        await _close(smtp)
    if refused:
        log.warning(
            "%s: mail %s accepted for %d recipient(s), refused for %d (codes %s)",
            PROVIDER, message_id, len(recipients) - len(refused), len(refused),
            sorted({r.code for r in refused.values()}),
        )
    return message_id


async def _close(smtp: aiosmtplib.SMTP) -> None:
    """QUIT politely (RFC 5321 section 4.1.1.10); close the socket whatever happens."""
    if not smtp.is_connected:
        return
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()


async def send_mail_retrying(
    settings: SmtpSettings,
    msg: EmailMessage,
    *,
    recipients: Sequence[str],
    sender: str | None = None,
    retry: RetryPolicy = RetryPolicy(max_attempts=3),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """:func:`send_mail` with short in-process retries, as ProviderClient makes for HTTP.

    The retry *decision* is :func:`is_retryable` (the outbox's rule); the *delay* is full
    jitter exponential back-off from ``retry`` (``initial_backoff`` doubling up to
    ``max_backoff``).  ``msg`` is sent unchanged on every attempt, so its Message-ID is the
    same.  A failure after the server took the data but before it answered (a timeout at
    the end of DATA) may deliver twice (the problem of RFC 1047, "Duplicate messages and
    SMTP"); receivers that dedupe on Message-ID show it once.

    Long waits are the outbox's: RFC 5321 section 4.5.4.1 wants retries of a transient
    failure spaced by at least 30 minutes, and greylisting (451) asks for minutes, so keep
    ``max_attempts`` small here.

    Raises:
        what :func:`send_mail` raises, from the last attempt.
    """

    async def attempt() -> str:
        return await send_mail(settings, msg, recipients=recipients, sender=sender)

    def wait(state: RetryCallState) -> float:
        cap = min(retry.max_backoff, retry.initial_backoff * 2 ** (state.attempt_number - 1))
        return random.uniform(0, cap)

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: SMTP attempt %d failed (%s), retrying",
            PROVIDER, state.attempt_number, type(exc).__name__ if exc else "?",
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(retry.max_attempts),
        wait=wait,
        retry=retry_if_exception(is_retryable),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )
    return await retrying(attempt)


__all__ = [
    "PROVIDER",
    "Security",
    "SmtpSettings",
    "is_retryable",
    "redact",
    "send_mail",
    "send_mail_retrying",
]
