"""The outbound standard tests of :class:`~omnisdk.testkit.ChannelAdapterSuite` (sends against a
respx-mocked provider API on a fake clock, see :mod:`omnisdk.testkit.checks.provider_api`) and
the secrets test.  Each test fails with ``[rule id] what is wrong``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from omnisdk.adapters import OutboundMedia, OutboundMessage, SendResult, Template, WebhookRequest
from omnisdk.events import TYPE_MESSAGE_RECEIVED
from omnisdk.outbound.errors import APIStatusError, OutboundError
from omnisdk.testkit import fuzz
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.fixture import ChannelFixture
from omnisdk.testkit.channel.smtp_outbound import SmtpOutboundChecks
from omnisdk.testkit.checks.leaks import leaks, secret_values, with_other_secrets
from omnisdk.testkit.checks.provider_api import (
    IDEMPOTENCY_KEY,
    Reply,
    SendRun,
    describe_error,
    run_send,
)
from omnisdk.testkit.checks.signatures import malformed_values
from omnisdk.testkit.checks.smtp_api import SmtpReply
from omnisdk.testkit.rules import rule

DEFAULT_CUSTOMER = "+15550100002"
NO_RETRY_STATUSES = (400, 401, 403, 404, 409, 422)


class OutboundChecks(SmtpOutboundChecks):
    """Mixin of the outbound standard tests and the secrets test.  With ``outbound_protocol =
    "smtp"`` the outbound rules run on the kit's SMTP server instead
    (:mod:`omnisdk.testkit.channel.smtp_outbound`)."""

    _omnisdk_kit_class: ClassVar[bool] = True
    outbound_protocol: ClassVar[str] = "http"
    fixture: ClassVar[Callable[[], ChannelFixture]]
    capabilities: ClassVar[Any]
    send_customer: ClassVar[str | None]
    handshake_query: ClassVar[Any]

    # --- helpers -------------------------------------------------------------------------

    def _customer(self) -> str:
        if self.send_customer:
            return self.send_customer
        fx = type(self).fixture()
        for rec in fx.recordings:
            try:
                events = fx.parsed(rec)
            except Exception:
                continue
            for e in events:
                if e.type == TYPE_MESSAGE_RECEIVED and isinstance((e.data or {}).get("customer"), str):
                    return e.data["customer"]  # type: ignore[index]
        return DEFAULT_CUSTOMER

    def text_message(self) -> OutboundMessage:
        """The message the kit sends in the text checks."""
        return OutboundMessage(customer=self._customer(), text="Hello from the omnisdk test kit")

    def media_message(self) -> OutboundMessage:
        """The message the kit sends in the media check (one image by public URL)."""
        return OutboundMessage(customer=self._customer(), media=[OutboundMedia(
            media_type="image", url="https://media.example.test/testkit.jpg", caption="testkit")])

    def template_message(self) -> OutboundMessage:
        """The message the kit sends in the template check."""
        return OutboundMessage(customer=self._customer(),
                               template=Template(name="testkit_template", language="en_US"))

    def _send(self, script: list[Reply], message: OutboundMessage | None = None) -> SendRun:
        fx = type(self).fixture()
        return run_send(fx.adapter, message or self.text_message(), script)

    def _ok(self, n: int = 1) -> Reply:
        return Reply(200, json=type(self).fixture().adapter_cls.sandbox_reply(n))

    def _expect_success(self, rule_id: str, run: SendRun, what: str, attempts: int) -> None:
        if run.error is not None:
            fail(rule_id, f"{what}: send() raised {describe_error(run.error)}")
        if not isinstance(run.result, SendResult) or not isinstance(run.result.message_id, str) \
                or not run.result.message_id:
            fail(rule_id, f"{what}: send() returned {run.result!r}, not a SendResult with the provider's message id")
        if len(run.requests) != attempts:
            fail(rule_id, f"{what}: expected {attempts} request(s) to the provider, saw {len(run.requests)}")

    # --- outbound.* ----------------------------------------------------------------------

    @rule("outbound.send_text")
    def test_send_text(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_send("outbound.send_text", self.text_message(), "a text mail answered 250")
        run = self._send([self._ok(1)])
        self._expect_success("outbound.send_text", run, "a text send answered 200", 1)
        reply = json.dumps(type(self).fixture().adapter_cls.sandbox_reply(1))
        if run.result is not None and run.result.message_id not in reply:
            fail("outbound.send_text", f"SendResult.message_id {run.result.message_id!r} is not in the "
                 f"provider's answer (sandbox_reply(1)): it must be the provider's own id")

    @rule("outbound.retry")
    def test_429_is_retried_after_retry_after(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_retry()
        run = self._send([Reply(429, headers={"Retry-After": "2"}, json={}), self._ok(1)])
        if len(run.requests) < 2:
            fail("outbound.retry", f"a 429 was not retried (send() ended with {describe_error(run.error)})")
        self._expect_success("outbound.retry", run, "429 then 200", 2)
        if not run.waits or abs(run.waits[0] - 2.0) > 1e-6:
            fail("outbound.retry", f"after a 429 with Retry-After: 2 the client waited {run.waits}, not "
                 "[2.0]: honour Retry-After (send through omnisdk.outbound.ProviderClient)")

    @rule("outbound.retry")
    def test_5xx_is_retried(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_retry()
        run = self._send([Reply(503), self._ok(1)])
        if len(run.requests) < 2:
            fail("outbound.retry", f"a 503 was not retried (send() ended with {describe_error(run.error)})")
        self._expect_success("outbound.retry", run, "503 then 200", 2)
        run = self._send([Reply(500, text="oops")])
        if len(run.requests) < 2:
            fail("outbound.retry", "a persistent 500 was tried only once")
        if not isinstance(run.error, OutboundError):
            fail("outbound.retry", f"a persistent 500 ended with {describe_error(run.error)}, not an OutboundError")

    @rule("outbound.no_retry_4xx")
    def test_no_retry_on_4xx(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_no_retry()
        problems = []
        for status in NO_RETRY_STATUSES:
            run = self._send([Reply(status, json={"error": {"message": "testkit refusal"}}), self._ok(1)])
            if len(run.requests) != 1:
                problems.append(f"{status}: {len(run.requests)} requests (a 4xx must not be retried)")
            elif not (isinstance(run.error, APIStatusError) and run.error.status_code == status):
                problems.append(f"{status}: send() ended with {describe_error(run.error)}, not an "
                                f"APIStatusError with status_code {status}")
        if problems:
            fail("outbound.no_retry_4xx", "a 4xx answer must end the send with its APIStatusError:\n  " + "\n  ".join(problems))

    @rule("outbound.idempotency")
    def test_idempotency_key_unchanged_across_retries(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_idempotency()
        run = self._send([Reply(503), Reply(429, headers={"Retry-After": "1"}, json={}), self._ok(1)])
        if len(run.requests) < 2:
            fail("outbound.idempotency", "send() made a single attempt on a 503, so the key could not be "
                 "checked across retries (see outbound.retry)")
        carriers = run.keys(IDEMPOTENCY_KEY)
        if not carriers[0]:
            named = [{k: v for k, v in r.headers.items() if "idempot" in k.lower()} for r in run.requests]
            if any(named) and len({tuple(sorted(n.items())) for n in named}) > 1:
                fail("outbound.idempotency", f"the idempotency key changed between attempts ({named}): a retry "
                     "could send the message twice; pass the caller's idempotency_key unchanged")
            fail("outbound.idempotency", "no header of the first attempt carries the idempotency_key send() "
                 "was given: pass it to ProviderClient.request(idempotency_key=...)")
        for i, names in enumerate(carriers[1:], start=2):
            if names != carriers[0]:
                fail("outbound.idempotency", f"attempt {i} does not carry the idempotency key in "
                     f"{sorted(carriers[0])} as attempt 1 did: a retry could send the message twice")
        bodies = {r.content for r in run.requests}
        if len(bodies) > 1:
            fail("outbound.idempotency", "the request body changed between attempts")

    @rule("outbound.typed_errors")
    def test_typed_errors(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_typed_errors()
        problems = []
        cases: list[tuple[str, list[Reply], tuple[type[BaseException], ...]]] = [
            ("400 with a JSON error", [Reply(400, json={"error": "bad"})], (OutboundError,)),
            ("500 with an HTML body", [Reply(500, text="<html>oops</html>")], (OutboundError,)),
            ("connection refused", [Reply(error=httpx.ConnectError)], (OutboundError,)),
            ("read timeout", [Reply(error=httpx.ReadTimeout)], (OutboundError,)),
            ("200 with {}", [Reply(200, json={})], (OutboundError, ValueError)),
            ("200 with an HTML body", [Reply(200, text="<html>ok</html>")], (OutboundError, ValueError)),
        ]
        for label, script, allowed in cases:
            run = self._send(script)
            if run.error is None:
                problems.append(f"{label}: send() returned {run.result!r} instead of raising")
            elif not isinstance(run.error, allowed):
                problems.append(f"{label}: send() raised {describe_error(run.error)}; expected "
                                f"{' or '.join(a.__name__ for a in allowed)}")
        if problems:
            fail("outbound.typed_errors", "failed sends must raise omnisdk.outbound errors:\n  "
                 + "\n  ".join(problems))

    @rule("outbound.send_media")
    def test_send_media(self) -> None:
        if self.outbound_protocol == "smtp":
            return self.smtp_send("outbound.send_media", self.media_message(), "an image mail answered 250")
        run = self._send([self._ok(1)], self.media_message())
        self._expect_success("outbound.send_media", run, "an image send answered 200", 1)

    @rule("outbound.send_template")
    def test_send_template(self) -> None:
        run = self._send([self._ok(1)], self.template_message())
        self._expect_success("outbound.send_template", run, "a template send answered 200", 1)

    # --- secrets.redacted ----------------------------------------------------------------

    @rule("secrets.redacted")
    def test_secrets_never_leak(self, caplog: Any) -> None:
        fx = type(self).fixture()
        caplog.set_level(logging.DEBUG)
        secrets = secret_values(fx.settings())
        if not secrets:
            return
        settings = fx.settings()
        adapter = fx.adapter()
        texts: list[tuple[str, str]] = [
            ("repr(adapter)", repr(adapter)), ("str(adapter)", str(adapter)),
            ("repr(settings)", repr(settings)), ("str(settings)", str(settings)),
            ("settings.model_dump_json()", settings.model_dump_json()),
        ]

        def record(where: str, exc: BaseException) -> None:
            texts.append((f"str({where})", str(exc)))
            texts.append((f"repr({where})", repr(exc)))

        if "inbound" in self.capabilities and fx.recordings:
            rec = fx.recordings[0]
            try:
                forger = fx.adapter_cls(fx.account, with_other_secrets(settings))
            except Exception:
                forger = None
            requests = [("verify() of a valid request", fx.request(rec, signed_by=adapter)),
                        ("verify() without signature", fx.request(rec))]
            if forger is not None:
                requests.append(("verify() of a forged request", fx.request(rec, signed_by=forger)))
            for name, value in fx.sign(adapter, rec.body, rec.content_type).items():
                requests.append((f"verify() with a malformed {name}",
                                 fx.request(rec, signed_by=adapter, headers={name: malformed_values(value)[2]})))
            for where, request in requests:
                try:
                    adapter.verify(request)
                except Exception as exc:
                    record(f"error of {where}", exc)
            for body in (*fuzz.HAND_PICKED[:12], rec.body, rec.body[: len(rec.body) // 2]):
                try:
                    adapter.parse(fx.request(rec, body=body))
                except Exception as exc:
                    record("error of parse()", exc)
        if "handshake" in self.capabilities and self.handshake_query:
            for q in ({}, {k: "wrong" for k in self.handshake_query}):
                try:
                    adapter.handshake(WebhookRequest("GET", fx.url, {}, b"", q))
                except Exception as exc:
                    record("error of handshake()", exc)
        if "send_text" in self.capabilities and self.outbound_protocol == "smtp":
            for smtp_script in ([SmtpReply(451, "4.3.0 later")], [SmtpReply(535, "5.7.8 bad credentials")],
                                [SmtpReply(down=True)], [SmtpReply()]):
                smtp_run = self._smtp(smtp_script)
                for exc in smtp_run.errors:
                    if exc is not None:
                        record("error of send()", exc)
                texts.append(("repr(SendResult)", repr(smtp_run.result)))
        elif "send_text" in self.capabilities:
            for script in ([Reply(503), Reply(401, json={"error": "unauthorized"})],
                           [Reply(200, json={})], [Reply(error=httpx.ConnectError)], [self._ok(1)]):
                run = self._send(script)
                if run.error is not None:
                    record("error of send()", run.error)
                texts.append(("repr(SendResult)", repr(run.result)))
        texts.append(("the log", caplog.text))
        found = leaks(secrets, texts)
        if found:
            fail("secrets.redacted", "the value of a secret setting appears in: " + ", ".join(dict.fromkeys(found)))
