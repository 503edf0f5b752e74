"""Sample mail adapters for the kit's SMTP outbound rules: one correct, one per seeded defect.

:class:`MailSample` is :class:`kit_sample.GoodAdapter` (same webhooks and recordings) that
sends mail through an SMTP server with aiosmtplib instead of calling an HTTP API: the suite
declares ``outbound_protocol = "smtp"`` and the kit points ``smtp`` at its own server.  SMTP
replies map onto the core's errors as the email plugin maps them: 4yz → InternalServerError
(503, retried by the outbox), 5yz → UnprocessableEntityError (422, final), no connection →
APIConnectionError.
"""

from __future__ import annotations

import hashlib
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from kit_sample import GoodAdapter, KitSettings
from pydantic import SecretStr

from omnisdk.adapters import OutboundMessage, SendResult, secret_value
from omnisdk.outbound import APIConnectionError, BadRequestError, InternalServerError, OutboundError
from omnisdk.outbound.errors import UnprocessableEntityError


class MailSettings(KitSettings):
    smtp: dict[str, Any]
    smtp_password: SecretStr


class MailSample(GoodAdapter):
    """Sends each message as one mail whose Message-ID comes from the idempotency key."""

    Settings = MailSettings

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {**super().example_settings(), "smtp_password": "kit-smtp-password-9",
                "smtp": {"host": "smtp.kit.invalid", "port": 587, "security": "starttls", "username": "kit"}}

    def mail_id(self, key: str) -> str:
        return f"kit.{hashlib.sha256(key.encode()).hexdigest()[:24]}@kit.invalid"

    def mail(self, message: OutboundMessage, mid: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "support@kit.invalid", message.customer, "kit"
        msg["Message-ID"] = f"<{mid}>"
        lines = [message.text] if message.text else []
        lines += [f"{m.caption or m.media_type}\n{m.url}" for m in message.media]
        msg.set_content("\n\n".join(lines) + "\n")
        return msg

    def classify(self, code: int, text: str) -> OutboundError:
        cls = InternalServerError if 400 <= code < 500 else UnprocessableEntityError
        return cls(f"kit smtp: {code} {text}", provider="kit", status_code=503 if cls is InternalServerError else 422)

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        smtp = self.settings.smtp
        mid = self.mail_id(idempotency_key)
        try:
            await aiosmtplib.send(self.mail(message, mid), hostname=smtp["host"], port=smtp["port"],
                                  username=smtp.get("username"), password=secret_value(self.settings.smtp_password),
                                  start_tls=False, use_tls=False, timeout=10)
        except aiosmtplib.SMTPResponseException as exc:
            raise self.classify(exc.code, exc.message) from None
        except (aiosmtplib.SMTPConnectError, OSError) as exc:
            raise APIConnectionError(f"kit smtp: {type(exc).__name__}", provider="kit") from None
        return SendResult(message_id=mid, status="accepted")


class RandomMessageId(MailSample):
    """Defect: a new Message-ID on every attempt: a retried send is another mail."""

    def mail_id(self, key: str) -> str:
        return f"{uuid.uuid4().hex}@kit.invalid"


class PermanentRetried(MailSample):
    """Defect: every refusal is taken as transient, so a 550 is sent again and again."""

    def classify(self, code: int, text: str) -> OutboundError:
        return InternalServerError(f"kit smtp: {code}", provider="kit", status_code=503)


class TransientFinal(MailSample):
    """Defect: a 451 (greylisting, a full queue) is taken as final: the mail is lost."""

    def classify(self, code: int, text: str) -> OutboundError:
        return BadRequestError(f"kit smtp: {code}", provider="kit", status_code=400)


class PasswordInHeader(MailSample):
    """Defect: the SMTP password travels in a header of every mail ("for the relay")."""

    def mail(self, message: OutboundMessage, mid: str) -> EmailMessage:
        msg = super().mail(message, mid)
        msg["X-Relay-Auth"] = secret_value(self.settings.smtp_password)
        return msg
