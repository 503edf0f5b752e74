"""Sample adapters for the test kit's own tests: one correct, and one per seeded defect.

Wire format (made up): JSON ``{"messages": [{"id", "from", "to", "text", "ts"}],
"statuses": [{"id", "status", "to", "from", "ts"}]}`` signed with ``X-Kit-Signature`` (hex
HMAC-SHA256 of the body).  Provider status words: accepted, sent, delivered, seen, failed.
Sends: ``POST /messages`` → ``{"id": ...}``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from omnisdk import payloads
from omnisdk.adapters import (
    AccountSettings,
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    secret_value,
)
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, Event, epoch_to_rfc3339
from omnisdk.model import Channel, conversation_key
from omnisdk.outbound import OutboundError, ProviderClient

log = logging.getLogger("kit_sample")
HEADER = "X-Kit-Signature"
STATUS_MAP = {"accepted": "queued", "sent": "sent", "delivered": "delivered", "seen": "read",
              "failed": "failed"}


class KitSettings(AccountSettings):
    secret: SecretStr
    token: SecretStr


class GoodAdapter(ChannelAdapter):
    """Keeps every promise the kit checks."""

    name = "kit"
    channel = Channel.CHAT
    Settings = KitSettings
    recordings = Path(__file__).parent / "kit_recordings"
    status_map = STATUS_MAP

    def __init__(self, account: str, settings: KitSettings) -> None:
        super().__init__(account, settings)
        self._client: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {"secret": "kit-webhook-secret", "token": "kit-api-token-123"}

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        return {"id": f"kit-out-{n}"}

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        key = secret_value(self.settings.secret).encode()
        return {HEADER: hmac.new(key, body, hashlib.sha256).hexdigest()}

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower())
        if not got:
            raise SignatureError(f"missing {HEADER}")
        if len(got) != 64 or not got.isascii():
            raise SignatureError(f"malformed {HEADER}")
        want = self.sign(request.url, request.body, "")[HEADER]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match")

    def business_addresses(self) -> frozenset[str]:
        return frozenset({"+15550100001"})  # the recordings' business number

    def message_id(self, m: dict[str, Any]) -> str:
        return m["id"]

    def load(self, body: bytes) -> Any:
        return payloads.loads(body)  # PayloadError beyond the size and depth limits

    def parse(self, request: WebhookRequest) -> list[Event]:
        try:
            return self._parse(request)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            raise PayloadError(f"malformed kit body: {type(exc).__name__}") from None

    def _parse(self, request: WebhookRequest) -> list[Event]:
        doc = self.load(request.body)
        if not isinstance(doc, dict):
            raise TypeError("not an object")
        out: list[Event] = []
        for m in doc.get("messages", []):
            mid, customer, business = self.message_id(m), m["from"], m["to"]
            if not all(isinstance(x, str) and x for x in (mid, customer, business)):
                raise TypeError("id, from and to must be strings")
            text = m.get("text")
            if not isinstance(text, str):
                raise TypeError("text must be a string")
            out.append(Event(
                id=mid, source=self.source, type=TYPE_MESSAGE_RECEIVED, subject=mid,
                time=epoch_to_rfc3339(m["ts"]),
                partitionkey=conversation_key(self.source, "chat", business, customer),
                data={"message_id": mid, "channel": "chat", "customer": customer,
                      "business": business, "kind": "text", "text": text},
            ))
        for s in doc.get("statuses", []):
            mid, word = s["id"], s["status"]
            if not (isinstance(mid, str) and mid and isinstance(word, str)) or word not in self.status_map:
                raise ValueError("bad status")
            out.append(Event(
                id=f"{mid}:{word}", source=self.source, type=TYPE_MESSAGE_STATUS, subject=mid,
                time=epoch_to_rfc3339(s["ts"]),
                data={"message_id": mid, "channel": "chat", "status": self.status_map[word],
                      "provider_status": word},
            ))
        return out

    def _http(self) -> ProviderClient:
        if self._client is None:
            self._client = ProviderClient(
                provider="kit", base_url=self.settings.api_base_url or "https://api.kit.invalid",
                headers={"Authorization": f"Bearer {secret_value(self.settings.token)}"},
            )
        return self._client

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        body: dict[str, Any] = {"to": message.customer, "text": message.text}
        if message.media:
            body["media"] = [m.url for m in message.media]
        resp = await self._http().request("POST", "/messages", json=body, idempotency_key=idempotency_key)
        try:
            mid = resp.json()["id"]
        except (ValueError, KeyError, TypeError):
            raise OutboundError("kit: answer without an id", provider="kit") from None
        if not isinstance(mid, str):
            raise OutboundError("kit: answer without an id", provider="kit")
        return SendResult(message_id=mid, status="queued")

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class NoSignatureCheck(GoodAdapter):
    """Defect: accepts every request."""

    def verify(self, request: WebhookRequest) -> None:
        return None


class EqualsCompare(GoodAdapter):
    """Defect: compares signatures with == (not constant time)."""

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower())
        if not got or got != self.sign(request.url, request.body, "")[HEADER]:
            raise SignatureError("bad signature")


class RandomIds(GoodAdapter):
    """Defect: a new id per parse, so redeliveries are not deduplicated."""

    def message_id(self, m: dict[str, Any]) -> str:
        m["id"]  # still refuse a message without an id
        return uuid.uuid4().hex


class StatusRegression(GoodAdapter):
    """Defect: 'delivered' and 'seen' mapped the wrong way round."""

    status_map = {**STATUS_MAP, "delivered": "read", "seen": "delivered"}


class CrashOnMalformed(GoodAdapter):
    """Defect: lets KeyError and JSON errors escape parse()."""

    def load(self, body: bytes) -> Any:
        return orjson.loads(body)

    def parse(self, request: WebhookRequest) -> list[Event]:
        return self._parse(request)


class DeepNestingAccepted(GoodAdapter):
    """Defect: decodes with orjson directly, so JSON nested 254–1,024 levels is accepted."""

    def load(self, body: bytes) -> Any:
        return orjson.loads(body)


class DoubleSendOnRetry(GoodAdapter):
    """Defect: a fresh idempotency key on every attempt (each retry may send again)."""

    def _http(self) -> ProviderClient:
        client = super()._http()

        async def new_key(request: Any) -> None:
            request.headers["Idempotency-Key"] = uuid.uuid4().hex

        hooks = client._http.event_hooks
        if new_key.__name__ not in [h.__name__ for h in hooks["request"]]:
            hooks["request"] = [*hooks["request"], new_key]
            client._http.event_hooks = hooks
        return client


class SecretInLog(GoodAdapter):
    """Defect: logs the webhook secret."""

    def verify(self, request: WebhookRequest) -> None:
        log.debug("verifying with secret %s", secret_value(self.settings.secret))
        super().verify(request)
