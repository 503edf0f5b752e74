"""Self-tests of the SMTP outbound rules (``outbound_protocol = "smtp"``): the correct mail
sample passes every outbound rule on the kit's SMTP server; each seeded defect of
:mod:`kit_smtp_sample` fails the rule that names it."""

from __future__ import annotations

import pytest
from kit_runner import failed_rules, rule, run

pytest_plugins = ["pytester"]

MAIL = """
from omnisdk.testkit import ChannelAdapterSuite
import kit_smtp_sample as m


class Base(ChannelAdapterSuite):
    capabilities = {"inbound", "statuses", "send_text", "send_media"}
    tier = "gold"
    fuzz_examples = 10
    signing_secrets = ("secret",)
    outbound_protocol = "smtp"
    outbound_mapping = {"to": ("header", "To"), "text": ("body", "text/plain"),
                        "media.url": ("body", "text/plain", "*"), "media.caption": ("body", "text/plain", "*"),
                        # mail threads by In-Reply-To (OutboundMessage.email) and links its media
                        "reply_to": None, "media.id": None, "media.filename": None}
"""
SELECT = ("test_send_text or test_send_media or test_429 or test_5xx or test_no_retry or test_idempotency "
          "or test_typed_errors or test_round_trip or test_credentials or test_secrets")
DEFECTS = {
    "TestRandomMessageId": ("m.RandomMessageId", {"outbound.idempotency"},
                            ("outbound.idempotency", "the Message-ID changed between attempts")),
    "TestPermanentRetried": ("m.PermanentRetried", {"outbound.no_retry_4xx"},
                             ("outbound.no_retry_4xx", "550: the error is retryable (status_code 503)")),
    "TestTransientFinal": ("m.TransientFinal", {"outbound.retry", "outbound.idempotency"},
                           ("outbound.retry", "a 451 reply ended the send with BadRequestError")),
    # caught by outbound.credentials alone (secrets.redacted saw it only while the kit's SMTP
    # server logged the mail it received: by luck)
    "TestPasswordInHeader": ("m.PasswordInHeader", {"outbound.credentials"},
                             ("outbound.credentials", "mail 1: the mail carries the value of the secret "
                              "setting smtp_password (as is)")),
}


def test_the_mail_sample_passes_and_each_smtp_defect_fails_its_rule(pytester):
    body = "\nclass TestGood(Base):\n    adapter = m.MailSample\n"
    for cls, (adapter, _, _) in DEFECTS.items():
        body += f"\nclass {cls}(Base):\n    adapter = {adapter}\n"
    result, suites = run(pytester, body, "-k", SELECT, header=MAIL)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    good = suites["TestGood"]
    assert failed_rules(good) == set()
    passed = {r["id"] for r in good["rules"] if r["status"] == "passed"}
    assert {"outbound.send_text", "outbound.retry", "outbound.no_retry_4xx", "outbound.idempotency",
            "outbound.typed_errors", "outbound.send_media", "outbound.round_trip", "outbound.credentials"} <= passed
    for cls, (_, expected, (rule_id, phrase)) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == expected, (cls, failed_rules(suite))
        message = rule(suite, rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)
