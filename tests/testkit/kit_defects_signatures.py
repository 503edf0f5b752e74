"""Seeded defects of the one-thing-at-a-time forgery rules of issue 15 (``signature.one_secret``,
``signature.one_change``, ``signature.no_oracle``).  Each is :class:`kit_sample.GoodAdapter`
(or the Meta-style variant of :mod:`kit_defects_inbound`) with one realistic mistake in
``verify()``; none of them is caught by ``signature.forged``, which changes every secret at
once and one body byte.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

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
