"""Raw-MIME posts signed as Standard Webhooks specifies, and Mailgun route signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest

from omnisdk.adapters import WebhookRequest
from omnisdk.errors import PayloadError, SignatureError
from omnisdk_email import EmailAdapter, signature

URL = "https://hooks.example.com/webhooks/email/acme"
KEY = "example-mailgun-signing-key"
NOW = "2025-11-21T15:42:00Z"
TS = "1763739720"  # 2025-11-21T15:42:00Z
TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"  # 50 chars, the docs' example shape


def _mailgun(body_mime: bytes, *, ts: str = TS, token: str = TOKEN, sig: str | None = None,
             received_at: str = NOW, extra: dict | None = None) -> WebhookRequest:
    fields = {"recipient": "support@example.com", "timestamp": ts, "token": token,
              "signature": sig or signature.mailgun_signature(KEY, ts, token),
              "body-mime": body_mime, **(extra or {})}
    body = urlencode(fields).encode()
    return WebhookRequest("POST", URL + "/mime", {"content-type": "application/x-www-form-urlencoded"},
                          body, received_at=received_at)


def test_mailgun_signature_is_hmac_of_timestamp_and_token():
    # documentation.mailgun.com .../webhooks/securing-webhooks: HMAC-SHA256(key, timestamp + token), hex
    expected = hmac.new(KEY.encode(), (TS + TOKEN).encode(), hashlib.sha256).hexdigest()
    assert signature.mailgun_signature(KEY, TS, TOKEN) == expected


def test_mailgun_good_signature_parses(adapter, recs):
    request = _mailgun(recs["thread_new_question"].body)
    adapter.verify(request)
    [event] = adapter.parse(request)
    assert event.id == "q-4711-1@mail.customer.example"


@pytest.mark.parametrize("change", [
    {"sig": "0" * 64}, {"token": TOKEN[:-1] + "4"}, {"ts": str(int(TS) + 1)},
    {"sig": signature.mailgun_signature(KEY, TS, TOKEN).upper()},
])
def test_mailgun_bad_signature(change, adapter, recs):
    if "ts" in change or "token" in change:  # signed with the original fields
        change = {**change, "sig": signature.mailgun_signature(KEY, TS, TOKEN)}
    with pytest.raises(SignatureError):
        adapter.verify(_mailgun(recs["thread_new_question"].body, **change))


@pytest.mark.parametrize("offset", [-301, 301, -100000])
def test_mailgun_stale_timestamp(offset, adapter, recs):
    ts = str(int(TS) + offset)
    with pytest.raises(SignatureError) as info:
        adapter.verify(_mailgun(recs["thread_new_question"].body, ts=ts,
                                sig=signature.mailgun_signature(KEY, ts, TOKEN)))
    assert info.value.reason == "stale_signature"


def test_mailgun_within_five_minutes(adapter, recs):
    ts = str(int(TS) - 299)
    adapter.verify(_mailgun(recs["thread_new_question"].body, ts=ts,
                            sig=signature.mailgun_signature(KEY, ts, TOKEN)))


def test_mailgun_refused_without_signing_key(recs):
    settings = {k: v for k, v in EmailAdapter.example_settings().items() if k != "mailgun_signing_key"}
    with pytest.raises(SignatureError):
        EmailAdapter("acme", settings).verify(_mailgun(recs["thread_new_question"].body))


def test_mailgun_multipart_form_data(adapter, recs):
    mail = recs["attached_pdf_from_customer"].body
    fields = {"timestamp": TS, "token": TOKEN, "signature": signature.mailgun_signature(KEY, TS, TOKEN)}
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(b'--B\r\nContent-Disposition: form-data; name="body-mime"\r\n\r\n' + mail + b"\r\n")
    body = b"".join(parts) + b"--B--\r\n"
    request = WebhookRequest("POST", URL, {"content-type": "multipart/form-data; boundary=B"}, body,
                             received_at=NOW)
    adapter.verify(request)
    [event] = adapter.parse(request)
    assert event.data["attachments"][0]["filename"] == "test.pdf"


def test_mailgun_parsed_route_without_body_mime_is_refused(adapter, recs):
    request = _mailgun(b"")
    with pytest.raises(PayloadError, match="body-mime"):
        adapter.parse(request)


SECRET = EmailAdapter.example_settings()["webhook_secret"]


def _raw(body: bytes, headers: dict[str, str], received_at: str = NOW) -> WebhookRequest:
    return WebhookRequest("POST", URL, {"content-type": "message/rfc822", **headers}, body, received_at=received_at)


def test_raw_mime_is_signed_as_standard_webhooks_specifies(adapter, recs):
    # spec/standard-webhooks.md: v1, base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed
    # with the base64-decoded secret after whsec_
    body = recs["8bitmime"].body
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, b"msg_1." + TS.encode() + b"." + body, hashlib.sha256).digest()
    headers = signature.sign_raw(SECRET, "msg_1", int(TS), body)
    assert headers == {"webhook-id": "msg_1", "webhook-timestamp": TS,
                       "webhook-signature": "v1," + base64.b64encode(digest).decode()}
    adapter.verify(_raw(body, headers))
    rotated = {**headers, "webhook-signature": "v1," + "A" * 43 + "= " + headers["webhook-signature"]}
    adapter.verify(_raw(body, rotated))  # key rotation: any listed signature may match


def test_the_standard_webhooks_reference_vector_verifies(adapter):
    # the sign test of the Standard Webhooks reference libraries (MIT), also in recordings/vectors/
    vector = EmailAdapter("acme", {**EmailAdapter.example_settings(),
                                   "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    vector.verify(_raw(b'{"test": 2432232314}', headers, received_at="2021-02-25T15:02:10Z"))
    with pytest.raises(PayloadError):  # signed, but not a mail
        vector.parse(_raw(b'{"test": 2432232314}', headers, received_at="2021-02-25T15:02:10Z"))


@pytest.mark.parametrize("change, reason", [
    ({"webhook-signature": None}, "missing_signature"),
    ({"webhook-id": None}, "missing_signature"),
    ({"webhook-timestamp": "12x"}, "malformed_signature"),
    ({"webhook-timestamp": str(int(TS) + 301)}, "stale_signature"),
    ({"webhook-timestamp": str(int(TS) - 301)}, "stale_signature"),
    ({"webhook-signature": "v1,not-base64"}, "malformed_signature"),
    ({"webhook-signature": "v1," + "A" * 43 + "="}, "bad_signature"),
    ({"webhook-id": "msg_2"}, "bad_signature"),
])
def test_raw_mime_bad_headers_are_refused_with_their_reason(change, reason, adapter, recs):
    body = recs["8bitmime"].body
    headers = signature.sign_raw(SECRET, "msg_1", int(TS), body)
    for name, value in change.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    with pytest.raises(SignatureError) as info:
        adapter.verify(_raw(body, headers))
    assert info.value.reason == reason
    assert SECRET not in str(info.value) and SECRET.removeprefix("whsec_") not in repr(info.value)


@pytest.mark.parametrize("bad", ["", "plain-secret", "whsec_", "whsec_!!!!", "whsec_c2hvcnQ="])
def test_a_webhook_secret_that_is_not_a_standard_webhooks_secret_is_refused(bad):
    with pytest.raises(ValueError) as info:
        EmailAdapter("acme", {**EmailAdapter.example_settings(), "webhook_secret": bad})
    text = str(info.value)
    assert "webhook_secret" in text and ("whsec_" in text or "empty" in text)
    rest = bad.removeprefix("whsec_")
    assert not rest or rest not in text  # the refused value is never echoed
