"""Seeded defects of the outbound rules added by issue 15: ``outbound.round_trip`` and
``outbound.credentials``.  Each is :class:`kit_sample.GoodAdapter` with one realistic mistake
(wire format in :mod:`kit_sample`: ``POST /messages`` with a JSON body ``{"to", "text",
"media": [url, ...]}`` and ``Authorization: Bearer <token>``).

The made-up API has no caption, so :class:`CaptionSender` is a correct variant whose API
takes one (``"caption"`` beside ``"media"``), for :class:`DropsCaption` to get wrong.
"""

from __future__ import annotations

from typing import Any

from kit_sample import GoodAdapter

from omnisdk.adapters import OutboundMessage, SendResult, secret_value
from omnisdk.outbound import OutboundError, ProviderClient


class _Sends(GoodAdapter):
    """GoodAdapter's send() with the body (and query) built by :meth:`body`."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body: dict[str, Any] = {"to": message.customer, "text": message.text}
        if message.media:
            body["media"] = [m.url for m in message.media]
        return body

    def params(self) -> dict[str, str] | None:
        return None

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        resp = await self._http().request("POST", "/messages", json=self.body(message),
                                          params=self.params(), idempotency_key=idempotency_key)
        mid = resp.json().get("id") if isinstance(resp.json(), dict) else None
        if not isinstance(mid, str):
            raise OutboundError("kit: answer without an id", provider="kit")
        return SendResult(message_id=mid, status="queued")


class CaptionSender(_Sends):
    """Correct: an API that takes a caption, sent as ``"caption"`` beside the media."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body = super().body(message)
        if message.media and message.media[0].caption:
            body["caption"] = message.media[0].caption
        return body


class DropsCaption(CaptionSender):
    """Defect: takes the caption from ``message.text`` only, so the caption of the media
    item (``OutboundMedia.caption``) is never sent."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body = _Sends.body(self, message)
        if message.media and message.text:
            body["caption"] = message.text
        return body


class TextInWrongField(_Sends):
    """Defect: sends the text as ``"message"`` (another provider's field name); the API reads
    ``"text"``, so every message arrives empty."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body = super().body(message)
        body["message"] = body.pop("text")
        return body


class TokenInQuery(_Sends):
    """Defect: authenticates with ``?access_token=<token>`` in the URL (which proxies and
    servers log) instead of the ``Authorization`` header."""

    def _http(self) -> ProviderClient:
        if self._client is None:
            self._client = ProviderClient(
                provider="kit", base_url=self.settings.api_base_url or "https://api.kit.invalid")
        return self._client

    def params(self) -> dict[str, str] | None:
        return {"access_token": secret_value(self.settings.token)}
