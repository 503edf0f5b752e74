"""Every recorded Messenger webhook → its CloudEvents (bodies written from Meta's webhook reference)."""

from __future__ import annotations

import json

import pytest

from omnisdk import events as ev
from omnisdk.errors import PayloadError
from omnisdk.model import Message, StatusUpdate
from omnisdk.testkit.checks.events import attribute_problems, event_problems
from omnisdk_messenger import translate

PAGE = "105000000000001"
PSID = "6000000000000001"
SOURCE = "/messenger/acme"

KEY = f"messenger/acme:messenger:{PAGE}:{PSID}"


def parse(rec) -> list[ev.Event]:
    return translate.parse(rec.body, source=SOURCE)


def one(recs, name: str) -> ev.Event:
    [event] = parse(recs[name])
    assert not event_problems([event], SOURCE) and not attribute_problems([event])
    return event


def _body(items: list, *, key: str = "messaging", page: str = PAGE) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": page, "time": 1718000000000, key: items}]}).encode()


def _item(**kw) -> dict:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1718000000123, **kw}


def test_every_recording_parses_to_valid_events(recs) -> None:
    for name, rec in recs.items():
        events = parse(rec)
        assert events, name
        assert not event_problems(events, SOURCE) and not attribute_problems(events), name
        assert all(e.data["business"] == PAGE for e in events), name


def test_text_message(recs) -> None:
    e = one(recs, "message/text")
    assert e.type == ev.TYPE_MESSAGE_RECEIVED
    assert e.id == e.subject == "mid.1457764197618:41d102a3e1ae206a38"
    assert e.time == "2016-03-23T00:25:52.478Z" and e.partitionkey == KEY
    m = Message.model_validate(e.data)
    assert (m.kind, m.text, m.customer, m.business, m.channel) == ("text", "hello, world!", PSID, PAGE, "messenger")


def test_quick_reply_and_reply_to(recs) -> None:
    d = one(recs, "message/quick_reply").data
    assert d["kind"] == "interactive_reply"
    assert d["interactive"] == {"reply_type": "quick_reply", "id": "PICK_RED", "title": "Red", "description": None}
    d = one(recs, "message/reply").data
    assert d["reply_to"] == "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU" and d["extra"]["is_self_reply"] is False


@pytest.mark.parametrize("name, media_type", [
    ("message/image", "image"), ("message/video", "video"), ("message/audio", "audio"), ("message/file", "document"),
])
def test_media_attachments_by_url(recs, name: str, media_type: str) -> None:
    d = one(recs, name).data
    [a] = d["attachments"]
    assert d["kind"] == "media" and a["media_type"] == media_type
    assert a["url"].startswith("https://cdn.example.com/messenger/") and a["media_id"] is None


def test_file_keeps_its_text_and_two_images_are_two_attachments(recs) -> None:
    assert one(recs, "message/file").data["text"] == "the invoice"
    assert [a["url"][-14:] for a in one(recs, "message/two_images").data["attachments"]] == \
        ["image_0002.jpg", "image_0003.jpg"]


def test_a_sticker_sent_as_sticker_and_image_is_one_sticker(recs) -> None:
    d = one(recs, "message/sticker").data
    assert [a["media_type"] for a in d["attachments"]] == ["sticker"]
    assert d["extra"]["sticker_ids"] == ["369239263222822"]


def test_location_fallback_and_template(recs) -> None:
    d = one(recs, "message/location").data
    assert d["kind"] == "location"
    assert (d["location"]["latitude"], d["location"]["longitude"], d["location"]["name"]) == (48.8584, 2.2945, "Pinned Location")
    d = one(recs, "message/fallback").data
    assert (d["kind"], d["text"]) == ("text", "Example Domain")
    assert d["extra"]["links"] == [{"title": "Example Domain", "url": "https://www.example.com/"}]
    d = one(recs, "message/template").data
    assert (d["kind"], d["text"]) == ("text", "Blue mug")
    assert d["extra"]["templates"][0]["product"]["elements"][0]["retailer_id"] == "sku-0001"


def test_an_unknown_attachment_type_is_unsupported_with_the_raw_item(recs) -> None:
    e = one(recs, "message/reel_unsupported")
    assert e.type == ev.TYPE_MESSAGE_UNSUPPORTED and e.id == "m_reel_0001"
    assert e.data["kind"] == "unsupported" and e.data["extra"]["type"] == "message"
    assert e.data["extra"]["raw"]["message"]["attachments"][0]["type"] == "reel"


def test_postbacks_are_interactive_replies(recs) -> None:
    d = one(recs, "postback/button").data
    assert d["interactive"] == {"reply_type": "postback", "id": "TRACK_ORDER", "title": "Track my order",
                                "description": None}
    e = one(recs, "postback/get_started_referral")
    assert e.id == "m_postback_0002"
    assert e.data["extra"]["referral"] == {"ref": "summer-campaign", "source": "SHORTLINK", "type": "OPEN_THREAD"}


def test_reactions(recs) -> None:
    d = one(recs, "reaction/react").data
    assert d["kind"] == "reaction" and d["reaction"] == {"message_id": "m_sandbox00000001", "emoji": "\u2764\ufe0f"}
    u = one(recs, "reaction/unreact")
    assert u.data["reaction"] == {"message_id": "m_sandbox00000001", "emoji": None}
    assert u.data["extra"]["action"] == "unreact" and u.id != one(recs, "reaction/react").id


def test_deliveries_are_one_status_per_mid(recs) -> None:
    events = parse(recs["delivery/mids"])
    assert [e.id for e in events] == ["mid.1458668856218:ed81099e15d3f4f233:delivered", "m_sandbox00000002:delivered"]
    for e in events:
        s = StatusUpdate.model_validate(e.data)
        assert e.type == ev.TYPE_MESSAGE_STATUS and e.subject == s.message_id
        assert (s.status.value, s.provider_status, s.customer, e.partitionkey) == ("delivered", "delivery", PSID, KEY)
    # no timestamp in a delivery (reference/webhook-events/message-deliveries): the entry's time
    assert events[0].time == "2016-03-22T17:47:36.300Z"


def test_watermarks_are_notices(recs) -> None:
    d = one(recs, "delivery/watermark_only").data
    assert (d["kind"], d["status"], d["watermark"]) == ("delivery_watermark", "delivered", 1458668866253)
    e = one(recs, "read")
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.id == "read:6000000000000001:1458668876253"
    assert (e.data["kind"], e.data["watermark_at"]) == ("read_watermark", "2016-03-22T17:47:56.253Z")


def test_echoes_are_page_messages_not_customer_messages(recs) -> None:
    e = one(recs, "echo/page_inbox_text")
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.id == "m_echo_0001:echo"
    d = e.data
    assert (d["kind"], d["app_id"], d["customer"], d["message_id"]) == ("message_echo", "263902037430900", PSID, "m_echo_0001")
    assert d["message"]["text"] == "Hi, this is Anna from support." and e.partitionkey == KEY
    d = one(recs, "echo/app_image_with_metadata").data
    assert (d["app_id"], d["metadata"]) == ("1517776481860111", "campaign=42")
    assert d["message"]["attachments"][0]["media_type"] == "image"


def test_an_echo_naming_another_page_is_refused() -> None:
    echo = {"sender": {"id": "999"}, "recipient": {"id": PSID}, "timestamp": 1,
            "message": {"is_echo": True, "mid": "m1", "text": "x"}}
    with pytest.raises(PayloadError):
        translate.parse(_body([echo]), source=SOURCE)


@pytest.mark.parametrize("name, fields", [
    ("handover/pass_thread_control", {"new_owner_app_id": "263902037430900", "previous_owner_app_id": "1517776481860111",
                                      "metadata": "escalate: billing"}),
    ("handover/take_thread_control", {"new_owner_app_id": "1517776481860111", "previous_owner_app_id": "263902037430900"}),
    ("handover/request_thread_control", {"requested_owner_app_id": "263902037430900"}),
])
def test_handover_events(recs, name: str, fields: dict) -> None:
    e = one(recs, name)
    kind = name.split("/")[1]
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.data["kind"] == kind and e.id.startswith(f"{kind}:{PSID}:")
    assert {k: e.data[k] for k in fields} == fields and e.data["customer"] == PSID


def test_app_roles_and_standby(recs) -> None:
    d = one(recs, "handover/app_roles").data
    assert d["roles"] == {"1517776481860111": ["primary_receiver"]} and d["customer"] is None
    e = one(recs, "handover/standby_message")
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.id == "standby:m_standby_0001"
    assert e.data["event_type"] == ev.TYPE_MESSAGE_RECEIVED and e.data["data"]["text"] == "are you a bot?"
    e = one(recs, "handover/standby_echo")
    assert e.data["data"]["kind"] == "message_echo"


def test_referral_optin_and_user_ref(recs) -> None:
    e = one(recs, "referral")
    assert e.type == ev.TYPE_CONTACT_CHANGED and e.data["kind"] == "referral"
    assert e.data["extra"]["referral"]["ref"] == "order-1234"
    e = one(recs, "optin/notification_messages")
    assert e.type == ev.TYPE_CONTACT_CHANGED and e.data["extra"]["optin"]["payload"] == "WEEKLY_DEALS"
    e = one(recs, "optin/checkbox_user_ref")
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.data["user_ref"] == "ref-user-0001"
    assert e.data["reason"] == "no_psid" and e.partitionkey is None


def test_message_edit(recs) -> None:
    e = one(recs, "message_edit")
    assert e.type == ev.TYPE_MESSAGE_EDITED and e.id == "m_quick_reply_0001:edit:1" and e.subject == "m_quick_reply_0001"
    assert (e.data["text"], e.data["extra"]["edits"]) == ("Red, please", 1)


@pytest.mark.parametrize("name, kind", [("unknown/account_linking", "account_linking"), ("unknown/undocumented", "hologram")])
def test_unknown_kinds_are_unsupported(recs, name: str, kind: str) -> None:
    e = one(recs, name)
    assert e.type == ev.TYPE_MESSAGE_UNSUPPORTED and e.data["extra"]["type"] == kind
    assert e.data["extra"]["raw"][kind] and e.partitionkey == KEY


def test_an_entry_without_messaging_is_a_notice(recs) -> None:
    e = one(recs, "entry_changes")
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.data["kind"] == "entry"
    assert e.data["raw"]["changes"][0]["field"] == "name"


def test_batch_gives_every_item(recs) -> None:
    events = parse(recs["batch"])
    assert [e.type for e in events] == [ev.TYPE_MESSAGE_RECEIVED, ev.TYPE_MESSAGE_RECEIVED, ev.TYPE_PROVIDER_NOTICE,
                                        ev.TYPE_MESSAGE_STATUS]
    assert events[1].data["customer"] == "6000000000000002" != events[0].data["customer"]


def test_two_entries_in_one_body() -> None:
    doc = {"object": "page", "entry": [
        {"id": PAGE, "time": 1, "messaging": [_item(message={"mid": "m_a", "text": "a"})]},
        {"id": PAGE, "time": 2, "messaging": [_item(message={"mid": "m_b", "text": "b"})]}]}
    assert [e.id for e in translate.parse(json.dumps(doc).encode(), source=SOURCE)] == ["m_a", "m_b"]


def test_redelivery_gives_the_same_ids_and_events(recs) -> None:
    for rec in recs.values():
        assert parse(rec) == parse(rec)


@pytest.mark.parametrize("item, reason", [
    (_item(reaction={"action": "wave", "mid": "m1"}), "neither react nor unreact"),
    (_item(reaction={"action": "react"}), "reaction.mid"),
    (_item(message={"mid": "m1"}), "no text or attachments"),
    (_item(message={"mid": "m1", "quick_reply": {}}), "quick_reply without payload"),
    (_item(message={"mid": "m1", "attachments": [{"type": "location", "payload": {"coordinates": {"lat": 99, "long": 0}}}]}),
     "out of range"),
    (_item(postback={}), "postback without title or payload"),
])
def test_odd_content_is_unsupported_not_a_crash(item: dict, reason: str) -> None:
    [e] = translate.parse(_body([item]), source=SOURCE)
    assert e.type == ev.TYPE_MESSAGE_UNSUPPORTED and reason in e.data["extra"]["reason"]
    assert not event_problems([e], SOURCE)


def test_odd_statuses_are_notices() -> None:
    [e] = translate.parse(_body([_item(delivery={"mids": [1]})]), source=SOURCE)
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.data["kind"] == "delivery"
    [e] = translate.parse(_body([_item(read={"watermark": "soon"})]), source=SOURCE)
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.data["reason"] == "read.watermark is not an integer"


@pytest.mark.parametrize("body", [
    b"", b"[]", b'{"object": "page"}', b'{"object": "instagram", "entry": []}', b'{"object": "page", "entry": {}}',
    b'{"object": "page", "entry": [1]}', b'{"object": "page", "entry": [{"time": 1, "messaging": []}]}',
    b'{"object": "page", "entry": [{"id": "1", "time": "1", "messaging": []}]}',
    b'{"object": "page", "entry": [{"id": "1", "time": 1, "messaging": {}}]}',
    b'{"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [{"timestamp": 1}]}]}',
    b'{"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [{"sender": {"id": "2"}, "timestamp": 1.5}]}]}',
    b'{"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [{"sender": {"id": "2"}, "recipient": {"id": "3"}}]}]}',
])
def test_malformed_bodies_raise_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        translate.parse(body, source=SOURCE)
    assert info.value.status == 400


def test_an_empty_entry_list_is_no_event() -> None:
    assert translate.parse(b'{"object": "page", "entry": []}', source=SOURCE) == []


@pytest.mark.parametrize("ms", [0, 999, 1458692752478, 1718000080050, 253402300799999])
def test_times_agree_with_the_core(ms: int) -> None:
    assert translate.ms_to_rfc3339(ms) == f"{ev.epoch_to_rfc3339(ms // 1000)[:-1]}.{ms % 1000:03d}Z"


def test_partition_keys_are_the_cores_conversation_keys(recs) -> None:
    from omnisdk.model.addresses import conversation_key

    for rec in recs.values():
        for e in parse(rec):
            if e.partitionkey is not None:
                assert e.partitionkey == conversation_key(SOURCE, "messenger", PAGE, e.data["customer"])


def test_times_over_many_days_stay_right_and_the_date_table_bounded() -> None:
    # ms_to_rfc3339 keeps the dates it has written in a table (one entry per day, cleared when
    # full): every day of 1970-2026 and the edges of the range must still agree with gmtime
    day = 86_400_000
    for ms in [*range(0, 57 * 366 * day, day + 3_723_456), 253402300799999, 999 * 366 * day + 1]:
        assert translate.ms_to_rfc3339(ms) == f"{ev.epoch_to_rfc3339(ms // 1000)[:-1]}.{ms % 1000:03d}Z"
        assert len(translate._DATES) <= translate._MAX_DATES


def test_an_item_with_two_kinds_is_read_as_the_first_of_kinds() -> None:
    pb = {"title": "Go", "payload": "GO"}
    for item in (_item(postback=pb, referral={"ref": "r"}), _item(referral={"ref": "r"}, postback=pb)):
        [e] = translate.parse(_body([item]), source=SOURCE)
        assert (e.data["kind"], e.data["interactive"]["reply_type"]) == ("interactive_reply", "postback")
    for item in (_item(read={"watermark": 5}, delivery={"watermark": 5}), _item(delivery={"watermark": 5}, read={"watermark": 5})):
        [e] = translate.parse(_body([item]), source=SOURCE)
        assert e.data["kind"] == "delivery_watermark"


def test_two_accounts_and_two_pages_keep_their_own_conversation_keys() -> None:
    item = _item(message={"mid": "m_a", "text": "a"})
    for source in (SOURCE, "/messenger/other", SOURCE):
        for page in (PAGE, "105000000000002"):
            item["recipient"]["id"] = page
            [e] = translate.parse(_body([item], page=page), source=source)
            assert e.partitionkey == f"{source[1:]}:messenger:{page}:{PSID}"
