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


@FUZZ
@given(st.integers(0, 253402300799))
def test_fast_rfc3339_matches_core(secs):
    assert translate.rfc3339(secs) == epoch_to_rfc3339(secs)
