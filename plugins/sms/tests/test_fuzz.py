"""Hypothesis: mutated recordings give events or PayloadError (never another exception), and
the fast form decoder agrees with urllib.parse.parse_qsl."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisdk.adapters import WebhookRequest
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import TYPE_MESSAGE_RECEIVED
from omnisdk.model import Message, StatusUpdate
from omnisdk_sms import TwilioSmsAdapter
from omnisdk_sms.forms import MAX_FIELDS, decode_form

URL = "https://hooks.example.com/webhooks/sms/acme"
ADAPTER = TwilioSmsAdapter("acme", TwilioSmsAdapter.example_settings())
NAMES = sorted(p.stem for p in Path(TwilioSmsAdapter.recordings).glob("*.form"))
BODIES = {name: (Path(TwilioSmsAdapter.recordings) / f"{name}.form").read_bytes() for name in NAMES}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_ok_or_payload_error(body: bytes) -> None:
    request = WebhookRequest("POST", URL, {}, body, received_at="2025-11-21T15:42:00Z")
    try:
        events = ADAPTER.parse(request)
    except PayloadError:
        return
    assert len(events) == 1
    event = events[0]
    model = Message if event.type == TYPE_MESSAGE_RECEIVED else StatusUpdate
    model.model_validate(event.data)  # whatever survives is still a valid shape


def _verify_ok_or_signature_error(body: bytes, header: str) -> None:
    request = WebhookRequest("POST", URL, {"x-twilio-signature": header}, body)
    try:
        ADAPTER.verify(request)
    except SignatureError:
        pass


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_truncations(name, data):
    body = BODIES[name]
    cut = data.draw(st.integers(0, len(body)))
    _parse_ok_or_payload_error(body[:cut])
    _parse_ok_or_payload_error(body[cut:])


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_byte_mutations(name, data):
    body = bytearray(BODIES[name])
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        i = data.draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "delete" and body:
            del body[i]
        else:
            byte = data.draw(
                st.sampled_from([0x00, 0x25, 0x26, 0x2B, 0x3D, 0x80, 0xFF]) | st.integers(0, 255)
            )
            if op == "insert":
                body.insert(i, byte)
            elif body:
                body[i] = byte
    mutated = bytes(body)
    _parse_ok_or_payload_error(mutated)
    header = ADAPTER.sign(URL, BODIES[name], "application/x-www-form-urlencoded")[
        "X-Twilio-Signature"
    ]
    _verify_ok_or_signature_error(mutated, header)


@FUZZ
@given(header=st.text(max_size=60), body=st.binary(max_size=200))
def test_any_header_and_body_give_only_signature_errors(header, body):
    _verify_ok_or_signature_error(body, header)


FORM_TEXT = st.text(
    alphabet=st.sampled_from(list("ab=&+%%0123456789AFaf ~é😀\x00")), max_size=60
) | st.text(max_size=40)


@settings(max_examples=500, deadline=None)
@given(text=FORM_TEXT)
def test_decoder_matches_parse_qsl(text):
    try:
        expected = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError is a ValueError too
        with pytest.raises(PayloadError):
            decode_form(text)
        return
    assert decode_form(text) == expected
    assert decode_form(text.encode("utf-8")) == expected


def test_too_many_fields():
    with pytest.raises(PayloadError):
        decode_form("a=1&" * MAX_FIELDS + "a=1")
    assert len(decode_form("&".join(["a=1"] * MAX_FIELDS))) == MAX_FIELDS
