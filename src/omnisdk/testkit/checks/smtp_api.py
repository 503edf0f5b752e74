"""Outbound sends against a real SMTP server the kit runs on loopback (aiosmtpd).

For adapters that send mail (suite ``outbound_protocol = "smtp"``), the kit points the account's
SMTP settings (the settings field ``smtp_setting`` names, a mapping with ``host``, ``port`` and
``security``) at an aiosmtpd server on 127.0.0.1 with ``security = "none"``, answers each
``DATA`` from a script of SMTP replies, and records every mail and its envelope.  The server
offers AUTH and accepts any credentials, so an adapter that logs in is served.

Retries are the outbox's, not the adapter's: one ``send()`` is one attempt, and the rules judge
the error it raises with :func:`omnisdk.outbound.is_retryable` (the outbox's decision).  A
"retry" run therefore calls ``send()`` again, with the same idempotency key, after a refusal.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from omnisdk.adapters import ChannelAdapter, OutboundMessage, SendResult
from omnisdk.outbound import is_retryable
from omnisdk.testkit.checks.provider_api import IDEMPOTENCY_KEY

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class SmtpReply:
    """One scripted answer to ``DATA`` (RFC 5321 section 4.2): ``code`` and text; ``down``
    makes that attempt meet a closed port (connection refused)."""

    code: int = 250
    text: str = "2.0.0 Ok: queued"
    down: bool = False


@dataclass
class SmtpRun:
    """What the attempts of one scripted send did: the last result or error, every error,
    and each mail the server received with its envelope."""

    result: SendResult | None
    error: BaseException | None
    errors: list[BaseException | None]
    mails: list[bytes]
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


class _Handler:
    def __init__(self, script: Sequence[SmtpReply]) -> None:
        self.script = [r for r in script if not r.down] or [SmtpReply()]
        self.mails: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.mails.append(bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        reply = self.script[min(len(self.mails), len(self.script)) - 1]
        return f"{reply.code} {reply.text}"


def _accept_any(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def run_smtp_send(
    make_adapter: Callable[..., ChannelAdapter],
    message: OutboundMessage,
    script: Sequence[SmtpReply],
    *,
    setting: str,
    base: dict[str, Any],
    key: str = IDEMPOTENCY_KEY,
) -> SmtpRun:
    """Call ``send(message, idempotency_key=key)`` once per entry of ``script``, as the outbox
    would (stopping at a success or at an error it does not retry), against the kit's SMTP
    server; ``base`` is the account's own SMTP
    settings (credentials kept, host/port/security replaced).  Never raises."""
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd warns of its own deprecated field on AUTH
    handler = _Handler(script)
    port = _closed_port()  # a free port (aiosmtpd's start-up check connects to the port it is given)
    controller = Controller(handler, hostname=HOST, port=port, authenticator=_accept_any,
                            auth_require_tls=False, auth_required=False)
    controller.start()
    try:

        async def go() -> SmtpRun:
            errors: list[BaseException | None] = []
            result: SendResult | None = None
            for reply in script:
                target = {**base, "host": HOST, "port": _closed_port() if reply.down else port, "security": "none"}
                adapter = make_adapter(**{setting: target})
                try:
                    result = await adapter.send(message, idempotency_key=key)
                    errors.append(None)
                except Exception as exc:  # recorded for the caller to judge
                    errors.append(exc)
                finally:
                    try:
                        await adapter.aclose()
                    except Exception as exc:  # reported like a send error
                        errors[-1] = errors[-1] or exc
                if errors[-1] is None or not is_retryable(errors[-1]):  # the outbox would stop here too
                    break
            return SmtpRun(result, errors[-1] if errors else None, errors, handler.mails, handler.envelopes)

        return asyncio.run(go())
    finally:
        controller.stop()
