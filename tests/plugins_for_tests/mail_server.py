"""A real SMTP server for tests of the email plugin's sends: aiosmtpd's Controller on
127.0.0.1 and a free port (its own thread and loop), recording every mail it accepts; and the
email account's example settings pointed at it (clear text, allowed to loopback only)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class MailRecorder:
    """aiosmtpd handler: keeps each accepted mail, parsed (``email.message.EmailMessage``)."""

    mails: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        data = envelope.original_content or envelope.content
        self.mails.append(BytesParser(policy=policy.default).parsebytes(data))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 2.0.0 Message accepted for delivery"


def _accept_any(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True)


@contextmanager
def smtp_server() -> Iterator[tuple[int, MailRecorder]]:
    """An SMTP server on 127.0.0.1; yields its port and the recorder."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    recorder = MailRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, server_hostname="mx.test",
                            authenticator=_accept_any, auth_require_tls=False)
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()


def mail_account(example: dict[str, Any], port: int) -> dict[str, Any]:
    """The account's example settings sending through the test server on ``port``."""
    return {**example, "smtp": {**example["smtp"], "host": "127.0.0.1", "port": port, "security": "none"}}


def text_of(mail: EmailMessage) -> str:
    """The mail's plain-text body."""
    part = mail.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""  # type: ignore[union-attr]
