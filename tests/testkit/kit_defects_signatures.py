"""Seeded defects of the one-thing-at-a-time forgery rules of issue 15 (``signature.one_secret``,
``signature.one_change``, ``signature.no_oracle``).  Each is :class:`kit_sample.GoodAdapter`
(or the Meta-style variant of :mod:`kit_defects_inbound`) with one realistic mistake in
``verify()``; none of them is caught by ``signature.forged``, which changes every secret at
once and one body byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

from kit_defects_inbound import MetaStyle, SignsUrlAndBody
from kit_sample import HEADER, GoodAdapter, KitSettings, log

from omnisdk.adapters import WebhookRequest, secret_value
from omnisdk.errors import SignatureError


def _hex(key: str, data: bytes) -> str:
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


class VerifiesWithToken(GoodAdapter):
    """Defect: keys the webhook signature with the API token (sign() and verify() agree)."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return {HEADER: _hex(secret_value(self.settings.token), body)}


class AcceptsEitherSecret(GoodAdapter):
    """Defect: accepts a signature made with the webhook secret or with the API token ("in
    case the operator configured the other one")."""

    def verify(self, request: WebhookRequest) -> None:
        got = (request.headers.get(HEADER.lower()) or "").encode()
        for key in (self.settings.secret, self.settings.token):
            if hmac.compare_digest(got, _hex(secret_value(key), request.body).encode()):
                return
        raise SignatureError("signature does not match")


class LowerCasesReceived(GoodAdapter):
    """Defect: lower-cases the received header before comparing, so another spelling of the
    digest passes."""

    def verify(self, request: WebhookRequest) -> None:
        got = (request.headers.get(HEADER.lower()) or "").lower()
        want = self.sign(request.url, request.body, "")[HEADER]
        if not got or not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match")


class IgnoresAlgorithmPrefix(MetaStyle):
    """Defect: takes whatever follows the first ``=`` as the digest, so ``sha1=…`` or a bare
    digest passes as ``sha256=…``."""

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get("x-hub-signature-256") or ""
        digest = got.rpartition("=")[2].strip()
        want = self.digest(secret_value(self.settings.secret).encode(), request.body)
        if not digest or not hmac.compare_digest(digest.encode(), want.encode()):
            raise SignatureError("signature does not match")


class NormalisesJson(GoodAdapter):
    """Defect: signs and verifies the re-serialised document instead of the bytes received, so
    the same JSON in other bytes passes (and the provider's bytes do not decide)."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            canonical = body
        return {HEADER: _hex(secret_value(self.settings.secret), canonical)}


class DropsQueryOnVerify(SignsUrlAndBody):
    """Defect: the URL is signed with its query string, but verify() rebuilds it without the
    query, so the provider's signed requests to a URL with a query are refused."""

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower()) or ""
        want = self.sign(request.url.split("?")[0], request.body, "")[HEADER]
        if not got or not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match")


class ExpectedInError(GoodAdapter):
    """Defect: the refusal says which signature was expected (an oracle for forgers, and it
    reaches the provider's delivery logs)."""

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower()) or ""
        want = self.sign(request.url, request.body, "")[HEADER]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError(f"signature {got[:12]!r} does not match, expected {want}")


class ExpectedPrefixInError(GoodAdapter):
    """Defect: the refusal quotes the first 12 characters of the expected digest ("to help
    debugging"): enough to brute-force the rest a few characters at a time."""

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower()) or ""
        want = self.sign(request.url, request.body, "")[HEADER]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError(f"signature does not match (want {want[:12]}…)")


class SecretFragmentInError(GoodAdapter):
    """Defect: says which key it used by quoting the start of the secret."""

    def verify(self, request: WebhookRequest) -> None:
        try:
            super().verify(request)
        except SignatureError:
            key = secret_value(self.settings.secret)
            raise SignatureError(f"signature does not match the key {key[:9]}…") from None


class SecretHexInLog(GoodAdapter):
    """Defect: logs the key's bytes in hex while verifying (not the secret as typed)."""

    def verify(self, request: WebhookRequest) -> None:
        log.debug("verifying with key %s", secret_value(self.settings.secret).encode().hex())
        super().verify(request)


class DigestInReason(GoodAdapter):
    """Defect: a reason code built from the expected digest; the gateway used to echo the
    reason to the caller."""

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower()) or ""
        want = self.sign(request.url, request.body, "")[HEADER]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match", reason=f"mismatch_{want[:6]}")


class KitAccountSettings(KitSettings):
    account_id: str = "kit-account-0001"


class WithAccountId(GoodAdapter):
    """Correct: an account id in the settings (for sends), which the provider's signature does
    not use."""

    Settings = KitAccountSettings

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {**GoodAdapter.example_settings(), "account_id": "kit-account-0001"}


class SignsWithAccountId(WithAccountId):
    """Defect: binds the signature to the account id ("so one account's webhook cannot be
    replayed to another"): sign() and verify() agree, the provider signs with the secret
    alone, so its real traffic is refused."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return {HEADER: _hex(secret_value(self.settings.secret) + self.settings.account_id, body)}


class Base64Style(GoodAdapter):
    """Correct: the kit format signed the way LINE signs (the base64 of the HMAC-SHA256 of the
    body), compared as text in its one canonical spelling."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        key = secret_value(self.settings.secret).encode()
        return {HEADER: base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()}

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower())
        if not got:
            raise SignatureError(f"missing {HEADER}")
        want = self.sign(request.url, request.body, "")[HEADER]
        if not hmac.compare_digest(got.encode("utf-8", "replace"), want.encode()):
            raise SignatureError("signature does not match")


class LenientBase64(Base64Style):
    """Defect: decodes the header "whatever base64 flavour it is" (URL-safe, padding added)
    and compares the bytes, so several spellings of one digest pass."""

    def verify(self, request: WebhookRequest) -> None:
        got = (request.headers.get(HEADER.lower()) or "").strip()
        try:
            raw = base64.b64decode(got.replace("-", "+").replace("_", "/") + "=" * (-len(got) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError(f"malformed {HEADER}") from None
        key = secret_value(self.settings.secret).encode()
        if not hmac.compare_digest(raw, hmac.new(key, request.body, hashlib.sha256).digest()):
            raise SignatureError("signature does not match")


STAMP = "X-Kit-Timestamp"


class TimestampSigned(GoodAdapter):
    """Correct: a timestamp header, signed with the body (``HMAC(secret, "{ts}.{body}")``)."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        ts = "1700000000"
        return {HEADER: _hex(secret_value(self.settings.secret), ts.encode() + b"." + body), STAMP: ts}

    def verify(self, request: WebhookRequest) -> None:
        got, ts = request.headers.get(HEADER.lower()), request.headers.get(STAMP.lower())
        if not got or not ts:
            raise SignatureError(f"missing {HEADER} or {STAMP}")
        want = _hex(secret_value(self.settings.secret), ts.encode() + b"." + request.body)
        if not hmac.compare_digest(got.encode("utf-8", "replace"), want.encode()):
            raise SignatureError("signature does not match")


class TimestampNotSigned(TimestampSigned):
    """Defect: sends and requires the timestamp header but signs the body alone, so the
    timestamp (the replay guard) can be changed at will."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return {HEADER: _hex(secret_value(self.settings.secret), body), STAMP: "1700000000"}

    def verify(self, request: WebhookRequest) -> None:
        got, ts = request.headers.get(HEADER.lower()), request.headers.get(STAMP.lower())
        if not got or not ts:
            raise SignatureError(f"missing {HEADER} or {STAMP}")
        want = _hex(secret_value(self.settings.secret), request.body)
        if not hmac.compare_digest(got.encode("utf-8", "replace"), want.encode()):
            raise SignatureError("signature does not match")


class SignsUrlWithoutScheme(SignsUrlAndBody):
    """Defect: signs the URL from ``//`` on ("the scheme is the proxy's business"), so the
    same request over plain http passes."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return super().sign(url.partition(":")[2], body, content_type)


class SignsUrlWithoutPath(SignsUrlAndBody):
    """Defect: signs the host and query of the URL but not its path, so a request signed for
    one webhook path passes at another."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        parts = urlsplit(url)
        return super().sign(f"{parts.scheme}://{parts.netloc}?{parts.query}", body, content_type)


class ClockStamped(TimestampSigned):
    """Correct: a timestamp header set from the clock when signing, signed with the body."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        ts = str(int(time.time()))
        return {HEADER: _hex(secret_value(self.settings.secret), ts.encode() + b"." + body), STAMP: ts}
