"""X-Line-Signature: LINE's SDK vectors, canonical spelling only, no oracle."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from omnisdk.errors import SignatureError
from omnisdk_line import signature

VECTORS = json.loads(
    (Path(__file__).parents[1] / "src/omnisdk_line/recordings/vectors/vectors.json").read_text("utf-8")
)
SHARED = Path("/work/shared/fixtures/signatures/vectors.json")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_sdk_vectors_verify(vector: dict) -> None:
    secret = vector["settings"]["channel_secret"]
    body = vector["body"].encode("utf-8")
    header = vector["headers"]["X-Line-Signature"]
    assert signature.compute(secret, body) == header
    signature.verify(secret, body, {"x-line-signature": header})
    with pytest.raises(SignatureError):
        signature.verify(secret, body + b" ", {"x-line-signature": header})


@pytest.mark.skipif(not SHARED.is_file(), reason="the shared fixtures are not on this machine")
def test_shipped_vectors_are_the_shared_ones() -> None:
    shared = json.loads(SHARED.read_text("utf-8"))["line_x_line_signature"]
    assert [(v["channel_secret"], v["raw_body"], v["header"]) for v in shared] == [
        (v["settings"]["channel_secret"], v["body"], v["headers"]["X-Line-Signature"]) for v in VECTORS
    ]


def _variants(good: str) -> list[str]:
    raw = base64.b64decode(good)
    last = good[-2]
    other = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    non_canonical = good[:-2] + other[other.index(last) ^ 1] + good[-1]  # unused low bit set
    return [
        "", "   ", good.rstrip("="), base64.urlsafe_b64encode(raw).decode() + "x", raw.hex(),
        "sha256=" + good, good[:-4], good + "AAAA", good.replace("=", "") + "==", "é" * 44,
        non_canonical, good + "\n",
    ]


def test_only_the_canonical_spelling_verifies() -> None:
    body = b'{"destination":"U123","events":[]}'
    good = signature.compute("s3cret", body)
    signature.verify("s3cret", body, {"x-line-signature": f" {good}\t"})  # HTTP OWS is trimmed
    for bad in _variants(good):
        with pytest.raises(SignatureError) as info:
            signature.verify("s3cret", body, {"x-line-signature": bad})
        assert good not in str(info.value) and "s3cret" not in str(info.value)


def test_missing_header_and_wrong_secret() -> None:
    body = b"{}"
    with pytest.raises(SignatureError) as info:
        signature.verify("s3cret", body, {})
    assert info.value.reason == "missing_signature"
    with pytest.raises(SignatureError) as info:
        signature.verify("s3cret", body, {"x-line-signature": signature.compute("other", body)})
    assert info.value.reason == "bad_signature"
