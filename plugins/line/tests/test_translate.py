"""Every recorded LINE event type → its CloudEvent (the real line-bot-sdk payloads)."""

from __future__ import annotations

import json

import pytest

from omnisdk import events as ev
from omnisdk.errors import PayloadError
from omnisdk.testkit.checks.events import event_problems
from omnisdk_line import translate

SOURCE = "/line/acme"
USER = "U206d25c2ea6bd87c17655609a1c37cb8"
GROUP = "Ca56f94637cc4347f90a25382909b24b9"


def parse(rec) -> list[ev.Event]:
    return translate.parse(rec.body, source=SOURCE)


def one(recs, name: str) -> ev.Event:
    [event] = parse(recs[name])
    assert not event_problems([event], SOURCE)
    return event


EXPECTED_TYPES = {
    "message_text": ev.TYPE_MESSAGE_RECEIVED, "message_image_room": ev.TYPE_MESSAGE_RECEIVED,
    "message_video": ev.TYPE_MESSAGE_RECEIVED, "message_audio": ev.TYPE_MESSAGE_RECEIVED,
    "message_location": ev.TYPE_MESSAGE_RECEIVED, "message_sticker": ev.TYPE_MESSAGE_RECEIVED,
    "message_file": ev.TYPE_MESSAGE_RECEIVED, "message_image_set": ev.TYPE_MESSAGE_RECEIVED,
    "message_text_group": ev.TYPE_MESSAGE_RECEIVED, "message_text_room": ev.TYPE_MESSAGE_RECEIVED,
    "message_text_redelivered": ev.TYPE_MESSAGE_RECEIVED,
    "postback_datetime": ev.TYPE_MESSAGE_RECEIVED, "postback_date": ev.TYPE_MESSAGE_RECEIVED,
    "postback_time": ev.TYPE_MESSAGE_RECEIVED, "postback_datetime_2": ev.TYPE_MESSAGE_RECEIVED,
    "follow": ev.TYPE_CONTACT_CHANGED, "unfollow": ev.TYPE_CONTACT_CHANGED,
    "member_joined": ev.TYPE_CONTACT_CHANGED, "member_left": ev.TYPE_CONTACT_CHANGED,
    "account_link": ev.TYPE_CONTACT_CHANGED,
    "join": ev.TYPE_PROVIDER_NOTICE, "leave": ev.TYPE_PROVIDER_NOTICE,
    "beacon": ev.TYPE_PROVIDER_NOTICE, "beacon_dm": ev.TYPE_PROVIDER_NOTICE,
    "video_play_complete": ev.TYPE_PROVIDER_NOTICE,
    "unsend": ev.TYPE_MESSAGE_DELETED,
    "unknown_message_edited": ev.TYPE_MESSAGE_UNSUPPORTED,
    "unknown_undefined": ev.TYPE_MESSAGE_UNSUPPORTED,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_every_event_type_is_mapped(recs, name: str) -> None:
    event = one(recs, name)
    assert event.type == EXPECTED_TYPES[name]
    raw = json.loads(recs[name].body)["events"][0]
    assert event.id == raw["webhookEventId"]
    assert event.source == SOURCE
    assert event.data["business"] == "U123"
    assert event.time == translate.ms_to_rfc3339(raw["timestamp"])


def test_every_split_recording_is_covered(recs) -> None:
    assert set(recs) - {"webhook_batch", "console_verify"} == set(EXPECTED_TYPES)


def test_text_message(recs) -> None:
    e = one(recs, "message_text")
    assert e.subject == "325708" and e.time == "2016-05-07T13:57:59.859Z"
    assert e.partitionkey == f"line/acme:line:U123:{USER}"
    d = e.data
    assert (d["kind"], d["text"], d["customer"], d["channel"]) == ("text", "Hello, world", USER, "line")
    assert d["extra"]["reply_token"] == "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
    assert d["extra"]["quote_token"] == "quoteToken"
    assert d["extra"]["is_redelivery"] is False


def test_group_and_room_conversations_are_the_chat(recs) -> None:
    g = one(recs, "message_text_group").data
    assert (g["customer"], g["extra"]["source_type"], g["extra"]["user_id"]) == (GROUP, "group", USER)
    r = one(recs, "message_text_room").data
    assert r["customer"] == "Ra8dbf4673c4c812cd491258042226c99" and r["extra"]["user_id"] == USER


def test_media_attachments_by_content_id_or_url(recs) -> None:
    [a] = one(recs, "message_image_set").data["attachments"]
    assert (a["media_type"], a["media_id"]) == ("image", "354718705033693861")
    [a] = one(recs, "message_image_room").data["attachments"]
    assert (a["media_type"], a["media_id"], a["url"]) == ("image", None, "https://example.com")
    [a] = one(recs, "message_file").data["attachments"]
    assert (a["media_type"], a["media_id"], a["filename"], a["size"]) == ("document", "325708", "file.txt", 2138)
    assert one(recs, "message_video").data["extra"]["duration_ms"] == 60000
    d = one(recs, "message_sticker").data
    assert d["attachments"][0]["media_type"] == "sticker"
    assert d["extra"]["sticker"]["package_id"] == "1"


def test_location(recs) -> None:
    loc = one(recs, "message_location").data["location"]
    assert loc["latitude"] == 35.65910807942215 and loc["name"] == "my location"


def test_postback_is_an_interactive_reply(recs) -> None:
    d = one(recs, "postback_date").data
    assert d["kind"] == "interactive_reply"
    assert d["interactive"] == {"reply_type": "postback", "id": "action=buyItem&itemId=123123&color=red",
                                "title": None, "description": None}
    assert d["extra"]["postback_params"] == {"date": "2013-04-01"}


def test_unsend_is_a_deletion(recs) -> None:
    e = one(recs, "unsend")
    assert e.subject == "325708" and e.id != "325708"
    assert e.data["customer"] == GROUP and e.data["message_id"] == "325708"


def test_members_and_follow(recs) -> None:
    assert one(recs, "member_joined").data["extra"]["members"] == ["U4af4980629...", "U91eeaf62d9..."]
    assert one(recs, "follow").data["extra"]["follow"] == {"isUnblocked": True}
    assert one(recs, "unfollow").data["kind"] == "unfollow"


@pytest.mark.parametrize("name, kind", [("unknown_message_edited", "messageEdited"),
                                        ("unknown_undefined", "undefined")])
def test_unknown_types_are_unsupported(recs, name: str, kind: str) -> None:
    d = one(recs, name).data
    assert d["kind"] == "unsupported" and d["extra"]["type"] == kind
    assert d["extra"]["raw"]["type"] == kind


def test_redelivery_flag_kept_and_id_stable(recs) -> None:
    assert one(recs, "message_text_redelivered").data["extra"]["is_redelivery"] is True
    doc = json.loads(recs["message_text"].body)
    doc["events"][0]["deliveryContext"]["isRedelivery"] = True
    [again] = translate.parse(json.dumps(doc).encode(), source=SOURCE)
    [first] = parse(recs["message_text"])
    assert again.id == first.id  # LINE keeps webhookEventId on redelivery: deduplicated
    assert again.data["extra"]["is_redelivery"] is True


def test_batch_gives_every_event(recs) -> None:
    events = parse(recs["webhook_batch"])
    assert len(events) == 28 and len({e.id for e in events}) == 28
    assert not event_problems(events, SOURCE)


def test_console_verify_gives_no_event(recs) -> None:
    assert parse(recs["console_verify"]) == []


def test_unknown_message_type_and_source(recs) -> None:
    doc = json.loads(recs["message_text"].body)
    doc["events"][0]["message"]["type"] = "hologram"
    [e] = translate.parse(json.dumps(doc).encode(), source=SOURCE)
    assert e.type == ev.TYPE_MESSAGE_UNSUPPORTED and e.data["extra"]["type"] == "hologram"
    doc["events"][0]["source"] = {"type": "planet", "planetId": "P1"}
    [e] = translate.parse(json.dumps(doc).encode(), source=SOURCE)
    assert e.type == ev.TYPE_PROVIDER_NOTICE and e.data["reason"] == "unsupported_source"


@pytest.mark.parametrize("body", [
    b"", b"[]", b'{"events": []}', b'{"destination": "U1"}', b'{"destination": "U1", "events": {}}',
    b'{"destination": "U1", "events": [1]}',
    b'{"destination": "U1", "events": [{"type": "message", "timestamp": 1}]}',
    b'{"destination": "U1", "events": [{"type": "follow", "webhookEventId": "X", "timestamp": "1"}]}',
    b'{"destination": "U1", "events": [{"type": "follow", "webhookEventId": "X", "timestamp": 1,'
    b' "source": {"type": "user"}}]}',
])
def test_malformed_bodies_raise_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        translate.parse(body, source=SOURCE)
