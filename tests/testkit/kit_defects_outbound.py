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


class RichSender(_Sends):
    """Correct: an API that takes every rich field the core offers (made up), declared in
    ``outbound_content``: ``{"to", "text", "reply_to", "preview": bool, "media": [url],
    "media_ids": [id], "filenames": [name], "buttons": [{"id", "title"}], "location": {"lat",
    "lon", "name", "address"}, "reaction": {"message_id", "emoji"}, "contacts": [{"name",
    "phones", "emails"}]}`` (see :data:`RICH_MAPPING`)."""

    outbound_content = frozenset({"text", "media", "buttons", "location", "reaction", "contacts",
                                  "preview_url"})

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body: dict[str, Any] = {"to": message.customer}
        if message.text:
            body["text"] = message.text
        if message.reply_to:
            body["reply_to"] = message.reply_to
        if message.preview_url:
            body["preview"] = True
        if message.media:
            body["media"] = [m.url for m in message.media if m.url]
            body["media_ids"] = [m.media_id for m in message.media if m.media_id]
            body["filenames"] = [m.filename for m in message.media if m.filename]
        if message.buttons:
            body["buttons"] = self.buttons(message)
        if message.location:
            loc = message.location
            body["location"] = {"lat": loc.latitude, "lon": loc.longitude, "name": loc.name,
                                "address": loc.address}
        if message.reaction:
            body["reaction"] = {"message_id": message.reaction.message_id, "emoji": message.reaction.emoji}
        if message.contacts:
            body["contacts"] = [{"name": c.name, "phones": c.phones, "emails": c.emails}
                                for c in message.contacts]
        return body

    def buttons(self, message: OutboundMessage) -> list[dict[str, str]]:
        return [{"id": b.id, "title": b.title} for b in message.buttons]


RICH_MAPPING = {
    "to": ("to",), "text": ("text",), "media.url": ("media", "*"), "media.caption": None,
    "reply_to": ("reply_to",), "preview_url": ("preview",), "media.id": ("media_ids", "*"),
    "media.filename": ("filenames", "*"),
    "buttons.id": ("buttons", "*", "id"), "buttons.title": ("buttons", "*", "title"),
    "location.latitude": ("location", "lat"), "location.longitude": ("location", "lon"),
    "location.name": ("location", "name"), "location.address": ("location", "address"),
    "reaction.message_id": ("reaction", "message_id"), "reaction.emoji": ("reaction", "emoji"),
    "contacts.name": ("contacts", "*", "name"), "contacts.phone": ("contacts", "*", "phones", "*"),
    "contacts.email": ("contacts", "*", "emails", "*"),
}
"""Where :class:`RichSender` puts each field."""


class DropsReplyTo(RichSender):
    """Defect: forgets the reply reference, so an answer is not shown as a reply."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body = super().body(message)
        body.pop("reply_to", None)
        return body


class FirstButtonOnly(RichSender):
    """Defect: sends the first quick-reply button only."""

    def buttons(self, message: OutboundMessage) -> list[dict[str, str]]:
        return super().buttons(message)[:1]


class DropsFilename(RichSender):
    """Defect: sends a document without its file name (the customer sees "untitled")."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        body = super().body(message)
        body.pop("filenames", None)
        return body


class TokenInBody(_Sends):
    """Defect: sends the API token in the JSON body too (``"auth": {"token": ...}``, as an
    older API version wanted), where request logs and error reports keep it."""

    def body(self, message: OutboundMessage) -> dict[str, Any]:
        return {**super().body(message), "auth": {"token": secret_value(self.settings.token)}}


class TokenInOtherHeader(_Sends):
    """Defect: sends the token in ``X-Api-Key`` beside the Authorization header (copied from
    another provider's example), so two headers carry it."""

    def _http(self) -> ProviderClient:
        if self._client is None:
            token = secret_value(self.settings.token)
            self._client = ProviderClient(
                provider="kit", base_url=self.settings.api_base_url or "https://api.kit.invalid",
                headers={"Authorization": f"Bearer {token}", "X-Api-Key": token})
        return self._client
