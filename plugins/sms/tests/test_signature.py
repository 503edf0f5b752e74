"""X-Twilio-Signature: the six shared vectors, tampering, malformed headers, sign() round trip."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest

from omnisdk.adapters import WebhookRequest
from omnisdk.errors import SignatureError
from omnisdk_sms import signature
from omnisdk_sms.signature import compute, other_port_form, verify

FORM = "application/x-www-form-urlencoded"


def _pairs(vectors: list[dict], i: int) -> list[tuple[str, str]]:
    v = vectors[i]
    if "params_multi" in v:
        return [tuple(p) for p in v["params_multi"]]
    params = v["params"] if isinstance(v["params"], dict) else vectors[0]["params"]
    return list(params.items())


@pytest.mark.parametrize("i", range(5))
def test_form_vectors(i, twilio_vectors):
    v = twilio_vectors[i]
    pairs = _pairs(twilio_vectors, i)
    body = urlencode(pairs).encode()
    assert compute(v["auth_token"], v["url"], pairs) == v["header"]
    verify(v["auth_token"], v["url"], body, v["header"])  # raises on mismatch
    assert signature.sign(v["auth_token"], v["url"], body, FORM) == v["header"]


def test_there_are_six_vectors(twilio_vectors):
    assert len(twilio_vectors) == 6


def test_json_body_vector(twilio_vectors):
    v = twilio_vectors[5]
    body = v["raw_body"].encode()
    assert hashlib.sha256(body).hexdigest() == v["body_sha256"]
    verify(v["auth_token"], v["url"], body, v["header"])
    assert signature.sign(v["auth_token"], v["url"], body, "application/json") == v["header"]
    with pytest.raises(SignatureError, match="bodySHA256"):
        verify(v["auth_token"], v["url"], body.replace(b"true", b"false"), v["header"])


def test_repeated_keys_are_deduplicated(twilio_vectors):
    v = twilio_vectors[4]
    pairs = _pairs(twilio_vectors, 4)
    assert len(pairs) != len(set(pairs))  # the vector really repeats a pair
    naive = "".join([v["url"], *(k + val for k, val in sorted(pairs))]).encode()
    naive_sig = base64.b64encode(hmac.new(b"12345", naive, hashlib.sha1).digest()).decode()
    assert naive_sig != v["header"]  # so de-duplication is what makes it pass


def test_default_port_both_ways(twilio_vectors):
    v0, v443, v80, v1234 = twilio_vectors[:4]
    body = urlencode(_pairs(twilio_vectors, 0)).encode()
    # signed without port, received with :443 (and the reverse)
    verify("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", body, v0["header"])
    verify("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", body, v443["header"])
    # http: signed with :80, received without
    verify("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", body, v80["header"])
    # a non-default port is part of what is signed
    with pytest.raises(SignatureError):
        verify("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", body, v1234["header"])
    with pytest.raises(SignatureError):
        verify("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", body, v0["header"])


@pytest.mark.parametrize(
    ("url", "other"),
    [
        ("https://a.example/x?y=1", "https://a.example:443/x?y=1"),
        ("https://a.example:443/x", "https://a.example/x"),
        ("http://a.example/x", "http://a.example:80/x"),
        ("http://a.example:80/x?", "http://a.example/x?"),
        ("https://u:p@a.example/x", "https://u:p@a.example:443/x"),
        ("https://[::1]:443/x", "https://[::1]/x"),
        ("https://a.example:8443/x", None),
        ("ftp://a.example/x", None),
        ("not a url", None),
        ("https://[::1/x", None),
    ],
)
def test_other_port_form(url, other):
    assert other_port_form(url) == other


def test_changed_param_fails(twilio_vectors):
    v = twilio_vectors[0]
    pairs = dict(_pairs(twilio_vectors, 0))
    pairs["Digits"] = "9999"
    with pytest.raises(SignatureError, match="does not match"):
        verify(v["auth_token"], v["url"], urlencode(pairs).encode(), v["header"])


def test_changed_url_or_token_fails(twilio_vectors):
    v = twilio_vectors[0]
    body = urlencode(_pairs(twilio_vectors, 0)).encode()
    with pytest.raises(SignatureError):
        verify(v["auth_token"], v["url"] + "&baz=3", body, v["header"])
    with pytest.raises(SignatureError):
        verify("54321", v["url"], body, v["header"])


BAD_HEADERS = [
    None,
    "",
    "not base64!!",
    base64.b64encode(b"short").decode(),  # valid base64, not 20 bytes
    base64.b64encode(b"x" * 32).decode(),  # a SHA-256-sized digest
    "RSOYDt4T1cUTdK1PDd93/VVr8B8",  # missing padding
    "é" * 28,
    "RSOYDt4T1cUTdK1PDd93/VVr8B8=\x00",
]


@pytest.mark.parametrize("header", BAD_HEADERS)
def test_bad_headers(header, twilio_vectors):
    v = twilio_vectors[0]
    body = urlencode(_pairs(twilio_vectors, 0)).encode()
    with pytest.raises(SignatureError) as info:
        verify(v["auth_token"], v["url"], body, header)
    assert info.value.status == 401


def test_garbled_form_body_is_a_signature_error():
    sig = compute("12345", "https://x.example/h")
    with pytest.raises(SignatureError):
        verify("12345", "https://x.example/h", b"\xff\xfe", sig)


def test_errors_never_show_secrets(recs, adapter, webhook):
    token = "example-auth-token"
    good = webhook(recs["inbound_sms"].body)
    expected = good.headers["x-twilio-signature"]
    expected_hex = base64.b64decode(expected).hex()
    tampered = recs["inbound_sms"].body.replace(b"STOP", b"GO").replace(b"4711", b"4712")
    cases = [
        WebhookRequest("POST", good.url, {}, good.body),
        WebhookRequest("POST", good.url, {"x-twilio-signature": "??"}, good.body),
        WebhookRequest("POST", good.url, dict(good.headers), tampered),
        WebhookRequest("POST", good.url + "?x=1", dict(good.headers), good.body),
    ]
    for request in cases:
        with pytest.raises(SignatureError) as info:
            adapter.verify(request)
        text = f"{info.value} {info.value!r} {info.value.reason}"
        assert token not in text and expected not in text and expected_hex not in text


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/webhooks/sms/acme",
        "https://hooks.example.com:443/webhooks/sms/acme",
        "https://hooks.example.com/webhooks/sms/acme?tag=blue&n=2",
    ],
)
def test_sign_round_trips_for_every_recording(url, recs, adapter):
    for rec in recs.values():
        headers = {k.lower(): v for k, v in adapter.sign(url, rec.body, rec.content_type).items()}
        assert set(headers) == {"x-twilio-signature"}
        adapter.verify(WebhookRequest("POST", url, headers, rec.body))
        # the same signature holds when the gateway sees the other port form of the URL
        adapter.verify(WebhookRequest("POST", other_port_form(url), headers, rec.body))


def test_sign_refuses_json_without_body_hash(adapter):
    with pytest.raises(ValueError):
        adapter.sign("https://x.example/h", b"{}", "application/json")


def test_another_accounts_token_does_not_verify(recs, webhook):
    from omnisdk_sms import TwilioSmsAdapter

    other = TwilioSmsAdapter("other", {**TwilioSmsAdapter.example_settings(), "auth_token": "t2"})
    with pytest.raises(SignatureError):
        other.verify(webhook(recs["status_delivered"].body))


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _spellings(header: str) -> list[str]:
    """The 4 base64 texts that decode to the digest of ``header``: its last data character
    (before the ``=``) with each value of the 2 unused low bits."""
    assert len(header) == 28 and header.endswith("=")
    base = _B64.index(header[26]) & ~0b11
    return [header[:26] + _B64[base | low] + "=" for low in range(4)]


@pytest.mark.parametrize("i", range(6))
def test_only_the_canonical_base64_spelling_verifies(i, twilio_vectors):
    """B3: the 3 non-canonical spellings of each of Twilio's vectors decode to the same digest,
    and are refused; the canonical one (Twilio's header) passes."""
    v = twilio_vectors[i]
    body = v["raw_body"].encode() if "raw_body" in v else urlencode(_pairs(twilio_vectors, i)).encode()
    spellings = _spellings(v["header"])
    assert len({base64.b64decode(s) for s in spellings}) == 1  # really 4 spellings of one digest
    assert v["header"] in spellings
    for spelling in spellings:
        if spelling == v["header"]:
            verify(v["auth_token"], v["url"], body, spelling)
            continue
        with pytest.raises(SignatureError, match="canonical") as info:
            verify(v["auth_token"], v["url"], body, spelling)
        assert info.value.status == 401 and spelling not in str(info.value)


def test_non_canonical_spelling_is_refused_through_the_adapter(recs, adapter, webhook):
    good = webhook(recs["inbound_sms"].body)
    header = good.headers["x-twilio-signature"]
    adapter.verify(good)
    for spelling in _spellings(header):
        if spelling != header:
            with pytest.raises(SignatureError):
                adapter.verify(WebhookRequest("POST", good.url, {"x-twilio-signature": spelling}, good.body))


@pytest.mark.parametrize("pad", [" ", "\t", " \t "])
def test_http_whitespace_around_the_header_is_trimmed(pad, twilio_vectors):
    v = twilio_vectors[0]
    body = urlencode(_pairs(twilio_vectors, 0)).encode()
    verify(v["auth_token"], v["url"], body, pad + v["header"] + pad)


@pytest.mark.parametrize("pad", ["\xa0", "\x0b", "\x0c", "\n", "\x85"])
def test_other_whitespace_is_not_trimmed(pad, twilio_vectors):
    """Only HTTP's optional whitespace (space, tab) is trimmed; ``str.strip()`` would also take
    these, making more spellings of one signature."""
    v = twilio_vectors[0]
    body = urlencode(_pairs(twilio_vectors, 0)).encode()
    with pytest.raises(SignatureError):
        verify(v["auth_token"], v["url"], body, v["header"] + pad)
