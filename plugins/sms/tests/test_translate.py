"""Recorded Twilio webhooks → CloudEvents; mapping rules; malformed input → PayloadError."""

from __future__ import annotations

import importlib.metadata
from urllib.parse import parse_qsl, urlencode

import pytest

from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, dumps, loads
from omnisdk.model import Message, StatusUpdate
from omnisdk_sms import TwilioSmsAdapter, plugin
from omnisdk_sms.translate import STATUS_MAP, media_type

RECEIVED_AT = "2025-11-21T15:42:00Z"
OUT_SID = "SMe408ce93b706564c33351e479226d335"

# name → (event type, event id, status or kind)
EXPECTED = {
    "inbound_sms": (TYPE_MESSAGE_RECEIVED, "SM25b73341926eace5a6cc9906e519f19e", "text"),
    "inbound_mms": (TYPE_MESSAGE_RECEIVED, "MM35ec33c16d9dc48213064a36881f179d", "media"),
    "inbound_unicode": (TYPE_MESSAGE_RECEIVED, "SM7ebb08e898c01f42a25fb8fbe7bafeb8", "text"),
    "inbound_opt_out_stop": (TYPE_MESSAGE_RECEIVED, "SM63354a79ef9a31c9dc1d52d5a92c8319", "text"),
    "status_queued": (TYPE_MESSAGE_STATUS, f"{OUT_SID}:queued", "queued"),
    "status_sent": (TYPE_MESSAGE_STATUS, f"{OUT_SID}:sent", "sent"),
    "status_delivered": (TYPE_MESSAGE_STATUS, f"{OUT_SID}:delivered", "delivered"),
    "status_read": (TYPE_MESSAGE_STATUS, f"{OUT_SID}:read", "read"),
    "status_undelivered": (
        TYPE_MESSAGE_STATUS,
        "SM45e7e7ce4cac79bbe048f514b3917fe2:undelivered",
        "failed",
    ),
    "status_failed": (TYPE_MESSAGE_STATUS, "SM436ffaf611fd3d1691ed34c0cc8264a3:failed", "failed"),
}


def test_every_recording_is_expected(recs):
    assert set(recs) == set(EXPECTED)
    assert all(r.content_type == "application/x-www-form-urlencoded" for r in recs.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_parses(name, recs, adapter, webhook):
    etype, eid, what = EXPECTED[name]
    request = webhook(recs[name].body)
    adapter.verify(request)
    [event] = adapter.parse(request)
    assert (event.type, event.id, event.source) == (etype, eid, "/sms/acme")
    assert event.time == RECEIVED_AT
    assert event.subject == eid.split(":")[0]
    assert loads(dumps(event)) == event  # JSON types only
    if etype == TYPE_MESSAGE_RECEIVED:
        msg = Message.model_validate(event.data)
        assert msg.kind == what and msg.channel == "sms" and msg.message_id == eid
        assert event.partitionkey == f"sms/acme:sms:{msg.business}:{msg.customer}"
        assert msg.business == "+14155550100"
        assert msg.extra["AccountSid"] == "AC0c7080998b40962e7432c4f40b521f25"
    else:
        upd = StatusUpdate.model_validate(event.data)
        assert upd.status == what and upd.channel == "sms"
        assert upd.provider_status == eid.split(":")[1]
        assert upd.business == "+14155550100"
        assert event.partitionkey == f"sms/acme:sms:+14155550100:{upd.customer}"
        assert (upd.error is not None) == (what == "failed")


def test_inbound_sms_fields(recs, adapter, webhook):
    [event] = adapter.parse(webhook(recs["inbound_sms"].body))
    msg = Message.model_validate(event.data)
    assert msg.customer == "+12065550142"
    assert msg.text == "Hi, is order #4711 still arriving today? Reply here + thanks!"
    assert msg.attachments == []
    assert msg.extra == {
        "AccountSid": "AC0c7080998b40962e7432c4f40b521f25",
        "MessagingServiceSid": "MGf06d3511e3d9b173fb3f224dccf47849",
        "NumSegments": "1",
        "FromCity": "SEATTLE",
        "FromState": "WA",
        "FromZip": "98101",
        "FromCountry": "US",
    }
    assert event.partitionkey == "sms/acme:sms:+14155550100:+12065550142"


def test_inbound_mms_has_two_attachments(recs, adapter, webhook):
    [event] = adapter.parse(webhook(recs["inbound_mms"].body))
    msg = Message.model_validate(event.data)
    base = (
        "https://api.twilio.com/2010-04-01/Accounts/AC0c7080998b40962e7432c4f40b521f25"
        "/Messages/MM35ec33c16d9dc48213064a36881f179d/Media/"
    )
    assert [(a.media_type, a.mime_type, a.url) for a in msg.attachments] == [
        ("image", "image/jpeg", base + "ME9d1f7c2b5e6a48f0b3c1d2e4f5a6b7c8"),
        ("document", "text/vcard", base + "ME1a2b3c4d5e6f708192a3b4c5d6e7f809"),
    ]
    assert msg.text == "Here is the damaged box and my contact card"


def test_unicode_body_is_decoded_exactly(recs, adapter, webhook):
    [event] = adapter.parse(webhook(recs["inbound_unicode"].body))
    assert event.data["text"] == "¡Hola! ¿Mi pedido ya salió? 🚚📦 Gracias 🙏"


def test_opt_out_type_kept(recs, adapter, webhook):
    [event] = adapter.parse(webhook(recs["inbound_opt_out_stop"].body))
    assert event.data["extra"]["OptOutType"] == "STOP"
    assert event.data["text"] == "STOP"


@pytest.mark.parametrize(
    ("name", "code"), [("status_undelivered", "30003"), ("status_failed", "30008")]
)
def test_failures_carry_error_code(name, code, recs, adapter, webhook):
    [event] = adapter.parse(webhook(recs[name].body))
    upd = StatusUpdate.model_validate(event.data)
    assert upd.status == "failed"
    assert upd.error is not None and upd.error.code == code


def _status_body(recs, word: str, **changes: str | None) -> bytes:
    params = dict(parse_qsl(recs["status_sent"].body.decode()))
    params["MessageStatus"] = params["SmsStatus"] = word
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urlencode(params).encode()


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("accepted", "queued"),
        ("scheduled", "queued"),
        ("queued", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("partially_delivered", "sent"),
        ("delivered", "delivered"),
        ("read", "read"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_status_mapping(word, status, recs, adapter, webhook):
    assert STATUS_MAP[word] == status
    [event] = adapter.parse(webhook(_status_body(recs, word)))
    upd = StatusUpdate.model_validate(event.data)
    assert (upd.status, upd.provider_status, event.id) == (status, word, f"{OUT_SID}:{word}")


def test_status_mapping_table_is_exactly_the_tested_words():
    assert len(STATUS_MAP) == 11


def test_error_message_becomes_title(recs, adapter, webhook):
    body = _status_body(recs, "failed", ErrorCode="30007", ErrorMessage="Message filtered")
    [event] = adapter.parse(webhook(body))
    upd = StatusUpdate.model_validate(event.data)
    assert (upd.error.code, upd.error.title) == ("30007", "Message filtered")


def test_message_status_wins_over_sms_status(recs, adapter, webhook):
    body = _status_body(recs, "delivered", SmsStatus="sent")
    [event] = adapter.parse(webhook(body))
    assert event.data["status"] == "delivered"


def test_sms_sid_and_sms_status_alone_suffice(recs, adapter, webhook):
    body = _status_body(recs, "delivered", MessageSid=None, MessageStatus=None)
    [event] = adapter.parse(webhook(body))
    assert event.id == f"{OUT_SID}:delivered"


def test_unknown_status_is_a_payload_error(recs, adapter, webhook):
    with pytest.raises(PayloadError) as info:
        adapter.parse(webhook(_status_body(recs, "teleported")))
    assert info.value.reason == "unknown_status"
    assert info.value.status == 400


def test_receiving_is_refused(recs, adapter, webhook):
    with pytest.raises(PayloadError):
        adapter.parse(webhook(_status_body(recs, "receiving")))


def _inbound_body(recs, name: str = "inbound_sms", **changes: str | None) -> bytes:
    params = dict(parse_qsl(recs[name].body.decode(), keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urlencode(params).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"MessageSid": None, "SmsSid": None, "SmsMessageSid": None},
        {"MessageSid": "", "SmsSid": ""},
        {"From": None},
        {"To": ""},
        {"NumMedia": "two"},
        {"NumMedia": "-1"},
        {"NumMedia": "1_0"},
        {"NumMedia": " 1"},
        {"NumMedia": "1"},  # but no MediaUrl0
        {"Body": None},  # no Body and no media
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_malformed_inbound(changes, recs, adapter, webhook):
    with pytest.raises(PayloadError):
        adapter.parse(webhook(_inbound_body(recs, **changes)))


def test_mms_missing_second_media_url(recs, adapter, webhook):
    with pytest.raises(PayloadError, match="MediaUrl1"):
        adapter.parse(webhook(_inbound_body(recs, "inbound_mms", MediaUrl1=None)))


def test_inbound_without_status_word_is_recognised_by_body(recs, adapter, webhook):
    [event] = adapter.parse(webhook(_inbound_body(recs, SmsStatus=None)))
    assert event.type == TYPE_MESSAGE_RECEIVED


def test_mms_without_body_has_no_text(recs, adapter, webhook):
    [event] = adapter.parse(webhook(_inbound_body(recs, "inbound_mms", Body="")))
    assert event.data["kind"] == "media" and event.data["text"] is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"AccountSid=AC1&ApiVersion=2010-04-01",
        b"\xff\xfe",
        b"MessageSid=%ff",
        b"a=1&b",
        b"a=1&&b=2",
    ],
)
def test_garbage_is_a_payload_error(body, adapter, webhook):
    with pytest.raises(PayloadError):
        adapter.parse(webhook(body, signed=False))


def test_get_webhook_reads_the_query(recs, adapter, webhook):
    url = "https://hooks.example.com/webhooks/sms/acme?" + recs["inbound_sms"].body.decode()
    request = webhook(b"", url=url, method="GET", signed=False)
    from omnisdk_sms import signature

    sig = signature.compute("example-auth-token", url)
    signed = webhook(b"", url=url, method="GET", signed=False, headers={"x-twilio-signature": sig})
    adapter.verify(signed)
    [event] = adapter.parse(request)
    assert event.id == "SM25b73341926eace5a6cc9906e519f19e"


def test_media_type():
    assert [
        media_type(m) for m in ("image/png", "VIDEO/mp4", "audio/amr", "text/vcard", None, "")
    ] == ["image", "video", "audio", "document", "document", "document"]


def test_acknowledge_is_empty_twiml(adapter):
    reply = adapter.acknowledge([])
    assert reply.status == 200
    assert reply.content_type == "text/xml"
    assert reply.body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_plugin_hook_and_entry_point():
    assert plugin.omnisdk_adapters() == [TwilioSmsAdapter]
    eps = importlib.metadata.entry_points(group="omnisdk")
    assert any(ep.name == "sms" and ep.value == "omnisdk_sms.plugin" for ep in eps)
    assert TwilioSmsAdapter.name == "sms" and TwilioSmsAdapter.channel == "sms"
    assert TwilioSmsAdapter.recordings is not None and TwilioSmsAdapter.recordings.is_dir()
