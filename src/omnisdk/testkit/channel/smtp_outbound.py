"""The outbound rules for adapters that send mail over SMTP (suite ``outbound_protocol = "smtp"``).

Same rule ids as the HTTP checks of :mod:`omnisdk.testkit.channel.outbound`, judged on a real
SMTP server (:mod:`omnisdk.testkit.checks.smtp_api`) with SMTP's meanings:

- ``outbound.send_text`` / ``send_media``: one ``DATA``; ``SendResult.message_id`` is the mail's
  ``Message-ID`` (without ``<>``); ``RCPT TO`` is the customer;
- ``outbound.retry``: a transient reply (``451``, ``421``; RFC 5321 section 4.2.1) or a server
  that is down ends the attempt with an error the outbox retries
  (:func:`omnisdk.outbound.is_retryable`), and the next attempt succeeds;
- ``outbound.no_retry_4xx`` ("a refusal is final"): a permanent reply (``550``, ``553``,
  ``554``) ends the send with an ``APIStatusError`` the outbox does not retry, after one ``DATA``;
- ``outbound.idempotency``: every attempt under one idempotency key sends the same mail: the
  same ``Message-ID`` and the same bytes but for the ``Date`` header;
- ``outbound.typed_errors``: failures are :class:`~omnisdk.outbound.OutboundError`.
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from email.policy import compat32
from typing import ClassVar

from omnisdk.adapters import OutboundMessage, SendResult
from omnisdk.outbound import APIStatusError, OutboundError, is_retryable
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.fixture import ChannelFixture
from omnisdk.testkit.checks.provider_api import describe_error
from omnisdk.testkit.checks.smtp_api import SmtpReply, SmtpRun, run_smtp_send

PERMANENT = (550, 553, 554)
TRANSIENT = (451, 421)
_DATE = re.compile(rb"^Date:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n", re.MULTILINE | re.IGNORECASE)


def message_id_of(mail: bytes) -> str:
    """The ``Message-ID`` of a mail, without ``<>`` (empty when it has none)."""
    value = email.message_from_bytes(mail, policy=compat32).get("Message-ID") or ""
    return str(value).strip().strip("<>").strip()


def without_date(mail: bytes) -> bytes:
    """The mail without its ``Date`` header field (an attempt's own time)."""
    return _DATE.sub(b"", mail, count=1)


class SmtpOutboundChecks:
    """The SMTP bodies of the outbound rules (called by the rules' tests)."""

    _omnisdk_kit_class: ClassVar[bool] = True
    fixture: ClassVar[Callable[[], ChannelFixture]]
    smtp_setting: ClassVar[str]
    text_message: Callable[..., OutboundMessage]
    media_message: Callable[..., OutboundMessage]

    def _smtp(self, script: list[SmtpReply], message: OutboundMessage | None = None) -> SmtpRun:
        fx = type(self).fixture()
        base = fx.raw_settings.get(self.smtp_setting)
        if not isinstance(base, dict):
            fail("outbound.send_text", f"outbound_protocol is 'smtp' but the example settings have no "
                 f"{self.smtp_setting!r} mapping (host, port, security, credentials) for the kit to redirect")
        return run_smtp_send(fx.adapter, message or self.text_message(), script, setting=self.smtp_setting,
                             base=dict(base))

    def _smtp_success(self, rule_id: str, run: SmtpRun, what: str, mails: int) -> None:
        if run.error is not None:
            fail(rule_id, f"{what}: send() raised {describe_error(run.error)}")
        if not isinstance(run.result, SendResult) or not run.result.message_id:
            fail(rule_id, f"{what}: send() returned {run.result!r}, not a SendResult with the mail's Message-ID")
        if len(run.mails) != mails:
            fail(rule_id, f"{what}: expected {mails} mail(s) at the SMTP server, saw {len(run.mails)}")
        sent = message_id_of(run.mails[-1])
        if run.result is not None and run.result.message_id != sent:
            fail(rule_id, f"{what}: SendResult.message_id {run.result.message_id!r} is not the mail's "
                 f"Message-ID {sent!r}: replies and bounces name the mail by it")

    def smtp_send(self, rule_id: str, message: OutboundMessage, what: str) -> None:
        """``outbound.send_text`` / ``send_media``: one mail, to the customer, its Message-ID returned."""
        run = self._smtp([SmtpReply()], message)
        self._smtp_success(rule_id, run, what, 1)
        _, rcpt = run.envelopes[0]
        if [r.lower() for r in rcpt] != [message.customer.lower()]:
            fail(rule_id, f"{what}: RCPT TO was {rcpt}, not the customer {message.customer!r}")

    def smtp_retry(self) -> None:
        """``outbound.retry``: transient replies and a server that is down are retried."""
        for code in TRANSIENT:
            run = self._smtp([SmtpReply(code, "4.3.0 try again later"), SmtpReply()])
            first = run.errors[0] if run.errors else None
            if first is None or not is_retryable(first):
                fail("outbound.retry", f"a {code} reply ended the send with {describe_error(first)}, which the "
                     "outbox does not retry: map transient SMTP replies to a retryable OutboundError")
            self._smtp_success("outbound.retry", run, f"{code} then 250", 2)
        run = self._smtp([SmtpReply(down=True), SmtpReply()])
        first = run.errors[0] if run.errors else None
        if first is None or not is_retryable(first):
            fail("outbound.retry", f"a refused connection ended the send with {describe_error(first)}, which "
                 "the outbox does not retry (raise APIConnectionError)")
        self._smtp_success("outbound.retry", run, "connection refused, then 250", 1)

    def smtp_no_retry(self) -> None:
        """``outbound.no_retry_4xx``: a permanent refusal is final."""
        problems = []
        for code in PERMANENT:
            run = self._smtp([SmtpReply(code, "5.1.1 testkit refusal"), SmtpReply()])
            first = run.errors[0] if run.errors else None
            if not isinstance(first, APIStatusError):
                problems.append(f"{code}: send() ended with {describe_error(first)}, not an APIStatusError")
            elif is_retryable(first):
                problems.append(f"{code}: the error is retryable (status_code {first.status_code}): the outbox "
                                "would send the refused mail again")
            if len(run.mails) != 1:
                problems.append(f"{code}: {len(run.mails)} mails reached the server")
        if problems:
            fail("outbound.no_retry_4xx", "a permanent SMTP refusal must end the send for good:\n  "
                 + "\n  ".join(problems))

    def smtp_idempotency(self) -> None:
        """``outbound.idempotency``: one key, one mail, whatever the attempts."""
        run = self._smtp([SmtpReply(451, "4.3.0 try again"), SmtpReply(421, "4.3.2 closing"), SmtpReply()])
        if len(run.mails) < 2:
            fail("outbound.idempotency", f"only {len(run.mails)} attempt reached the server (see outbound.retry)")
        ids = [message_id_of(m) for m in run.mails]
        if not ids[0] or len(set(ids)) > 1:
            fail("outbound.idempotency", f"the Message-ID changed between attempts ({ids}): the customer would "
                 "get the mail twice; derive it from the idempotency key, or use the one the core fixed")
        if len({without_date(m) for m in run.mails}) > 1:
            fail("outbound.idempotency", "the mail changed between attempts (beyond its Date)")

    def smtp_typed_errors(self) -> None:
        """``outbound.typed_errors``: every failure is an OutboundError."""
        problems = []
        for label, script in (("550", [SmtpReply(550, "5.7.1 relay denied")]), ("554", [SmtpReply(554, "5.0.0 no")]),
                              ("451", [SmtpReply(451, "4.3.0 later")]), ("connection refused", [SmtpReply(down=True)])):
            run = self._smtp(script)
            if run.error is None:
                problems.append(f"{label}: send() returned {run.result!r} instead of raising")
            elif not isinstance(run.error, OutboundError):
                problems.append(f"{label}: send() raised {describe_error(run.error)}; expected an OutboundError")
        if problems:
            fail("outbound.typed_errors", "failed sends must raise omnisdk.outbound errors:\n  " + "\n  ".join(problems))

