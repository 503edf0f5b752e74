"""The CloudEvent envelope: JSON writer parity with the cloudevents SDK, round trips, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from omnisdk import events
from omnisdk.events import (
    EVENT_TYPES,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_STATUS,
    Event,
    dumps,
    epoch_to_rfc3339,
    from_http,
    loads,
    rfc3339,
    to_http,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def full_event() -> Event:
    return Event(
        id="wamid.HBgLMTQxNTU1NTAxMDAVAgASGBQzQTdGRjQ1",
        source="/whatsapp/acme",
        type=TYPE_MESSAGE_RECEIVED,
        data={"text": "héllo ✓", "count": 2, "nested": {"ok": True, "list": [1, "a", None]}},
        time="2023-10-11T16:53:43Z",
        subject="conversation/whatsapp:+14155550100",
        partitionkey="whatsapp:acme:+14155550100",
        correlationid="corr-1",
        causationid="cause-1",
        traceparent=TRACEPARENT,
    )


def minimal_event() -> Event:
    return Event(id="SM123", source="/sms/main", type=TYPE_MESSAGE_STATUS)


EVENTS = pytest.mark.parametrize(
    "event", [full_event(), minimal_event()], ids=["full", "minimal"]
)


# --- parity of the two JSON writers ---------------------------------------------------------


@EVENTS
def test_dumps_matches_sdk_structured_writer(event: Event) -> None:
    headers, body = to_http(event)
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert orjson.loads(dumps(event)) == json.loads(body)


def test_full_event_document_carries_every_attribute() -> None:
    doc = orjson.loads(dumps(full_event()))
    assert doc["specversion"] == "1.0"
    assert doc["time"] == "2023-10-11T16:53:43Z"
    assert doc["subject"] == "conversation/whatsapp:+14155550100"
    for ext in ("partitionkey", "correlationid", "causationid", "traceparent"):
        assert doc[ext] == getattr(full_event(), ext)
    assert doc["data"]["text"] == "héllo ✓"


def test_minimal_event_document_has_no_optional_attributes() -> None:
    # Neither writer may invent attributes (the SDK stamps a missing ``time`` with "now").
    expected = {
        "specversion": "1.0",
        "id": "SM123",
        "source": "/sms/main",
        "type": TYPE_MESSAGE_STATUS,
        "datacontenttype": "application/json",
    }
    assert orjson.loads(dumps(minimal_event())) == expected
    assert json.loads(to_http(minimal_event())[1]) == expected
    headers, _ = to_http(minimal_event(), binary=True)
    assert "ce-time" not in {k.lower() for k in headers}


# --- round trips ------------------------------------------------------------------------------


@EVENTS
def test_loads_dumps_round_trip(event: Event) -> None:
    assert loads(dumps(event)) == event
    assert loads(dumps(event).decode()) == event


@EVENTS
def test_http_structured_round_trip(event: Event) -> None:
    assert from_http(*to_http(event)) == event


@EVENTS
def test_http_binary_round_trip(event: Event) -> None:
    headers, body = to_http(event, binary=True)
    assert any(k.lower() == "ce-id" for k in headers)
    assert from_http(headers, body) == event


def test_binary_mode_carries_extensions_as_headers() -> None:
    headers, body = to_http(full_event(), binary=True)
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower["ce-partitionkey"] == "whatsapp:acme:+14155550100"
    assert lower["ce-correlationid"] == "corr-1"
    assert lower["ce-causationid"] == "cause-1"
    assert lower["ce-traceparent"] == TRACEPARENT
    assert json.loads(body) == full_event().data


def test_from_http_accepts_mixed_case_headers() -> None:
    headers, body = to_http(full_event(), binary=True)
    shouted = {k.title(): v for k, v in headers.items()}
    assert from_http(shouted, body) == full_event()


def test_loads_accepts_a_foreign_v1_document() -> None:
    doc = {
        "specversion": "1.0",
        "id": "x-1",
        "source": "/email/support",
        "type": "io.omnisdk.message.received",
        "partitionkey": "pk",
    }
    ev = loads(json.dumps(doc))
    assert (ev.id, ev.source, ev.type, ev.partitionkey) == ("x-1", "/email/support", doc["type"], "pk")
    assert ev.data is None and ev.time is None


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"[]", b"[1, 2]", b'"a string"', b"42", b"null", b"true"])
def test_loads_rejects_non_object_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        loads(raw)


def test_loads_rejects_invalid_json() -> None:
    with pytest.raises(ValueError):
        loads(b"{not json")


@pytest.mark.parametrize("missing", ["id", "source", "type"])
def test_loads_rejects_missing_required_attribute(missing: str) -> None:
    doc = minimal_event().to_dict()
    del doc[missing]
    with pytest.raises(ValueError, match=missing):
        loads(orjson.dumps(doc))


@pytest.mark.parametrize("missing", ["id", "source", "type"])
def test_loads_rejects_empty_required_attribute(missing: str) -> None:
    doc = minimal_event().to_dict()
    doc[missing] = ""
    with pytest.raises(ValueError):
        loads(orjson.dumps(doc))


def test_loads_rejects_other_specversion() -> None:
    doc = minimal_event().to_dict()
    doc["specversion"] = "0.3"
    with pytest.raises(ValueError, match="specversion"):
        loads(orjson.dumps(doc))


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"content-type": "application/cloudevents+json"}, b"garbage"),
        ({"content-type": "application/cloudevents+json"}, b"{}"),
        ({"content-type": "application/cloudevents+json"}, b"[1]"),
        ({"ce-id": "1"}, b"garbage"),
        ({}, b""),
        ({"content-type": "text/plain"}, b"\xff\xfe"),
    ],
    ids=["structured-garbage", "structured-empty-object", "structured-list", "binary-partial", "empty", "bytes"],
)
def test_from_http_rejects_garbage(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(ValueError):
        from_http(headers, body)


def test_from_http_rejects_other_specversion() -> None:
    doc = minimal_event().to_dict()
    doc["specversion"] = "0.3"
    with pytest.raises(ValueError):
        from_http({"content-type": "application/cloudevents+json"}, orjson.dumps(doc))


# --- times ------------------------------------------------------------------------------------


def test_epoch_to_rfc3339_string_and_int() -> None:
    assert epoch_to_rfc3339("1697043223") == "2023-10-11T16:53:43Z"
    assert epoch_to_rfc3339(1697043223) == "2023-10-11T16:53:43Z"
    assert epoch_to_rfc3339(0) == "1970-01-01T00:00:00Z"


def test_epoch_to_rfc3339_truncates_fractions() -> None:
    assert epoch_to_rfc3339("1697043223.999") == "2023-10-11T16:53:43Z"


@pytest.mark.parametrize("bad", ["", "abc", "12:00", "nan"])
def test_epoch_to_rfc3339_rejects_non_numeric(bad: str) -> None:
    with pytest.raises(ValueError):
        epoch_to_rfc3339(bad)


def test_rfc3339_utc_ends_with_z() -> None:
    value = datetime(2023, 10, 11, 16, 53, 43, tzinfo=UTC)
    assert rfc3339(value) == "2023-10-11T16:53:43Z"
    with_micros = datetime(2023, 10, 11, 16, 53, 43, 120000, tzinfo=UTC)
    assert rfc3339(with_micros) == "2023-10-11T16:53:43.120000Z"


def test_rfc3339_keeps_other_offsets() -> None:
    value = datetime(2023, 10, 11, 18, 53, 43, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(value) == "2023-10-11T18:53:43+02:00"


def test_now_rfc3339_is_utc() -> None:
    s = events.now_rfc3339()
    assert s.endswith("Z")
    assert datetime.fromisoformat(s.replace("Z", "+00:00")).tzinfo is not None


# --- type names -------------------------------------------------------------------------------


def test_event_types_are_namespaced_and_unique() -> None:
    assert EVENT_TYPES, "no event types collected"
    for t in EVENT_TYPES:
        assert t.startswith("io.omnisdk."), t
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))


def test_event_types_collects_every_type_constant() -> None:
    constants = {
        v for k, v in vars(events).items() if k.startswith("TYPE_") and k != "TYPE_PREFIX"
    }
    assert set(EVENT_TYPES) == constants
    assert TYPE_MESSAGE_RECEIVED in EVENT_TYPES
    assert events.TYPE_PREFIX not in EVENT_TYPES


def test_with_returns_changed_copy() -> None:
    e = minimal_event()
    e2 = e.with_(partitionkey="pk")
    assert e2.partitionkey == "pk" and e.partitionkey is None
    assert e2.to_dict()["partitionkey"] == "pk"
