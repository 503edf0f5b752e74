"""X-Hub-Signature-256 verification against Meta's real signed webhook (pywa's vector)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnisdk.errors import SignatureError
from omnisdk_whatsapp import signature

# The meta_x_hub_signature_256 vector (fixtures/signatures/vectors.json): david-lev/pywa
# tests/test_server.py::test_webhook_updates_validator (MIT), a real Cloud API webhook whose app
# secret has been reset.  Its raw body is recordings/real_text_message.json, byte for byte.
VECTOR_APP_SECRET = "1222e786b144d0e85b9f365372d93676"
VECTOR_HEADER = "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441"
SHARED_VECTORS = Path("/work/shared/fixtures/signatures/vectors.json")


@pytest.fixture
def body(recordings) -> bytes:
    return recordings["real_text_message"].body


def test_real_vector_verifies(vector_adapter, make_request, body):
    vector_adapter.verify(make_request(body, {"X-Hub-Signature-256": VECTOR_HEADER}))


def _one_letter_upper(h: str) -> str:
    i = next(i for i, c in enumerate(h) if c.isalpha())
    return h[:i] + h[i].upper() + h[i + 1 :]


@pytest.mark.parametrize("spell", [str.upper, _one_letter_upper])
def test_uppercase_hex_is_refused(vector_adapter, make_request, body, spell):
    """B3's class of bug: Meta sends lower-case hex; accepting upper case gave up to 2**k
    spellings of one signature (k letters in the digest)."""
    digest = VECTOR_HEADER[7:]
    assert spell(digest) != digest
    header = "sha256=" + spell(digest)
    with pytest.raises(SignatureError) as err:
        vector_adapter.verify(make_request(body, {"X-Hub-Signature-256": header}))
    assert err.value.reason == "malformed_signature"


@pytest.mark.parametrize("pad", [" ", "\t", " \t"])
def test_http_whitespace_around_the_header_is_trimmed(vector_adapter, make_request, body, pad):
    vector_adapter.verify(make_request(body, {"X-Hub-Signature-256": pad + VECTOR_HEADER + pad}))


@pytest.mark.parametrize("pad", ["\xa0", "\x0b", "\x0c", "\n", "\x85"])
def test_other_whitespace_is_refused(vector_adapter, make_request, body, pad):
    with pytest.raises(SignatureError) as err:
        vector_adapter.verify(make_request(body, {"X-Hub-Signature-256": VECTOR_HEADER + pad}))
    assert err.value.reason == "malformed_signature"


@pytest.mark.parametrize("index", [0, 100, -2])
def test_one_changed_byte_fails(vector_adapter, make_request, body, index):
    tampered = bytearray(body)
    tampered[index] ^= 0x01
    with pytest.raises(SignatureError) as err:
        vector_adapter.verify(make_request(bytes(tampered), {"X-Hub-Signature-256": VECTOR_HEADER}))
    assert err.value.reason == "bad_signature"
    assert err.value.status == 401


def test_wrong_secret_fails(adapter, make_request, body):
    with pytest.raises(SignatureError):
        adapter.verify(make_request(body, {"X-Hub-Signature-256": VECTOR_HEADER}))


def test_missing_header_fails(vector_adapter, make_request, body):
    with pytest.raises(SignatureError) as err:
        vector_adapter.verify(make_request(body, {}))
    assert err.value.reason == "missing_signature"


def test_legacy_sha1_header_fails(make_request):
    # the meta_x_hub_signature_sha1_legacy vector (Yoctol/bottender, MIT): valid for SHA-1,
    # refused here because only sha256 is accepted
    from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

    s = dict(WhatsAppAdapter.example_settings(), app_secret="FAKE_SECRET")
    a = WhatsAppAdapter("legacy", WhatsAppSettings(**s))
    legacy = "sha1=1c99183cb7c44ea27fb834746086b65b89800db8"
    req = make_request(b"{}", {"X-Hub-Signature-256": legacy})
    with pytest.raises(SignatureError) as err:
        a.verify(req)
    assert err.value.reason == "malformed_signature"
    # the legacy header alone is not enough either
    req = make_request(b"{}", {"X-Hub-Signature": legacy})
    with pytest.raises(SignatureError):
        a.verify(req)


@pytest.mark.parametrize(
    "header",
    [
        VECTOR_HEADER[7:],  # no prefix
        "sha256=",  # empty digest
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + VECTOR_HEADER[7:-2],  # too short
        "sha256=" + VECTOR_HEADER[7:] + "00",  # too long
        "SHA256=" + VECTOR_HEADER[7:],  # prefix is case-sensitive, as Meta sends it
        "sha256=" + "é" * 64,  # non-ASCII
    ],
)
def test_malformed_header_fails(vector_adapter, make_request, body, header):
    with pytest.raises(SignatureError) as err:
        vector_adapter.verify(make_request(body, {"X-Hub-Signature-256": header}))
    assert err.value.reason == "malformed_signature"


def test_error_text_has_no_secret_nor_digest(vector_adapter, make_request, body):
    expected = signature.compute(VECTOR_APP_SECRET, body + b" ")
    for header in ({}, {"X-Hub-Signature-256": VECTOR_HEADER}, {"X-Hub-Signature-256": "sha1=ab"}):
        with pytest.raises(SignatureError) as err:
            vector_adapter.verify(make_request(body + b" ", header))
        text = f"{err.value} {err.value!r} {err.value.reason}"
        assert VECTOR_APP_SECRET not in text
        assert expected[7:] not in text
        assert VECTOR_HEADER[7:] not in text


def test_sign_reproduces_the_vector(vector_adapter, body):
    assert vector_adapter.sign("https://x.test/", body, "application/json") == {
        "X-Hub-Signature-256": VECTOR_HEADER
    }


def test_sign_then_verify_roundtrip(adapter, make_request, recordings):
    for rec in recordings.values():
        headers = adapter.sign("https://x.test/", rec.body, rec.content_type)
        adapter.verify(make_request(rec.body, headers))


@pytest.mark.skipif(not SHARED_VECTORS.exists(), reason="shared fixtures not present")
def test_recording_is_the_vector_body_unchanged(body):
    vec = json.loads(SHARED_VECTORS.read_text())["meta_x_hub_signature_256"][0]
    assert vec["app_secret"] == VECTOR_APP_SECRET
    assert vec["header"] == VECTOR_HEADER
    assert body == vec["raw_body"].encode("utf-8")
