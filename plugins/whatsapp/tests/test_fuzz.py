"""Whatever the bytes, ``parse`` returns events or raises PayloadError — nothing else.

Events it does return carry ``data`` that validates with the core's models.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisdk.errors import PayloadError
from omnisdk.events import (
    TYPE_MESSAGE_EDITED,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_STATUS,
    TYPE_MESSAGE_UNSUPPORTED,
    Event,
    epoch_to_rfc3339,
)
from omnisdk.model import Message, StatusUpdate
from omnisdk.recordings import load
from omnisdk.testkit.fuzz import json_mutations
from omnisdk_whatsapp import translate
from omnisdk_whatsapp.adapter import WhatsAppAdapter

RECORDINGS = load(WhatsAppAdapter.recordings)
BODIES = [r.body for r in RECORDINGS]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MESSAGE_TYPES = {TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_UNSUPPORTED, TYPE_MESSAGE_EDITED}


def check(body: bytes) -> list[Event] | None:
    """Parse; PayloadError is fine, any other exception fails the test; events must validate."""
    try:
        events = translate.parse(body, source="/whatsapp/fuzz", received_at="2030-01-01T00:00:00Z")
    except PayloadError:
        return None
    assert isinstance(events, list)
    for e in events:
        assert isinstance(e, Event) and e.id and e.source == "/whatsapp/fuzz"
        orjson.dumps(e.to_dict())
        if e.type in MESSAGE_TYPES:
            Message.model_validate(e.data)
        elif e.type == TYPE_MESSAGE_STATUS:
            StatusUpdate.model_validate(e.data)
    return events


@pytest.mark.parametrize("body", BODIES, ids=[r.name for r in RECORDINGS])
def test_every_prefix_truncation(body):
    for n in range(len(body)):
        check(body[:n])
    assert check(body)  # the whole body parses to events


@FUZZ
@given(
    body=st.sampled_from(BODIES),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                   min_size=1, max_size=4),
)
def test_random_byte_mutations(body, edits):
    buf = bytearray(body)
    for where, byte in edits:
        buf[int(where * len(buf))] = byte
    check(bytes(buf))


@FUZZ
@given(body=json_mutations(BODIES))  # the test kit's structural mutations of recorded bodies
def test_structural_mutations(body):
    check(body)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"object": "page"}',
        b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",'
        b'"value":{"messages":[{}]}}]}]}',
        b'{"object":"whatsapp_business_account","entry":[null]}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[null]}]}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
        b'"value":{"metadata":{"phone_number_id":"2"},"messages":[{"id":"w","from":"1",'
        b'"timestamp":"1e999","type":"text","text":{"body":"x"}}]}}]}]}',
        b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
        b'"value":{"metadata":{"phone_number_id":"2"},"messages":[{"id":"w","from":"1",'
        b'"timestamp":99999999999999,"type":"text","text":{"body":"x"}}]}}]}]}',
        b"\xff\xfe{}",
        b'{"object":"whatsapp_business_account","entry":[' * 200,
    ],
)
def test_hand_picked_malformed(body):
    assert check(body) is None


def test_odd_contacts_are_tolerated():
    # contacts only feed customer_name: an unhashable wa_id is ignored, the message kept
    body = (b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":'
            b'"messages","value":{"metadata":{"phone_number_id":"2"},"contacts":[{"wa_id":["x"],'
            b'"profile":{"name":"N"}}],"messages":[{"id":"w","from":"1","type":"text",'
            b'"text":{"body":"x"}}]}}]}]}')
    (event,) = check(body)
    assert event.data["customer_name"] is None and event.data["text"] == "x"


def test_a_system_message_whose_type_is_a_list_is_no_crash():
    """The real system-change recording with its ``system.type`` made a list (what CI's fuzz
    run found: an unhashable value looked up in a set raised TypeError)."""
    rec = next(r for r in RECORDINGS if b'"system"' in r.body and b"changed from" in r.body)
    doc = orjson.loads(rec.body)
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["type"] = []
    events = check(orjson.dumps(doc))
    assert events is None or all(e.type != "io.omnisdk.contact.changed" for e in events)


@FUZZ
@given(st.integers(0, 253402300799))
def test_fast_rfc3339_matches_core(secs):
    assert translate.rfc3339(secs) == epoch_to_rfc3339(secs)


# --- depth and size limits (issue 8, B4) ------------------------------------------------------

from omnisdk import payloads  # noqa: E402
from omnisdk.testkit.fuzz import DEEP_NESTING_DEPTHS, deeply_nested, nested_into  # noqa: E402


def _as_notice(body: bytes) -> bytes:
    """A recorded webhook whose change is re-labelled ``account_update``: the translator keeps
    its value verbatim as a provider notice's ``raw`` (where deep values used to break it)."""
    doc = orjson.loads(body)
    doc["entry"][0]["changes"][0]["field"] = "account_update"
    return orjson.dumps(doc)


NOTICE = _as_notice(next(r.body for r in RECORDINGS if r.name == "real_text_message"))


def _refused_as_too_deep(body: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        translate.parse(body, source="/whatsapp/fuzz", received_at="2030-01-01T00:00:00Z")
    assert info.value.reason == "malformed_payload" and info.value.status == 400
    assert "nested deeper than 64" in str(info.value)


@pytest.mark.parametrize("depth", DEEP_NESTING_DEPTHS)
def test_deep_nesting_is_refused_before_parsing(depth):
    """B4: bodies nested 254–1,024 levels deep (orjson reads them, but cannot write them back)
    are refused as malformed_payload, wherever the deep value sits: in a message, a status, or
    the raw value of a provider notice (which used to raise TypeError from the digest)."""
    bodies = [*deeply_nested(depth), *(b for body in BODIES for b in nested_into(body, depth, most=2))]
    assert len(bodies) > len(BODIES)
    for body in bodies:
        _refused_as_too_deep(body)


def _notice_with_depth(total: int) -> bytes:
    """A recorded non-``messages`` change whose value holds an array nested so that the whole
    body is ``total`` levels deep."""
    doc = orjson.loads(NOTICE)
    value = doc["entry"][0]["changes"][0]["value"]
    # object > entry[] > {} > changes[] > {} > value{} : 6 levels above value's members
    value["deep"] = "SENTINEL"
    raw = orjson.dumps(doc)
    inner = total - 6
    return raw.replace(b'"SENTINEL"', b"[" * inner + b"]" * inner)


def test_the_depth_limit_is_exact_on_a_real_notice():
    at_limit = _notice_with_depth(payloads.MAX_DEPTH)
    assert not payloads.nesting_exceeds(at_limit) and payloads.nesting_exceeds(at_limit, 63)
    (event,) = check(at_limit)  # parsed, and the event (raw value included) serialises
    assert event.data["raw"]["deep"]
    _refused_as_too_deep(_notice_with_depth(payloads.MAX_DEPTH + 1))


def test_a_body_over_the_size_limit_is_refused_before_parsing():
    padded = NOTICE + b" " * (payloads.MAX_BYTES - len(NOTICE))
    assert check(padded)  # exactly at the limit: still the same document
    with pytest.raises(PayloadError) as info:
        translate.parse(padded + b" ", source="/whatsapp/fuzz", received_at="2030-01-01T00:00:00Z")
    assert info.value.reason == "malformed_payload" and "exceeds" in str(info.value)


def test_brackets_inside_strings_do_not_count():
    doc = orjson.loads(NOTICE)
    doc["entry"][0]["changes"][0]["value"]["text"] = "[{" * 600 + '\\"]'
    (event,) = check(orjson.dumps(doc))
    assert event.data["raw"]["text"].startswith("[{[{")
