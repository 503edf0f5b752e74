"""Webhook body → CloudEvents, on every recorded payload, with per-kind assertions."""

from __future__ import annotations

import orjson
import pytest

from omnisdk.errors import PayloadError
from omnisdk.events import (
    EVENT_TYPES,
    TYPE_CONTACT_CHANGED,
    TYPE_MESSAGE_DELETED,
    TYPE_MESSAGE_EDITED,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_STATUS,
    TYPE_MESSAGE_UNSUPPORTED,
    TYPE_PROVIDER_NOTICE,
    epoch_to_rfc3339,
)
from omnisdk.model import Message, StatusUpdate, conversation_key
from omnisdk.recordings import load
from omnisdk_whatsapp import WhatsAppAdapter

RECORDINGS = load(WhatsAppAdapter.recordings)
RECEIVED_AT = "2030-01-02T03:04:05Z"  # what conftest's make_request stamps
MESSAGE_TYPES = {TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_UNSUPPORTED, TYPE_MESSAGE_EDITED}


def _expected(doc: dict) -> list[tuple[str, str, str]]:
    """(event id, subject, customer wa id) per fact, computed from the raw payload."""
    out = []
    for entry in doc["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            for m in value.get("messages", []):
                if m["type"] == "revoke":
                    orig = m["revoke"]["original_message_id"]
                    out.append((f"{orig}:deleted", orig, m["from"]))
                elif m["type"] == "edit":
                    orig = m["edit"]["original_message_id"]
                    out.append((f"{m['id']}:edited", orig, m["from"]))
                else:
                    out.append((m["id"], m["id"], m["from"]))
            for s in value.get("statuses", []):
                eid = f"{s['id']}:{s['status']}"
                if s.get("recipient_type") == "group":
                    eid += f":{s['recipient_participant_id']}"
                out.append((eid, s["id"], s["recipient_id"]))
    return out


def parse(adapter, make_request, body: bytes):
    return adapter.parse(make_request(body))


@pytest.mark.parametrize("rec", RECORDINGS, ids=[r.name for r in RECORDINGS])
def test_every_recording_parses(adapter, make_request, rec):
    doc = orjson.loads(rec.body)
    events = parse(adapter, make_request, rec.body)
    expected = _expected(doc)
    assert [(e.id, e.subject) for e in events] == [(i, s) for i, s, _ in expected]
    business = doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
    for event, (_, _, wa) in zip(events, expected, strict=True):
        assert event.type in EVENT_TYPES
        assert event.source == "/whatsapp/acme"
        customer = f"+{wa}" if wa.isdigit() else wa
        assert event.partitionkey == conversation_key("/whatsapp/acme", "whatsapp", business, customer)
        assert event.time and event.time != RECEIVED_AT  # every recording has a timestamp
        orjson.dumps(event.to_dict())  # JSON types only
        if event.type in MESSAGE_TYPES:
            msg = Message.model_validate(event.data)
            assert (msg.customer, msg.business) == (customer, business)
            assert msg.sent_at is not None
            assert event.time == epoch_to_rfc3339(msg.sent_at.timestamp())
        elif event.type == TYPE_MESSAGE_STATUS:
            st = StatusUpdate.model_validate(event.data)
            assert (st.customer, st.business, st.message_id) == (customer, business, event.subject)


def _one(adapter, make_request, recordings, name):
    events = parse(adapter, make_request, recordings[name].body)
    assert len(events) == 1
    return events[0]


def _msg(adapter, make_request, recordings, name, etype=TYPE_MESSAGE_RECEIVED):
    event = _one(adapter, make_request, recordings, name)
    assert event.type == etype
    return event, Message.model_validate(event.data)


def test_text(adapter, make_request, recordings):
    event, msg = _msg(adapter, make_request, recordings, "message/text")
    assert event.id == msg.message_id == "wamid.xyzxyz"
    assert (msg.kind, msg.text, msg.customer_name) == ("text", "Body Text", "Test Name")
    assert msg.customer == "+972987654321" and msg.business == "1122334455667"
    assert event.time == "2023-10-11T16:53:43Z"
    assert not msg.forwarded and msg.reply_to is None


def test_real_signed_text(adapter, make_request, recordings):
    event, msg = _msg(adapter, make_request, recordings, "real_text_message")
    assert event.id == (
        "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA")
    assert (msg.text, msg.customer_name) == ("Hey there! I am using PyWa.", "PyWa Tests")
    assert event.partitionkey == "whatsapp/acme:whatsapp:277321005464405:+972544401243"


@pytest.mark.parametrize(
    "name, media_type, media_id, mime, caption, filename",
    [
        ("message/image", "image", "65463453", "image/jpeg", None, None),
        ("message/video", "video", "765756756", "video/mp4", "caption", None),
        ("message/document", "document", "1234567890987654321", "application/pdf", "caption",
         "filename.pdf"),
        ("message/audio", "audio", "1234567890987654321", "audio/ogg; codecs=opus", None, None),
        ("message/voice", "voice", "1234567890987654321", "audio/ogg; codecs=opus", None, None),
    ],
)
def test_media(adapter, make_request, recordings, name, media_type, media_id, mime, caption,
               filename):
    _, msg = _msg(adapter, make_request, recordings, name)
    assert msg.kind == "media" and len(msg.attachments) == 1
    att = msg.attachments[0]
    assert (att.media_type, att.media_id, att.mime_type) == (media_type, media_id, mime)
    assert (att.caption, att.filename, msg.text) == (caption, filename, caption)
    assert att.sha256 and att.url is None and att.animated is None


def test_media_with_url(adapter, make_request, recordings):
    _, msg = _msg(adapter, make_request, recordings, "message/media_with_url")
    assert msg.attachments[0].url.startswith("https://lookaside.fbsbx.com/whatsapp_business/")
    assert msg.attachments[0].media_id == "65463453"


@pytest.mark.parametrize("name, animated", [("message/static_sticker", False),
                                            ("message/animated_sticker", True)])
def test_stickers(adapter, make_request, recordings, name, animated):
    _, msg = _msg(adapter, make_request, recordings, name)
    att = msg.attachments[0]
    assert (att.media_type, att.mime_type, att.animated) == ("sticker", "image/webp", animated)


def test_reaction(adapter, make_request, recordings):
    _, msg = _msg(adapter, make_request, recordings, "message/reaction")
    assert msg.kind == "reaction"
    assert (msg.reaction.message_id, msg.reaction.emoji) == ("wamid.yzxyzx=", "\U0001f62e")


@pytest.mark.parametrize("name", ["message/unreaction_empty", "message/unreaction_no_emoji"])
def test_reaction_removed(adapter, make_request, recordings, name):
    _, msg = _msg(adapter, make_request, recordings, name)
    assert msg.kind == "reaction"
    assert (msg.reaction.message_id, msg.reaction.emoji) == ("wamid.yzxyzx=", None)


def test_locations(adapter, make_request, recordings):
    _, cur = _msg(adapter, make_request, recordings, "message/current_location")
    assert (cur.location.latitude, cur.location.longitude) == (12.25089, 43.90539)
    assert cur.location.name is None and cur.forwarded
    _, chosen = _msg(adapter, make_request, recordings, "message/chosen_location")
    loc = chosen.location
    assert (loc.latitude, loc.longitude) == (37.4611978, -122.2164385)
    assert (loc.name, loc.address) == ("Facebook HQ", "1 Hacker Way, Menlo Park, CA 94025")
    assert loc.url == "https://maps.google.com/?cid=2000000000000000000"


def test_contacts(adapter, make_request, recordings):
    _, msg = _msg(adapter, make_request, recordings, "message/contacts")
    assert msg.kind == "contacts"
    assert [c.name for c in msg.contacts] == ["Chandler Bing", "Monica", "Rachel Green"]
    assert msg.contacts[0].phones == ["+1 555-555-5555"]
    assert msg.contacts[0].raw["phones"][0]["type"] == "CELL"  # raw card kept


def test_order(adapter, make_request, recordings):
    _, msg = _msg(adapter, make_request, recordings, "message/order")
    assert msg.kind == "order" and msg.text is None  # order.text is ""
    assert msg.extra["order"]["catalog_id"] == "354160437058781"
    assert [i["product_retailer_id"] for i in msg.extra["order"]["product_items"]] == [
        "HAMBURGER", "FRENCH_FRIES", "SODA"]


def test_referral(adapter, make_request, recordings):
    event, msg = _msg(adapter, make_request, recordings, "message/referral")
    assert event.id == "wamid.ID"
    assert (msg.kind, msg.text) == ("text", "BODY")
    assert msg.extra["referral"]["ctwa_clid"] == "CTWA_CLID"


def test_reply_and_forwards(adapter, make_request, recordings):
    _, reply = _msg(adapter, make_request, recordings, "message/reply")
    assert (reply.reply_to, reply.text) == ("wamid.xyzxyz==", "replied text")
    assert not reply.forwarded
    _, fwd = _msg(adapter, make_request, recordings, "message/forwarded")
    assert fwd.forwarded and fwd.reply_to is None
    _, many = _msg(adapter, make_request, recordings, "message/forwarded_many_times")
    assert many.forwarded and many.text == "text forwarded many times"


@pytest.mark.parametrize(
    "name, reply_type, title, description, reply_to",
    [
        ("callback_button/button", "button", "title", None, "wamid.xyzxyz"),
        ("callback_button/quick_reply", "quick_reply", "title", None, "wamid.xyzxyz=="),
        ("callback_button/quick_reply_without_context", "quick_reply", "title", None, None),
        ("callback_selection/callback", "list", "title", None, "wamid.xyzxyz"),
        ("callback_selection/description", "list", "title", "description", "wamid.xyzxyz"),
    ],
)
def test_interactive_replies(adapter, make_request, recordings, name, reply_type, title,
                             description, reply_to):
    _, msg = _msg(adapter, make_request, recordings, name)
    assert msg.kind == "interactive_reply"
    r = msg.interactive
    assert (r.reply_type, r.id, r.title, r.description) == (reply_type, "callback_data", title,
                                                           description)
    assert msg.reply_to == reply_to and msg.text == title


@pytest.mark.parametrize("name", ["message/unsupported", "message/unsupported_with_type",
                                  "message/interactive_message_with_err"])
def test_unsupported_keeps_raw_and_errors(adapter, make_request, recordings, name):
    event, msg = _msg(adapter, make_request, recordings, name, TYPE_MESSAGE_UNSUPPORTED)
    raw = orjson.loads(recordings[name].body)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert msg.kind == "unsupported" and event.id == raw["id"]
    assert msg.extra["raw"] == raw
    assert msg.extra["errors"] and msg.extra["errors"][0]["code"] in (131051, 131000)
    if name.endswith("with_type"):
        assert msg.extra["raw"]["unsupported"]["type"] == "pool"
    if name.endswith("with_err"):  # errors sit on the change value, not on the message
        assert msg.extra["type"] == "interactive" and msg.reply_to is None


def test_unknown_type_is_unsupported_not_dropped(adapter, make_request, recordings):
    doc = orjson.loads(recordings["message/text"].body)
    m = doc["entry"][0]["changes"][0]["value"]["messages"][0]
    m["type"] = "hologram"
    m["hologram"] = {"id": "1"}
    event = parse(adapter, make_request, orjson.dumps(doc))[0]
    assert event.type == TYPE_MESSAGE_UNSUPPORTED and event.id == "wamid.xyzxyz"
    assert event.data["extra"]["raw"]["hologram"] == {"id": "1"}
    assert event.data["customer_name"] == "Test Name"


def test_known_type_with_odd_content_is_unsupported(adapter, make_request, recordings):
    doc = orjson.loads(recordings["message/chosen_location"].body)
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["location"]["latitude"] = "north"
    event = parse(adapter, make_request, orjson.dumps(doc))[0]
    assert event.type == TYPE_MESSAGE_UNSUPPORTED
    msg = Message.model_validate(event.data)
    assert msg.location is None and not msg.forwarded  # nothing half-filled
    assert "latitude" in msg.extra["reason"]


@pytest.mark.parametrize(
    "name, status, provider_status",
    [
        ("message_status/sent", "sent", "sent"),
        ("message_status/delivered", "delivered", "delivered"),
        ("message_status/read", "read", "read"),
        ("message_status/played", "read", "played"),
        ("message_status/with_tracker", "sent", "sent"),
    ],
)
def test_statuses(adapter, make_request, recordings, name, status, provider_status):
    event = _one(adapter, make_request, recordings, name)
    st = StatusUpdate.model_validate(event.data)
    assert event.type == TYPE_MESSAGE_STATUS
    assert event.id == f"wamid.xyzxyz:{provider_status}" and event.subject == "wamid.xyzxyz"
    assert (st.status, st.provider_status, st.error) == (status, provider_status, None)
    assert st.customer == "+972987654321" and st.at is not None


def test_status_failed(adapter, make_request, recordings):
    event = _one(adapter, make_request, recordings, "message_status/failed")
    st = StatusUpdate.model_validate(event.data)
    assert (event.id, st.status) == ("wamid.xyzxyz:failed", "failed")
    assert st.error.code == "130472"
    assert st.error.title == "User's number is part of an experiment"
    assert st.error.detail.startswith("Failed to send message because")


def test_status_group(adapter, make_request, recordings):
    event = _one(adapter, make_request, recordings, "message_status/group")
    st = StatusUpdate.model_validate(event.data)
    assert st.customer == "fowefinoewcnw"  # group id kept as given, no '+'
    assert event.id == "<WHATSAPP_MESSAGE_ID>:read:<GROUP_PARTICIPANT_USER_PHONE_NUMBER>"


def test_unknown_status_word_is_a_notice(adapter, make_request, recordings):
    doc = orjson.loads(recordings["message_status/sent"].body)
    doc["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "warning"
    event = parse(adapter, make_request, orjson.dumps(doc))[0]
    assert event.type == TYPE_PROVIDER_NOTICE and event.id == "wamid.xyzxyz:warning"
    assert event.data["kind"] == "status" and event.data["raw"]["status"] == "warning"


def test_system_messages_are_contact_changes(adapter, make_request, recordings):
    number = _one(adapter, make_request, recordings, "system/phone_number_change")
    assert number.type == TYPE_CONTACT_CHANGED and number.id == "wamid.xyzxyz=="
    assert number.data["kind"] == "user_changed_number"
    assert (number.data["customer"], number.data["new_customer"]) == ("+972987654321",
                                                                      "+972912345678")
    ident = _one(adapter, make_request, recordings, "system/identity_change")
    assert ident.type == TYPE_CONTACT_CHANGED and ident.data["kind"] == "customer_identity_changed"
    assert ident.data["identity"]["hash"] == "xyzxyz" and ident.data["customer_name"] == "User A"


def test_an_undocumented_system_type_is_unsupported_not_a_contact_change(adapter, make_request, recordings):
    doc = orjson.loads(recordings["system/phone_number_change"].body)
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["type"] = "user_changed_avatar"
    event = parse(adapter, make_request, orjson.dumps(doc))[0]
    assert event.type == TYPE_MESSAGE_UNSUPPORTED and event.id == "wamid.xyzxyz=="
    assert event.data["kind"] == "unsupported" and event.data["extra"]["type"] == "system"


def test_deleted(adapter, make_request, recordings):
    event = _one(adapter, make_request, recordings, "deleted_message/revoke")
    assert event.type == TYPE_MESSAGE_DELETED
    assert event.id == "<ORIGINAL_WHATSAPP_MESSAGE_ID>:deleted" != event.data["message_id"]
    assert event.data["message_id"] == event.subject == "<ORIGINAL_WHATSAPP_MESSAGE_ID>"
    assert event.data["extra"]["revoke_message_id"] == "<WHATSAPP_MESSAGE_ID>"
    assert event.data["customer"] == "<WHATSAPP_USER_PHONE_NUMBER>"  # placeholder kept


def test_edited(adapter, make_request, recordings):
    event = _one(adapter, make_request, recordings, "edited_message/image")
    assert event.type == TYPE_MESSAGE_EDITED
    msg = Message.model_validate(event.data)
    original = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    edit_id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    assert event.id == f"{edit_id}:edited" and event.subject == original
    assert msg.message_id == msg.extra["edits"] == original
    assert msg.extra["edit_message_id"] == edit_id
    assert (msg.kind, msg.text) == ("media", "Updated image caption")
    assert msg.attachments[0].url == "https://media.example.com/updated-image.jpg"
    assert msg.customer == "+16505551234" and msg.business == "106540352242922"


# --- envelope, notices, time ------------------------------------------------------------------


def _envelope(changes, entry_id="102290129340398"):
    return orjson.dumps({"object": "whatsapp_business_account",
                         "entry": [{"id": entry_id, "changes": changes}]})


# shape from developers.facebook.com/docs/whatsapp/business-management-api/webhooks/components
TEMPLATE_UPDATE = {"event": "APPROVED", "message_template_id": 594425479261596,
                   "message_template_name": "hello_world", "message_template_language": "en_US",
                   "reason": "NONE"}


def test_other_fields_become_stable_notices(adapter, make_request):
    body = _envelope([{"field": "message_template_status_update", "value": TEMPLATE_UPDATE}])
    (event,) = parse(adapter, make_request, body)
    assert event.type == TYPE_PROVIDER_NOTICE
    assert event.data == {"kind": "message_template_status_update", "raw": TEMPLATE_UPDATE}
    assert event.id.startswith("102290129340398:message_template_status_update:")
    assert event.time == RECEIVED_AT
    # redelivery, even re-serialized with another key order, gives the same id
    reordered = dict(reversed(list(TEMPLATE_UPDATE.items())))
    body2 = _envelope([{"field": "message_template_status_update", "value": reordered}])
    assert parse(adapter, make_request, body2)[0].id == event.id
    # another value, another id
    body3 = _envelope([{"field": "message_template_status_update",
                        "value": dict(TEMPLATE_UPDATE, event="REJECTED")}])
    assert parse(adapter, make_request, body3)[0].id != event.id


def test_messages_change_with_only_errors_is_a_notice(adapter, make_request):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
             "errors": [{"code": 131000, "title": "Something went wrong"}]}
    (event,) = parse(adapter, make_request, _envelope([{"field": "messages", "value": value}]))
    assert event.type == TYPE_PROVIDER_NOTICE and event.data["raw"] == value


def test_empty_entry_is_no_event(adapter, make_request):
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert parse(adapter, make_request, body) == []


def test_missing_timestamp_uses_received_at(adapter, make_request, recordings):
    doc = orjson.loads(recordings["message/text"].body)
    del doc["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"]
    event = parse(adapter, make_request, orjson.dumps(doc))[0]
    assert event.time == RECEIVED_AT and event.data["sent_at"] is None


def test_batch_keeps_order_and_counts(adapter, make_request, recordings):
    values = [orjson.loads(recordings[n].body)["entry"][0]["changes"][0]
              for n in ("message/text", "message_status/read", "message/reaction")]
    events = parse(adapter, make_request, _envelope(values))
    assert [e.type for e in events] == [TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS,
                                        TYPE_MESSAGE_RECEIVED]


@pytest.mark.parametrize(
    "body",
    [
        b"", b"not json", b"[]", b'"whatsapp"', b'{"object": "page"}',
        b'{"object":"whatsapp_business_account"}',
        b'{"object":"whatsapp_business_account","entry":{}}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":{}}]}',
        b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",'
        b'"value":{"messages":[{}]}}]}]}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
        b'"value":{"metadata":{"phone_number_id":"2"},"messages":[{"id":"wamid.1"}]}}]}]}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
        b'"value":{"metadata":{"phone_number_id":"2"},'
        b'"statuses":[{"id":"w","status":"read"}]}}]}]}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
        b'"value":{"metadata":{"phone_number_id":"2"},"messages":[{"id":"w","from":"1",'
        b'"timestamp":"soon","type":"text","text":{"body":"x"}}]}}]}]}',
    ],
)
def test_malformed_bodies_raise_payload_error(adapter, make_request, body):
    with pytest.raises(PayloadError) as err:
        parse(adapter, make_request, body)
    assert err.value.status == 400


def test_plugin_registers_the_adapter():
    from importlib.metadata import entry_points

    import pluggy

    from omnisdk import hookspecs
    from omnisdk_whatsapp import plugin

    (ep,) = [e for e in entry_points(group="omnisdk") if e.name == "whatsapp"]
    assert ep.load() is plugin
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    assert pm.hook.omnisdk_adapters() == [[WhatsAppAdapter]]
    assert WhatsAppAdapter.name == "whatsapp" and WhatsAppAdapter.channel == "whatsapp"
    assert WhatsAppAdapter.recordings.is_dir()
