"""Inbound: the JWT, bounded gunzip, the headers, and what each recorded message type becomes."""

from __future__ import annotations

import gzip

import orjson
import pytest

from omnisdk import events as ev
from omnisdk.errors import PayloadError, PayloadTooLargeError, SignatureError

BUSINESS = "00000000-0000-4000-8000-00000000b001"
CUSTOMER = "urn:mbid:AQAAY0xhbXBsZUN1c3RvbWVyT3BhcXVlSWQwMDAx"
IAT = 1893456000


def test_a_gzipped_text_verifies_and_parses_with_its_headers(adapter, apple, recs):
    req = apple(recs["message/text"].body)
    adapter.verify(req)
    [e] = adapter.parse(req)
    assert e.type == ev.TYPE_MESSAGE_RECEIVED and e.id == "6f7c1a52-8a3b-4d1e-9f2a-000000000001"
    assert e.data["text"] == "Hello, I need help with my order 🍎"
    assert (e.data["customer"], e.data["business"], e.data["language"]) == (CUSTOMER, BUSINESS, "en-US")
    assert e.data["extra"]["capabilities"] == ["list", "time", "quick"]
    assert e.data["extra"]["device_agent"] == "iPhone OS"
    assert e.time == "2030-01-01T00:00:00Z"
    assert e.partitionkey == f"apple_business/acme:apple_business:{BUSINESS}:{CUSTOMER}"


@pytest.mark.parametrize("iat, reason", [(IAT - 601, "stale_signature"), (IAT + 61, "stale_signature")])
def test_an_expired_or_future_jwt_is_refused(adapter, apple, recs, jwt_for, iat, reason):
    req = apple(recs["message/text"].body, auth="Bearer " + jwt_for(adapter, iat=iat))
    with pytest.raises(SignatureError) as info:
        adapter.verify(req)
    assert info.value.reason == reason and info.value.status == 401


def test_a_wrong_audience_is_refused(adapter, apple, recs, jwt_for):
    req = apple(recs["message/text"].body, auth="Bearer " + jwt_for(adapter, audience="another-msp"))
    with pytest.raises(SignatureError) as info:
        adapter.verify(req)
    # the core has no code of its own for a token made for another MSP: bad_signature, and the
    # message (logged by the gateway, never sent) says it is the audience
    assert info.value.reason == "bad_signature" and "(aud)" in str(info.value)


def test_a_token_signed_with_the_raw_secret_text_is_refused(adapter, apple, recs):
    """The key is the base64-*decoded* secret: signing with its text is Apple's common mistake."""
    import jwt

    raw = adapter.settings.msp_secret.get_secret_value().encode()
    forged = jwt.encode({"aud": adapter.settings.msp_id, "iat": IAT}, raw, algorithm="HS256")
    with pytest.raises(SignatureError):
        adapter.verify(apple(recs["message/text"].body, auth="Bearer " + forged))


def test_a_decompression_bomb_is_413_and_bounded(adapter, apple):
    bomb = gzip.compress(b'{"v":1,"type":"text","body":"' + b"a" * (8 << 20) + b'"}')
    assert len(bomb) < 20_000
    req = apple(b'{"id":"x","sourceId":"y","destinationId":"z"}', gzipped=False)
    req = type(req)(req.method, req.url, {**req.headers, "content-encoding": "gzip"}, bomb,
                    received_at=req.received_at)
    with pytest.raises(PayloadTooLargeError) as info:
        adapter.parse(req)
    assert info.value.status == 413


def test_broken_gzip_is_a_payload_error(adapter, apple, recs):
    req = apple(recs["message/text"].body)
    cut = type(req)(req.method, req.url, req.headers, req.body[:-6], received_at=req.received_at)
    with pytest.raises(PayloadError):
        adapter.parse(cut)


def test_a_header_unlike_the_body_is_refused(adapter, apple, recs):
    with pytest.raises(PayloadError):
        adapter.parse(apple(recs["message/text"].body, headers={"destination-id": "another-business"}))


def test_list_and_time_picker_replies(adapter, apple, recs):
    [lp] = adapter.parse(apple(recs["message/list_picker_reply"].body))
    assert lp.data["kind"] == "interactive_reply"
    assert lp.data["interactive"] == {"reply_type": "list_picker", "id": "1", "title": "Apple",
                                      "description": "Red and delicious"}
    assert lp.data["extra"]["request_identifier"] == "2b1a5e4c-3d6f-4a8b-9c0d-1e2f3a4b5c6d"
    [many] = adapter.parse(apple(recs["message/list_picker_multiple"].body))
    assert many.data["interactive"]["id"] == "1,3" and many.data["interactive"]["title"] == "Apple, Banana"
    [tp] = adapter.parse(apple(recs["message/time_picker_reply"].body))
    assert tp.data["interactive"] == {"reply_type": "time_picker", "id": "2", "title": "Apple Store appointment",
                                      "description": "2024-06-03T16:00+0000"}
    assert tp.data["extra"]["timeslots"] == [{"identifier": "2", "start_time": "2024-06-03T16:00+0000",
                                              "duration": 3600}]


def test_attachments_keep_their_metadata_and_download_reference(adapter, apple, recs):
    [e] = adapter.parse(apple(recs["message/attachment"].body))
    assert e.data["kind"] == "media" and e.data["text"] == "Here is the receipt"
    [att] = e.data["attachments"]
    assert (att["media_type"], att["mime_type"], att["filename"], att["size"]) == \
        ("image", "image/jpeg", "receipt.jpeg", 67497)
    [ref] = e.data["extra"]["attachments"]
    assert ref["key"].startswith("00") and ref["owner"] and ref["url"] == att["media_id"]


def test_typing_close_and_unknown_types(adapter, apple, recs):
    kinds = {name: adapter.parse(apple(recs[f"message/{name}"].body))[0]
             for name in ("typing_start", "typing_end", "close", "rich_link_unsupported",
                          "interactive_data_ref", "apple_pay_unsupported")}
    assert kinds["typing_start"].type == ev.TYPE_PROVIDER_NOTICE and kinds["typing_start"].data["kind"] == "typing_start"
    assert kinds["typing_end"].data["kind"] == "typing_end"
    close = kinds["close"]
    assert close.type == ev.TYPE_CONVERSATION_CLOSED
    assert (close.data["customer"], close.data["business"]) == (CUSTOMER, BUSINESS)
    for name in ("rich_link_unsupported", "interactive_data_ref", "apple_pay_unsupported"):
        assert kinds[name].type == ev.TYPE_MESSAGE_UNSUPPORTED and kinds[name].data["extra"]["raw"]


def test_an_undocumented_type_is_unsupported_never_a_crash(adapter, apple, recs):
    doc = orjson.loads(recs["message/text"].body)
    doc["type"] = ["not", "a", "string"]
    [e] = adapter.parse(apple(orjson.dumps(doc)))
    assert e.type == ev.TYPE_MESSAGE_UNSUPPORTED
