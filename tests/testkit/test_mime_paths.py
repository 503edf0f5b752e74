"""The kit addresses a mail's header fields, their parameters and its report fields by path
(omnisdk.testkit.checks.mime_paths), on real report mails, and changes exactly the one value."""

from __future__ import annotations

import email
from email.policy import compat32
from pathlib import Path

from omnisdk.testkit.checks.body_paths import Body

DATA = Path(__file__).parent.parent / "data"
RFC822 = "message/rfc822"


def _body(name: str) -> Body:
    return Body.decode((DATA / name).read_bytes(), RFC822)


def test_a_dsn_s_report_type_and_action_are_addressed_and_changed_alone():
    body = _body("bounce-mailbox-full.eml")
    assert body.kind == "mime"
    assert body.matches(("header", "Content-Type", "report-type")) == [("header", "Content-Type", "report-type")]
    (action,) = body.matches(("part", "message/delivery-status", "Action"))
    assert body.get(action) == "failed"
    changed = Body.decode(body.replaced({action: "kit-undocumented"}), RFC822)
    assert changed.get(action) == "kit-undocumented"
    assert changed.get(("header", "Content-Type", "report-type")) == "delivery-status"
    same = email.message_from_bytes(body.replaced({}), policy=compat32)
    assert same["Message-ID"] == email.message_from_bytes((DATA / "bounce-mailbox-full.eml").read_bytes(),
                                                          policy=compat32)["Message-ID"]


def test_an_mdn_s_disposition_and_a_header_parameter():
    body = _body("disposition-notification.eml")
    (disposition,) = body.matches(("part", "message/disposition-notification", "Disposition"))
    assert body.get(disposition).endswith("displayed")
    retyped = Body.decode(body.replaced({("header", "Content-Type", "report-type"): "kit-undocumented"}), RFC822)
    assert retyped.get(("header", "Content-Type", "report-type")) == "kit-undocumented"
    assert retyped.get(disposition) == body.get(disposition)


def test_paths_that_select_nothing_and_bodies_that_are_no_mail():
    body = _body("disposition-notification.eml")
    assert body.matches(("part", "message/delivery-status", "Action")) == []
    assert body.matches(("header", "X-Not-There")) == []
    assert Body.decode(b"", RFC822).kind == "opaque"
    assert ("header", "From") in dict(body.leaves())
