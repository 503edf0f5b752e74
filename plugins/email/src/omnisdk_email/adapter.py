"""The ``email`` channel adapter: inbound mail as signed raw MIME or Mailgun route posts."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from omnisdk.adapters import (
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    secret_value,
)
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import Event
from omnisdk.model.addresses import Channel
from omnisdk_email import forms, signature, translate
from omnisdk_email.compose import compose, message_id_for
from omnisdk_email.context import Context
from omnisdk_email.imap import ImapTransport
from omnisdk_email.settings import DEFAULT_MAX_MESSAGE_BYTES, EmailSettings
from omnisdk_email.smtp import send_mail

RAW_MIME = "message/rfc822"
MAILGUN_TYPES = frozenset({forms.FORM, forms.MULTIPART})


class EmailAdapter(ChannelAdapter):
    """Verify and translate inbound mail on ``POST /webhooks/email/{account}``.

    Two forms, told apart by ``Content-Type``:

    - ``message/rfc822``: the body is the mail, signed as Standard Webhooks specifies
      (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; :mod:`omnisdk_email.signature`).
    - ``application/x-www-form-urlencoded`` or ``multipart/form-data``: a Mailgun route
      forwarding to a URL ending in ``mime`` (documentation.mailgun.com/docs/mailgun/
      user-manual/receive-forward-store/receive-http), the mail in ``body-mime``, signed by
      ``timestamp``/``token``/``signature`` with the account's ``mailgun_signing_key``.

    Args:
        account: the account name in the configuration.
        settings: :class:`EmailSettings` (or a dict of them).
    """

    name: ClassVar[str] = "email"
    channel: ClassVar[str] = Channel.EMAIL
    Settings: ClassVar[type[EmailSettings]] = EmailSettings
    max_body_bytes: ClassVar[int] = DEFAULT_MAX_MESSAGE_BYTES
    """The gateway's cap; each account's ``max_message_bytes`` is checked in parse()."""
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"

    settings: EmailSettings

    def __init__(self, account: str, settings: EmailSettings | dict[str, Any]) -> None:
        if not isinstance(settings, EmailSettings):
            settings = EmailSettings.model_validate(settings)
        super().__init__(account, settings)
        self._owned = frozenset(settings.addresses)
        self._last_form: tuple[bytes, dict[str, bytes]] | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake settings; ``support@example.com`` is the recordings' business."""
        return {
            "addresses": ["support@example.com"],
            "webhook_secret": "whsec_ZXhhbXBsZS13ZWJob29rLXNlY3JldC1rZXk=",  # base64 of an obvious fake
            "mailgun_signing_key": "example-mailgun-signing-key",
            "smtp": {"host": "smtp.example.com", "port": 587, "security": "starttls",
                     "username": "support@example.com", "password": "example-smtp-password"},
            "sender_name": "Example Support",
        }

    def business_addresses(self) -> frozenset[str]:
        """The account's ``addresses``."""
        return self._owned

    def default_business(self) -> str | None:
        """The first of ``addresses``."""
        return self.settings.addresses[0]

    def transports(self) -> list[ImapTransport]:
        """The account's IMAP mailbox (:mod:`omnisdk_email.imap`) when ``imap`` is set."""
        imap = self.settings.imap
        return [ImapTransport(self, imap)] if imap is not None else []

    def _form(self, body: bytes, content_type: str) -> dict[str, bytes]:
        last = self._last_form
        if last is not None and last[0] is body:
            return last[1]
        fields = forms.decode(body, content_type)
        self._last_form = (body, fields)
        return fields

    # --- inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check the Standard Webhooks headers of a raw-MIME post, or the Mailgun signature
        fields (both within five minutes of ``request.received_at``).

        Raises:
            SignatureError: missing, malformed, stale (Mailgun) or wrong signature; a content
                type that is neither form; a Mailgun post to an account without
                ``mailgun_signing_key``.
        """
        ctype = forms.media_type(request.headers.get("content-type"))
        if ctype == RAW_MIME:
            signature.verify_raw(secret_value(self.settings.webhook_secret), request.body, request.headers,
                                 received_at=request.received_at)
            return
        if ctype not in MAILGUN_TYPES:
            raise SignatureError("unsupported content type for a signed mail", reason="bad_signature")
        key = self.settings.mailgun_signing_key
        if key is None:
            raise SignatureError("Mailgun posts are not enabled for this account", reason="bad_signature")
        try:
            fields = self._form(request.body, request.headers.get("content-type") or "")
        except PayloadError:
            raise SignatureError("Mailgun post is not a readable form", reason="malformed_signature") from None

        def text(name: str) -> str | None:
            value = fields.get(name)
            if value is None:
                return None
            try:
                return value.decode("ascii")
            except UnicodeDecodeError:
                return "\x00"  # refused as malformed below

        signature.verify_mailgun(
            secret_value(key), text("timestamp"), text("token"), text("signature"),
            received_at=request.received_at,
        )

    def parse(self, request: WebhookRequest) -> list[Event]:
        """The events of the mail (see :mod:`omnisdk_email.translate`).

        Raises:
            PayloadError: an unreadable or oversize mail, a Mailgun post without
                ``body-mime`` (a route whose URL does not end in ``mime``).
        """
        ctype = forms.media_type(request.headers.get("content-type"))
        envelope_to: str | None = None
        if ctype in MAILGUN_TYPES:
            fields = self._form(request.body, request.headers.get("content-type") or "")
            body = fields.get("body-mime")
            if not body:
                raise PayloadError(
                    "Mailgun post has no body-mime: the route URL must end in 'mime'",
                    reason="missing_field",
                )
            rcpt = fields.get("recipient", b"").decode("utf-8", "replace").strip()
            envelope_to = rcpt.lower() if rcpt else None
        elif ctype == RAW_MIME or not ctype:
            body = request.body
        else:
            raise PayloadError(f"unsupported content type {ctype[:60]!r}", reason="malformed_payload")
        ctx = Context(
            source=self.source,
            received_at=request.received_at,
            addresses=self.settings.addresses,
            trusted_authserv_id=self.settings.trusted_authserv_id,
        )
        return translate.to_events(
            body, ctx, max_bytes=self.settings.max_message_bytes, envelope_to=envelope_to
        )

    # --- outbound ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Send one mail over SMTP, one attempt (the outbox retries what
        :func:`omnisdk.outbound.is_retryable` says).

        The headers are the ones the core fixed when it queued the mail
        (``message.email``: Message-ID, subject with our token, In-Reply-To, References,
        ``automatic``); without them (a send not queued by the core) the Message-ID is derived
        from ``idempotency_key`` (:func:`omnisdk_email.compose.message_id_for`) and the subject is
        the text's first line.  Every attempt is the same mail.  The sender is
        ``message.business`` or the account's first address, and must be one of the account's
        addresses.

        Returns:
            SendResult whose ``message_id`` is the mail's Message-ID (without ``<>``): bounces
            and read receipts name the mail by it.

        Raises:
            ValueError: no ``smtp`` settings, a sender that is not the account's, or a message
                the mail cannot carry (a template, media without URL).  OutboundError: the SMTP
                failure, typed (:mod:`omnisdk_email.smtp`).
        """
        smtp = self.settings.smtp
        if smtp is None:
            raise ValueError(f"email account {self.account!r} has no smtp settings: it cannot send")
        sender = (message.business or self.settings.addresses[0]).lower()
        if sender not in self._owned:
            raise ValueError("the sender is not one of this account's addresses")
        headers = message.email
        mid = headers.message_id if headers else message_id_for(idempotency_key, sender)
        first_line = (message.text or "").strip().split("\n")[0][:78]
        mail = compose(
            message, sender=sender, sender_name=self.settings.sender_name, message_id=mid,
            subject=headers.subject if headers else first_line,
            in_reply_to=headers.in_reply_to if headers else None,
            references=headers.references if headers else [],
            automatic=headers.automatic if headers else False,
            date=datetime.now(UTC),
        )
        sent = await send_mail(smtp, mail, recipients=[message.customer], sender=sender)
        return SendResult(message_id=sent, status="accepted")

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """The Standard Webhooks headers of a raw-MIME body, for replay, the demo and tests:
        ``webhook-id`` derived from the body (so one body always gets one id),
        ``webhook-timestamp`` now (the only clock read, never on the ingest path).

        Raises:
            ValueError: a form content type: Mailgun signs inside the form
                (:func:`omnisdk_email.signature.mailgun_signature` builds its fields).
        """
        if forms.media_type(content_type) in MAILGUN_TYPES:
            raise ValueError("Mailgun posts carry their signature in the form fields")
        msg_id = "msg_" + hashlib.sha256(body).hexdigest()[:24]
        return signature.sign_raw(secret_value(self.settings.webhook_secret), msg_id, int(time.time()), body)
