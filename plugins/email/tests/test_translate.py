"""Real mails (flanker, talon, email-reply-parser fixtures) → CloudEvents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from mailparser_reply import EmailReplyParser

from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, TYPE_PROVIDER_NOTICE
from omnisdk.model import Message, StatusUpdate
from omnisdk_email import EmailAdapter, content, mime

DATA = Path(__file__).parent / "data"
REPLIES = DATA  # email_gmail.txt and email_2_1.txt, copied unchanged from zapier/email-reply-parser;
# email_de_wrap.txt and email_fr_wrap.txt (commit 3167489) and multiline_on_de.txt (commit e41fa56),
# copied unchanged from alfonsrv/mail-parser-reply test/emails


@pytest.mark.parametrize(
    ("name", "original", "customer", "code"),
    [
        ("bounce-mailbox-full", "4E326A95.3010907@example.com", "user@aol.com", "5.2.2"),
        ("bounce-office365", "20171013111011.20866.254C2F3A4D7AA526@ninomail.com",
         "noname@example.com", "5.1.10"),
        ("bounce-gmail-invalid-address", "CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com",
         "awfawfawfawfawfaw@someserverhere.com", "5.1.0"),
        ("thread_bounce_of_reply", "out-3@support.example.com", "old.address@customer.example", "5.1.1"),
    ],
)
def test_bounce_fails_the_original(name, original, customer, code, recs, parse):
    [event] = parse(recs[name].body)
    upd = StatusUpdate.model_validate(event.data)
    assert event.type == TYPE_MESSAGE_STATUS
    assert (upd.status, upd.message_id, upd.customer) == ("failed", original, customer)
    assert upd.error is not None and upd.error.code == code
    assert event.id.endswith(":" + customer) and event.subject == original


def test_delayed_dsn_is_a_notice_not_a_status(recs, parse):
    [event] = parse(recs["bounce-no-mx"].body)
    assert event.type == TYPE_PROVIDER_NOTICE and event.data["kind"] == "delivery_delayed"
    assert event.data["raw"]["original_message_id"] == "19E44CA63F984902B7D654F8FF40F89D@bo"


def test_bounce_without_original_id_is_a_notice(recs, parse):
    [event] = parse(recs["bounce-delayed"].body)
    assert event.type == TYPE_PROVIDER_NOTICE
    assert event.data["kind"] == "bounce" and event.data["raw"]["unmatched"] is True


def test_several_recipients_give_one_event_each(recs, parse):
    body = recs["thread_bounce_of_reply"].body.replace(
        b"\r\n--bnd-4711\r\nContent-Type: text/rfc822-headers",
        b"\r\nFinal-Recipient: rfc822; second@customer.example\r\nAction: failed\r\nStatus: 5.2.1\r\n"
        b"\r\n--bnd-4711\r\nContent-Type: text/rfc822-headers",
    )
    events = parse(body)
    assert [e.data["customer"] for e in events] == ["old.address@customer.example", "second@customer.example"]
    assert [e.data["error"]["code"] for e in events] == ["5.1.1", "5.2.1"]
    assert len({e.id for e in events}) == 2


def test_mdn_is_read(recs, parse):
    [event] = parse(recs["disposition-notification"].body)
    upd = StatusUpdate.model_validate(event.data)
    assert (upd.status, upd.message_id) == ("read", "199509192301.23456@example.org")
    assert event.time == "1995-09-20T04:19:00Z"  # "00:19:00 (EDT) -0400"


@pytest.mark.parametrize(("name", "original"), [
    ("complaints-aol", "20101117174130.28884.55421@luna"),
    ("complaints-yahoo", "20120711015015.4A8BE2E088E@www.example.com"),
])
def test_arf_is_a_spam_complaint_notice(name, original, recs, parse):
    [event] = parse(recs[name].body)
    assert event.type == TYPE_PROVIDER_NOTICE and event.data["kind"] == "spam_complaint"
    assert event.data["raw"]["feedback_type"] == "abuse"
    assert event.data["raw"]["original_message_id"] == original


@pytest.mark.parametrize(("name", "auto"), [
    ("thread_auto_reply", "auto-replied"),
    ("apache-message-news-mime", "bulk"),
    ("thread_new_question", None),
])
def test_automatic_mail_is_flagged(name, auto, recs, parse):
    [event] = parse(recs[name].body)
    assert event.type == TYPE_MESSAGE_RECEIVED
    assert Message.model_validate(event.data).email.auto == auto


def test_rfc2047_subject_and_bilingual_text(recs, parse):
    [event] = parse(recs["bilingual-simple"].body)
    msg = Message.model_validate(event.data)
    assert msg.email.subject == "Simple text. How are you? Как ты поживаешь?"
    assert msg.text == "This line is in English\nА эта линия по-русски."


def test_8bit_utf8_body(recs, parse):
    [event] = parse(recs["8bitmime"].body)
    assert event.data["text"] == "Превел\n\n123"
    assert event.data["customer_name"] == "bob"


def test_attached_pdf_metadata(parse):
    raw = (DATA / "attached-pdf.eml").read_bytes()
    msg = mime.parse(raw)
    [pdf] = content.attachments(msg)
    data = msg.get_payload()[1].get_payload(decode=True)
    assert pdf == {"media_type": "document", "mime_type": "application/pdf", "filename": "test.pdf",
                   "inline": False, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with pytest.raises(PayloadError, match="no From"):  # the fixture as published has no From
        parse(raw)


def test_quoted_history_stripped_like_email_reply_parser(recs, parse):
    [event] = parse(recs["reply_gmail"].body)
    msg = Message.model_validate(event.data)
    # zapier/email-reply-parser test/emails/email_gmail.txt: the new text is its first line
    expected = (REPLIES / "email_gmail.txt").read_text(encoding="utf-8").splitlines()[0]
    assert msg.text == expected
    assert msg.email.quoted is True
    assert "Steven Scott" in msg.email.full_text
    assert msg.email.in_reply_to == ["out-41@support.example.com"]


def test_replies_are_read_as_mail_parser_reply_reads_them(recs):
    """The patterns built once (content.read_reply) split every recording's text and the reply
    fixtures into the same replies, signatures and disclaimers as the library's own parser."""
    parser = EmailReplyParser(languages=list(content.REPLY_LANGUAGES))
    names = ("email_gmail.txt", "email_2_1.txt", "email_de_wrap.txt", "email_fr_wrap.txt", "multiline_on_de.txt")
    texts = [(REPLIES / name).read_text(encoding="utf-8") for name in names]
    for rec in recs.values():
        plain, html = content.bodies(mime.parse(rec.body))
        texts += [t for t in (plain, html and content.html_to_text(html)) if t]
    assert len(texts) > 20
    for text in texts:
        assert content.read_reply(text).replies == parser.read(text).replies
    # German reply headers ("Am So., 1. Jan. 2023 um 17:22 Uhr schrieb ...:") split the text, and
    # German and French closings ("Viele Grüße", "Cordialement") start the signature
    assert len(content.read_reply((REPLIES / "multiline_on_de.txt").read_text(encoding="utf-8")).replies) == 5
    for name, last in (("multiline_on_de.txt", "Am heutigen Tage"), ("email_de_wrap.txt", "kurz telefonieren."),
                       ("email_fr_wrap.txt", "la semaine prochaine.")):
        text, cut = content.new_text((REPLIES / name).read_text(encoding="utf-8"))
        assert cut and text.endswith(last), name


def test_html_only_mail_is_sanitised_and_converted(recs, parse):
    [event] = parse(recs["html_only_with_script"].body)
    msg = Message.model_validate(event.data)
    html = msg.email.html
    assert "script" not in html and "alert" not in html and "onload" not in html and "style" not in html
    assert "tracker.example" not in html and 'src="cid:logo@customer.example"' in html
    assert msg.text.startswith("Bonjour, where is order 4712?")
    assert msg.customer_name == "Renée Customer"
    assert msg.email.subject == "Question à propos de ma commande"


def test_missing_message_id_is_derived_stably(recs, parse):
    body = recs["dashed-boundaries"].body
    [a] = parse(body)
    [b] = parse(body)
    assert a.id == b.id == f"{hashlib.sha256(body).hexdigest()[:32]}@derived.omnisdk.invalid"
    assert a.data["email"]["message_id_derived"] is True


def test_business_is_the_account_address_written_to(recs, parse):
    body = recs["thread_new_question"].body.replace(
        b"To: Acme Support <support@example.com>", b"To: someone@else.example\r\nCc: Help <Help@Example.COM>")
    adapter = EmailAdapter("acme", {**EmailAdapter.example_settings(),
                                    "addresses": ["support@example.com", "help@example.com"]})
    from omnisdk.adapters import WebhookRequest

    [event] = adapter.parse(WebhookRequest("POST", "u", {"content-type": "message/rfc822"}, body))
    assert event.data["business"] == "help@example.com"
    assert event.partitionkey == "email/acme:email:help@example.com:maria@customer.example"


def test_authentication_results_only_from_the_trusted_mta(recs):
    from omnisdk.adapters import WebhookRequest

    body = recs["bilingual-simple"].body
    for trusted, expected in (("mx.google.com", {"spf": "pass", "dkim": "pass"}), (None, {}),
                              ("mx.other.example", {})):
        settings = {**EmailAdapter.example_settings(), "trusted_authserv_id": trusted}
        [event] = EmailAdapter("acme", settings).parse(
            WebhookRequest("POST", "u", {"content-type": "message/rfc822"}, body))
        assert event.data["email"]["authentication"] == expected


@pytest.mark.parametrize("body", [
    b"", b"\r\n\r\n", b"not a mail at all",
    b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
    b"To: support@example.com\r\nSubject: no sender\r\n\r\nhello\r\n",
    b"From: a@b.example\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nhi\r\n",
])
def test_malformed_mail_is_a_payload_error(body, adapter, webhook):
    with pytest.raises(PayloadError):
        adapter.parse(webhook(body))


def test_oversize_mail_names_its_size(recs):
    from omnisdk.adapters import WebhookRequest

    adapter = EmailAdapter("acme", {**EmailAdapter.example_settings(), "max_message_bytes": 1000})
    body = recs["bilingual-simple"].body
    with pytest.raises(PayloadError, match=f"{len(body)} bytes"):
        adapter.parse(WebhookRequest("POST", "u", {"content-type": "message/rfc822"}, body))
