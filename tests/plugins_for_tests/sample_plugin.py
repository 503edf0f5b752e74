"""A minimal channel plugin used only by the core's tests (core tests import no real plugin).

Wire format (made up for the tests): JSON ``{"messages": [{"id", "from", "to", "text", "ts"}],
"statuses": [{"id", "status", "to"}]}`` signed with ``X-Sample-Signature: <hex HMAC-SHA256>``.
Sends POST ``/messages`` and return ``{"id": ...}``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
from pydantic import SecretStr

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
from omnisdk.hookspecs import hookimpl
from omnisdk.model import Channel, conversation_key
from omnisdk.outbound import ProviderClient, RetryPolicy

OMNISDK_PLUGIN_API = 1
"""Built for plugin API 1 (``omnisdk.plugins.PLUGIN_API``)."""


class SampleSettings(AccountSettings):
    secret: SecretStr
    token: SecretStr = SecretStr("sample-token")
    businesses: tuple[str, ...] = ("biz", "biz2")  # the business addresses the account owns


class SampleAdapter(ChannelAdapter):
    name = "sample"
    channel = Channel.CHAT
    Settings = SampleSettings
    max_body_bytes = 64 * 1024

    def __init__(self, account: str, settings: SampleSettings) -> None:
        super().__init__(account, settings)
        self._client: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {"secret": "sample-secret"}

    def business_addresses(self) -> frozenset[str]:
        return frozenset(self.settings.businesses)

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        key = secret_value(self.settings.secret).encode()
        return {"X-Sample-Signature": hmac.new(key, body, hashlib.sha256).hexdigest()}

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get("x-sample-signature")
        if not got:
            raise SignatureError("missing X-Sample-Signature")
        want = self.sign(request.url, request.body, "")["X-Sample-Signature"]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match")

    def parse(self, request: WebhookRequest) -> list[Event]:
        try:
            doc = orjson.loads(request.body)
            out = []
            for m in doc.get("messages", []):
                customer, business = m["from"], m["to"]
                out.append(Event(
                    id=m["id"], source=self.source, type=TYPE_MESSAGE_RECEIVED,
                    time=epoch_to_rfc3339(m.get("ts", 0)), subject=m["id"],
                    partitionkey=conversation_key(self.source, "chat", business, customer),
                    data={"message_id": m["id"], "channel": "chat", "customer": customer,
                          "business": business, "kind": "text", "text": m.get("text"),
                          "customer_name": m.get("name")},
                ))
            for s in doc.get("statuses", []):
                out.append(Event(
                    id=f"{s['id']}:{s['status']}", source=self.source, type=TYPE_MESSAGE_STATUS,
                    time=request.received_at, subject=s["id"],
                    data={"message_id": s["id"], "channel": "chat", "status": s["status"],
                          "provider_status": s["status"], "customer": s.get("to")},
                ))
            return out
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise PayloadError(f"malformed sample body: {type(exc).__name__}") from None

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        if self._client is None:
            self._client = ProviderClient(
                provider="sample",
                base_url=self.settings.api_base_url or "https://sample.invalid",
                headers={"Authorization": f"Bearer {secret_value(self.settings.token)}"},
                retry=RetryPolicy(max_attempts=2, initial_backoff=0.0, max_backoff=0.0),
            )
        resp = await self._client.request(
            "POST", "/messages", json={"to": message.customer, "text": message.text},
            idempotency_key=idempotency_key,
        )
        return SendResult(message_id=resp.json()["id"], status="queued")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


@hookimpl
def omnisdk_adapters():
    return [SampleAdapter]
