"""Bounded JSON decoding (``omnisdk.payloads``): depth and size limits before parsing (issue 8, B4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisdk import payloads
from omnisdk.errors import PayloadError
from omnisdk_whatsapp import WhatsAppAdapter

LINE = Path(__file__).parent / "data" / "line_webhook.json"  # provenance: tests/data/SOURCES.md
WHATSAPP = sorted(p for p in Path(WhatsAppAdapter.recordings).glob("*.json")
                  if p.name != "real_text_message.json")  # each a dict of named payloads


def depth(doc: Any) -> int:
    """Nesting depth of a decoded document: 0 for a scalar, 1 for ``[]`` / ``{}``."""
    if isinstance(doc, list):
        return 1 + max((depth(v) for v in doc), default=0)
    if isinstance(doc, dict):
        return 1 + max((depth(v) for v in doc.values()), default=0)
    return 0


def real_bodies() -> list[bytes]:
    """LINE's webhook file as is, and every named WhatsApp payload as compact JSON."""
    out = [LINE.read_bytes()]
    for path in WHATSAPP:
        out += [orjson.dumps(v) for v in json.loads(path.read_text(encoding="utf-8")).values()]
    return out


def with_deep_value(body: bytes, total: int) -> bytes:
    """The LINE webhook with an array added to its first event so that the document is exactly
    ``total`` levels deep (the event object is at level 3: {} > events[] > {})."""
    doc = orjson.loads(body)
    doc["events"][0]["deep"] = "SENTINEL"
    inner = total - 3
    return orjson.dumps(doc).replace(b'"SENTINEL"', b"[" * inner + b"]" * inner)


def test_real_bodies_decode_as_orjson_does_and_depths_are_exact():
    bodies = real_bodies()
    assert len(bodies) > 20
    for body in bodies:
        assert payloads.loads(body) == orjson.loads(body)
        d = depth(orjson.loads(body))
        assert not payloads.nesting_exceeds(body, d)
        assert payloads.nesting_exceeds(body, d - 1)


def test_the_line_webhook_takes_the_exact_path():
    """More than 64 opening brackets in all (28 events), so the cheap count is not enough and the
    exact check runs — and accepts it."""
    body = LINE.read_bytes()
    assert body.count(b"{") + body.count(b"[") > payloads.MAX_DEPTH
    assert payloads.loads(body)["destination"] == "U123"


@pytest.mark.parametrize("total", [payloads.MAX_DEPTH - 1, payloads.MAX_DEPTH])
def test_depth_at_the_limit_is_accepted(total):
    body = with_deep_value(LINE.read_bytes(), total)
    assert depth(payloads.loads(body)) == total
    orjson.dumps(payloads.loads(body))  # and it can be written back (the inbox does)


@pytest.mark.parametrize("total", [payloads.MAX_DEPTH + 1, 253, 254, 300, 512, 1000, 1024, 1025, 5000])
def test_deeper_is_malformed_payload_before_parsing(total, monkeypatch):
    body = with_deep_value(LINE.read_bytes(), total)

    def no_parse(_: bytes) -> Any:
        raise AssertionError("parsed a body over the depth limit")

    monkeypatch.setattr(payloads.orjson, "loads", no_parse)
    with pytest.raises(PayloadError) as info:
        payloads.loads(body)
    assert info.value.reason == "malformed_payload" and info.value.status == 400
    assert f"deeper than {payloads.MAX_DEPTH}" in str(info.value)


def test_max_depth_is_a_parameter():
    body = LINE.read_bytes()
    d = depth(orjson.loads(body))
    assert payloads.loads(body, max_depth=d)
    with pytest.raises(PayloadError):
        payloads.loads(body, max_depth=d - 1)


def test_size_limit_is_checked_before_parsing():
    body = LINE.read_bytes()
    assert payloads.loads(body, max_bytes=len(body))
    with pytest.raises(PayloadError) as info:
        payloads.loads(body, max_bytes=len(body) - 1)
    assert info.value.reason == "malformed_payload" and "exceeds" in str(info.value)
    assert payloads.MAX_BYTES == 1 << 20


def test_brackets_and_escapes_inside_strings_do_not_count():
    doc = orjson.loads(LINE.read_bytes())
    doc["events"][0]["message"]["text"] = '[{"' * 500 + "\\" + '\\"]]' + "\\\\"
    body = orjson.dumps(doc)
    assert payloads.loads(body) == doc
    assert not payloads.nesting_exceeds(body, depth(doc))


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": [}', b"\xff", b'["unterminated', b"]" * 70, b"[" * 70])
def test_invalid_json_is_malformed_payload(body):
    with pytest.raises(PayloadError) as info:
        payloads.loads(body)
    assert info.value.reason == "malformed_payload"


_TEXT = st.text(alphabet=st.sampled_from(list('ab[]{}"\\/\u00e9\n')), max_size=6)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(doc=_JSON, limit=st.integers(0, 12))
def test_nesting_exceeds_is_exact(doc, limit):
    body = orjson.dumps(doc)
    assert payloads.nesting_exceeds(body, limit) == (depth(doc) > limit)
