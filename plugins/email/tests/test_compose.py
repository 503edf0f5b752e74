"""compose.py: the exact header fields of outbound mail, threading, tokens, injection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from omnisdk.adapters import OutboundMedia, OutboundMessage, Template
from omnisdk_email.compose import (
    MAX_REFERENCES,
    compose,
    message_id_for,
    reply_subject,
    thread_references,
)

DATE = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)
MID = "outbox-1@acme.example"


def _compose(text: str = "Hello", **kwargs: object) -> EmailMessage:
    args: dict[str, object] = {
        "sender": "support@acme.example",
        "sender_name": "Acme Support",
        "message_id": MID,
        "subject": "Your question",
        "in_reply_to": None,
        "references": [],
        "date": DATE,
    }
    args.update(kwargs)
    return compose(OutboundMessage(customer="jane@example.com", text=text), **args)  # type: ignore[arg-type]


def _parse(msg: EmailMessage) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(msg.as_bytes())  # type: ignore[return-value]


def _header_block(msg: EmailMessage) -> bytes:
    return msg.as_bytes().split(b"\r\n\r\n", 1)[0]


def test_new_mail_headers_exact() -> None:
    msg = _compose()
    assert _header_block(msg) == (
        b"From: Acme Support <support@acme.example>\r\n"
        b"To: jane@example.com\r\n"
        b"Subject: Your question\r\n"
        b"Date: Wed, 01 May 2024 12:30:05 +0000\r\n"
        b"Message-ID: <outbox-1@acme.example>\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: 7bit\r\n"
        b"MIME-Version: 1.0"
    )
    assert "In-Reply-To" not in msg and "References" not in msg and "Auto-Submitted" not in msg
    assert msg.as_bytes().endswith(b"\r\n\r\nHello\r\n")


def test_date_written_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    msg = _compose(date=datetime(2024, 5, 1, 14, 30, 5, tzinfo=paris))
    assert msg["Date"] == "Wed, 01 May 2024 12:30:05 +0000"


def test_naive_date_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _compose(date=datetime(2024, 5, 1, 12, 0))


def test_reply_threading_headers_exact() -> None:
    msg = _compose(in_reply_to="<parent@mail.example.com>", references=["<root@a.example>", "mid@b.example"])
    parsed = _parse(msg)
    assert parsed["In-Reply-To"] == "<parent@mail.example.com>"
    assert parsed["References"].split() == ["<root@a.example>", "<mid@b.example>", "<parent@mail.example.com>"]
    assert parsed["Subject"] == "Re: Your question"


def test_references_capped_keeping_the_first_and_latest() -> None:
    refs = [f"r{i}@x.example" for i in range(40)]
    ids = _parse(_compose(in_reply_to="parent@x.example", references=refs))["References"].split()
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "<r0@x.example>"
    assert ids[-1] == "<parent@x.example>"
    assert ids[1:-1] == [f"<r{i}@x.example>" for i in range(40 - (MAX_REFERENCES - 2), 40)]


def test_references_dedupe_and_drop_malformed() -> None:
    assert thread_references(["a@x", "<a@x>", "bad id@x", "ü@x", "b@x"], "b@x") == ["a@x", "b@x"]
    assert thread_references([], None) == []


def test_long_msg_ids_are_never_rfc2047_encoded() -> None:
    long_id = "q" * 120 + "@mail.example.com"
    msg = _compose(in_reply_to=long_id, references=[f"{i}-{'y' * 50}@x.example" for i in range(5)])
    head = _header_block(msg).decode("ascii")
    assert "=?" not in head
    assert f"In-Reply-To: <{long_id}>" in head
    for line in head.split("\r\n"):
        if not line.startswith(("In-Reply-To", f" <{long_id}")):
            assert len(line) <= 78, line
    parsed = _parse(msg)
    assert parsed["References"].split()[-1] == f"<{long_id}>"
    assert len(parsed["References"].split()) == 6


def test_automatic_headers() -> None:
    msg = _compose(automatic=True)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_display_name_rfc2047_round_trip() -> None:
    name = "Équipe Support, Acme «Ünïcode»"
    msg = _compose(sender_name=name, subject="Grüße — über Ihre Frage")
    raw = _header_block(msg)
    raw.decode("ascii")  # every header is 7-bit: non-ASCII went into encoded words
    assert b"=?utf-8?" in raw
    parsed = _parse(msg)
    (addr,) = parsed["From"].addresses
    assert addr.display_name == name
    assert addr.addr_spec == "support@acme.example"
    assert parsed["Subject"] == "Grüße — über Ihre Frage"


def test_utf8_body_round_trip() -> None:
    parsed = _parse(_compose(text="Grüße\nzweite Zeile"))
    assert parsed.get_content_charset() == "utf-8"
    assert parsed["Content-Transfer-Encoding"] in {"8bit", "quoted-printable", "base64"}
    assert parsed.get_content().replace("\r\n", "\n") == "Grüße\nzweite Zeile\n"


@pytest.mark.parametrize("bad", ["Hi\r\nBcc: victim@evil.example", "Hi\nX: y", "Hi\rX: y"])
def test_subject_crlf_injection_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        _compose(subject=bad)


@pytest.mark.parametrize("bad", ["Acme\r\nBcc: victim@evil.example", "Acme\n"])
def test_display_name_crlf_injection_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        _compose(sender_name=bad)


def test_policy_itself_refuses_crlf() -> None:
    """The stdlib policy is a second line of defence: it refuses CR/LF in header values."""
    msg = EmailMessage(policy=policy.SMTP)
    with pytest.raises(ValueError):
        msg["Subject"] = "x\r\nBcc: victim@evil.example"


@pytest.mark.parametrize("field", ["in_reply_to", "message_id"])
def test_bad_ids_refused(field: str) -> None:
    with pytest.raises(ValueError):
        _compose(**{field: "a b@x\r\nBcc: e@v"})


def test_customer_must_be_an_address() -> None:
    with pytest.raises(ValueError):
        compose(OutboundMessage(customer="+14155550100", text="x"), sender="s@acme.example", sender_name=None,
                message_id=MID, subject="s", in_reply_to=None, references=[], date=DATE)


def test_media_urls_listed_in_text_never_fetched() -> None:
    message = OutboundMessage(customer="jane@example.com", text="See attached", media=[
        OutboundMedia(media_type="document", url="https://files.example/a.pdf", filename="a.pdf"),
        OutboundMedia(media_type="image", url="https://files.example/b.png", caption="The photo"),
    ])
    msg = compose(message, sender="s@acme.example", sender_name=None, message_id=MID, subject="s",
                  in_reply_to=None, references=[], date=DATE)
    assert not msg.is_multipart()
    assert msg.get_content() == (
        "See attached\n\na.pdf\nhttps://files.example/a.pdf\n\nThe photo\nhttps://files.example/b.png\n"
    )


def test_media_id_and_templates_refused() -> None:
    common = {"sender": "s@acme.example", "sender_name": None, "message_id": MID, "subject": "s",
              "in_reply_to": None, "references": [], "date": DATE}
    with pytest.raises(ValueError, match="URL"):
        compose(OutboundMessage(customer="j@example.com", media=[OutboundMedia(media_type="image", media_id="m1")]),
                **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="template"):
        compose(OutboundMessage(customer="j@example.com", template=Template(name="t", language="en")),
                **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="text or media"):
        compose(OutboundMessage(customer="j@example.com"), **common)  # type: ignore[arg-type]


def test_re_prefix_added_once() -> None:
    assert reply_subject("Printer broken") == "Re: Printer broken"
    assert reply_subject("Re: Printer broken") == "Re: Printer broken"
    assert reply_subject("RE:Printer broken") == "RE:Printer broken"
    msg = _compose(subject="Re: Printer [Case:CS1]", in_reply_to="p@x.example")
    assert msg["Subject"] == "Re: Printer [Case:CS1]"


def test_message_id_for_is_deterministic_and_domain_based() -> None:
    a = message_id_for("0b6f3c1e-7a1d-4c6e-9f5e-2d1b9a7c4e10", "Support@Acme.EXAMPLE")
    assert a == "0b6f3c1e-7a1d-4c6e-9f5e-2d1b9a7c4e10@acme.example"
    assert message_id_for("0b6f3c1e-7a1d-4c6e-9f5e-2d1b9a7c4e10", "sales@acme.example") == a
    assert message_id_for("other-key", "support@acme.example") != a
    assert message_id_for("k", "support@other.example") == "k@other.example"


def test_message_id_for_escapes_to_dot_atom() -> None:
    mid = message_id_for("outbox:42/ü. x%", "s@acme.example")
    assert mid == "outbox%3A42/%C3%BC%2E%20x%25@acme.example"
    assert message_id_for("a.b", "s@acme.example") != message_id_for("a%2Eb", "s@acme.example")
    long_mid = message_id_for("k" * 500, "s@acme.example")
    assert long_mid.startswith("sha256-") and long_mid.endswith("@acme.example")
    assert long_mid == message_id_for("k" * 500, "s@acme.example")
    parsed = _parse(_compose(message_id=mid))
    assert parsed["Message-ID"] == f"<{mid}>"


@pytest.mark.parametrize("sender", ["nodomain", "user@", "@acme.example", "user@bad domain", ""])
def test_message_id_for_needs_a_domain(sender: str) -> None:
    with pytest.raises(ValueError):
        message_id_for("key", sender)


def test_message_id_for_refuses_empty_key() -> None:
    with pytest.raises(ValueError):
        message_id_for("", "s@acme.example")
