"""X-Hub-Signature-256: Meta's own signed request verifies; one spelling only; refusals reveal nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from omnisdk.errors import SignatureError
from omnisdk_messenger import MessengerAdapter, signature


def _vector() -> dict:
    path = MessengerAdapter.recordings / "vectors" / "vectors.json"
    [vector] = json.loads(path.read_text())
    return vector


def test_the_meta_signed_request_verifies_unchanged() -> None:
    v = _vector()
    body = v["body"].encode()
    signature.verify(v["settings"]["app_secret"], body, {"x-hub-signature-256": v["headers"]["X-Hub-Signature-256"]})
    assert signature.compute(v["settings"]["app_secret"], body) == v["headers"]["X-Hub-Signature-256"]
    with pytest.raises(SignatureError) as info:
        signature.verify(v["settings"]["app_secret"], body + b" ", {"x-hub-signature-256": v["headers"]["X-Hub-Signature-256"]})
    assert info.value.reason == "bad_signature"


def test_compute_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"page","entry":[]}'
    assert signature.compute("s3cret", body) == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


def test_only_the_canonical_spelling_verifies() -> None:
    body = b'{"object":"page","entry":[]}'
    good = signature.compute("s3cret", body)
    signature.verify("s3cret", body, {"x-hub-signature-256": f" {good}\t"})  # HTTP OWS is trimmed
    digits = good[len("sha256="):]
    for bad in ("", "   ", digits, "sha256=" + digits.upper(), "SHA256=" + digits, "sha1=" + digits,
                good[:-1], good + "0", good + "\n", "sha256= " + digits, "é" * 71):
        with pytest.raises(SignatureError) as info:
            signature.verify("s3cret", body, {"x-hub-signature-256": bad})
        assert digits not in str(info.value) and "s3cret" not in str(info.value)


def test_missing_header_wrong_secret_and_empty_secret() -> None:
    body = b"{}"
    with pytest.raises(SignatureError) as info:
        signature.verify("s3cret", body, {})
    assert info.value.reason == "missing_signature"
    with pytest.raises(SignatureError) as info:
        signature.verify("s3cret", body, {"x-hub-signature-256": signature.compute("other", body)})
    assert info.value.reason == "bad_signature"
    with pytest.raises(SignatureError):
        signature.verify("", body, {"x-hub-signature-256": signature.compute("", body)})


def test_the_adapter_verifies_what_it_signs(adapter, webhook, recs) -> None:
    body = recs["message/text"].body
    adapter.verify(webhook(body))
    with pytest.raises(SignatureError):
        adapter.verify(webhook(body, signed=False))
    with pytest.raises(SignatureError):
        signed = {k.lower(): v for k, v in adapter.sign("", body, "").items()}
        adapter.verify(webhook(body.replace(b"hello", b"hellO"), signed=False, headers=signed))
