"""The shared X-Twilio-Signature code against the vectors of Twilio's own SDK tests
(twilio-python ``tests/unit/test_request_validator.py``, MIT: provenance in the data file)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omnisdk_twilio_common import forms, signature

from omnisdk.errors import PayloadError, SignatureError

VECTORS = json.loads((Path(__file__).parent / "data" / "twilio_signature_vectors.json").read_text("utf-8"))
FORM_VECTORS = [v for v in VECTORS["twilio_x_twilio_signature"] if "bodySHA256" not in v["url"]]


@pytest.mark.parametrize("i", range(len(FORM_VECTORS)))
def test_every_form_vector_verifies_and_signs_the_same(i):
    v = FORM_VECTORS[i]
    if "params_multi" in v:
        body = urlencode([tuple(p) for p in v["params_multi"]]).encode()
    else:
        body = urlencode(v["params"] if isinstance(v["params"], dict) else FORM_VECTORS[0]["params"]).encode()
    signature.verify(v["auth_token"], v["url"], body, v["header"])
    with pytest.raises(SignatureError):
        signature.verify(v["auth_token"] + "x", v["url"], body, v["header"])


def test_the_json_body_vector_verifies():
    v = next(v for v in VECTORS["twilio_x_twilio_signature"] if "bodySHA256" in v["url"])
    signature.verify(v["auth_token"], v["url"], v["raw_body"].encode(), v["header"])
    with pytest.raises(SignatureError):
        signature.verify(v["auth_token"], v["url"], v["raw_body"].encode() + b" ", v["header"])


def test_a_non_canonical_spelling_is_refused():
    v = FORM_VECTORS[0]
    body = urlencode(v["params"]).encode()
    header = v["header"]
    last = header[-2]  # the character carrying the 2 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(SignatureError):
        signature.verify(v["auth_token"], v["url"], body, header[:-2] + twin + header[-1])


def test_forms_are_strict():
    assert forms.decode_form(b"a=1&b=x+y&c=%2B1") == [("a", "1"), ("b", "x y"), ("c", "+1")]
    with pytest.raises(PayloadError):
        forms.decode_form(b"novalue")


FORM_TEXT = st.text(alphabet=st.sampled_from(list("ab=&+%%0123456789AFaf ~é😀\x00")), max_size=60) | st.text(max_size=40)


@settings(max_examples=500, deadline=None)
@given(text=FORM_TEXT)
def test_the_decoder_matches_parse_qsl_twice_in_a_row(text):
    """Exactly parse_qsl's answer or refusal, also the second time (its per-part memo)."""
    try:
        expected = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict",
                             max_num_fields=forms.MAX_FIELDS)
    except ValueError:
        for _ in range(2):
            with pytest.raises(PayloadError):
                forms.decode_form(text)
        return
    assert forms.decode_form(text) == expected
    assert forms.decode_form(text.encode("utf-8")) == expected
