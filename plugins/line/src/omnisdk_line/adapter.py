"""The LINE Messaging API channel adapter.

Webhook URL: ``https://<public host>/webhooks/line/<account>`` — enter it in the LINE
Developers Console (channel > Messaging API > Webhook settings), turn "Use webhook" on, and
press "Verify": LINE then posts a signed body with an empty ``events`` list, answered 200
(https://developers.line.biz/en/docs/messaging-api/receiving-messages/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from omnisdk.adapters import (
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    secret_value,
)
from omnisdk.events import Event
from omnisdk.model.addresses import Channel
from omnisdk.outbound import OutboundError, ProviderClient, RetryPolicy
from omnisdk_line import outbound, signature, translate
from omnisdk_line.settings import DEFAULT_API_BASE_URL, DEFAULT_CONTENT_BASE_URL, LineSettings

REQUEST_ID_HEADERS = ("x-line-request-id",)
"""Every Messaging API response carries ``X-Line-Request-Id``
(https://developers.line.biz/en/reference/messaging-api/#response-headers)."""
RETRY_KEY_HEADER = "X-Line-Retry-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The outbox's idempotency key itself travels in this header, unchanged, on every attempt
(LINE ignores it); LINE deduplicates on ``X-Line-Retry-Key``, a UUID derived from the same key
(:func:`omnisdk_line.outbound.retry_key`)."""


@dataclass(frozen=True, slots=True)
class MediaContent:
    """Content a user sent, as the content API returned it."""

    data: bytes
    mime_type: str | None


class LineAdapter(ChannelAdapter):
    """LINE Messaging API: verify and translate webhooks, push messages, fetch content and
    profiles.

    Args:
        account: the account name (URL segment and configuration table).
        settings: a :class:`LineSettings` (or a dict of them).
        retry: the send retry policy (default: :class:`omnisdk.outbound.RetryPolicy`).
        sleep: the coroutine the HTTP client waits with between attempts (tests).
        transport: an httpx transport for the HTTP clients (tests, proxies).
    """

    name: ClassVar[str] = "line"
    channel: ClassVar[str] = Channel.LINE
    Settings: ClassVar[type[LineSettings]] = LineSettings
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"

    settings: LineSettings

    def __init__(
        self,
        account: str,
        settings: LineSettings | dict[str, Any],
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(settings, LineSettings):
            settings = LineSettings.model_validate(settings)
        super().__init__(account, settings)
        self._owned = frozenset({settings.bot_user_id})
        self._retry = retry
        self._sleep = sleep
        self._transport = transport
        self._api: ProviderClient | None = None
        self._content: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake credentials; ``bot_user_id`` is the ``destination`` of the recordings
        (line-bot-sdk-python's placeholder ``U123``), so the account owns them."""
        return {
            "channel_secret": "example-channel-secret",
            "channel_access_token": "example-channel-access-token",
            "bot_user_id": "U123",
        }

    def business_addresses(self) -> frozenset[str]:
        """``{bot_user_id}``: webhooks carry it as ``destination``."""
        return self._owned

    def default_business(self) -> str:
        """``bot_user_id``: a channel has one bot, the sender of every push."""
        return self.settings.bot_user_id

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A push answer (https://developers.line.biz/en/reference/messaging-api/#send-push-message
        "Response"), for the demo's stand-in provider and the test kit."""
        return {"sentMessages": [{"id": f"{500000000000000000 + n}", "quoteToken": f"sandbox-quote-{n}"}]}

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Line-Signature`` (see :func:`omnisdk_line.signature.verify`).

        Raises:
            SignatureError: missing, malformed or wrong signature.
        """
        signature.verify(secret_value(self.settings.channel_secret), request.body, request.headers)

    def parse(self, request: WebhookRequest) -> list[Event]:
        """Translate the body (see :mod:`omnisdk_line.translate`); ``[]`` for the console's
        Verify request.

        Raises:
            PayloadError: malformed, truncated or undocumented body.
        """
        return translate.parse(request.body, source=self.source)

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """``{"X-Line-Signature": ...}`` as LINE would send it for ``body``."""
        return {signature.HEADER: signature.compute(secret_value(self.settings.channel_secret), body)}

    # --- HTTP clients -------------------------------------------------------------------------

    def _client(self, base_url: str) -> ProviderClient:
        extra: dict[str, Any] = {}
        if self._retry is not None:
            extra["retry"] = self._retry
        if self._sleep is not None:
            extra["sleep"] = self._sleep
        return ProviderClient(
            provider=self.name,
            base_url=base_url,
            headers={"Authorization": f"Bearer {secret_value(self.settings.channel_access_token)}"},
            idempotency_header=IDEMPOTENCY_HEADER,
            request_id_headers=REQUEST_ID_HEADERS,
            error_code=outbound.error_code,
            transport=self._transport,
            **extra,
        )

    def _http(self) -> ProviderClient:
        if self._api is None:
            self._api = self._client(self.settings.api_base_url or DEFAULT_API_BASE_URL)
        return self._api

    # --- outbound -----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Push one message: ``POST /v2/bot/message/push`` (see :mod:`omnisdk_line.outbound`).

        Every attempt carries ``X-Line-Retry-Key: retry_key(idempotency_key)`` and
        ``Idempotency-Key: idempotency_key``.

        Raises:
            ValueError: content LINE cannot carry, a bad recipient, or a ``business`` other
                than the bot (no I/O).
            omnisdk.outbound.OutboundError: or a subclass, with the ``X-Line-Request-Id``;
                also for a 2xx answer without a sent message id.  A ``409`` (the retry key
                was already accepted: the message went out earlier) is raised as such.
        """
        if message.business is not None and message.business not in self._owned:
            raise ValueError(f"line: account {self.account!r} does not own bot {message.business!r}")
        body = outbound.build_body(message)
        client = self._http()
        resp = await client.request(
            "POST", outbound.PUSH_PATH, json=body, idempotency_key=idempotency_key,
            headers={RETRY_KEY_HEADER: outbound.retry_key(idempotency_key)},
        )
        rid = client.request_id(resp)
        try:
            mid = outbound.read_response(resp.json())
        except ValueError:  # JSONDecodeError is a ValueError
            raise OutboundError(
                f"line: POST {outbound.PUSH_PATH} answered {resp.status_code} without a message id",
                provider=self.name, request_id=rid,
            ) from None
        return SendResult(message_id=mid, status="accepted", request_id=rid)

    # --- on-demand lookups --------------------------------------------------------------------

    async def fetch_media(self, content_id: str) -> MediaContent:
        """Download what a user sent (image, video, audio, file) by its message id:
        ``GET https://api-data.line.me/v2/bot/message/{messageId}/content``
        (https://developers.line.biz/en/reference/messaging-api/#get-content).  Content is
        kept by LINE for a limited time; ``external`` content is not served here.

        Raises:
            ValueError: an empty content id.
            omnisdk.outbound.OutboundError: or a subclass (404 when expired or unknown).
        """
        if not content_id:
            raise ValueError("line: empty content id")
        if self._content is None:
            self._content = self._client(self.settings.content_base_url or DEFAULT_CONTENT_BASE_URL)
        resp = await self._content.request("GET", f"/v2/bot/message/{quote(content_id, safe='')}/content")
        return MediaContent(data=resp.content, mime_type=resp.headers.get("content-type"))

    async def profile(self, user_id: str) -> dict[str, Any]:
        """A user's profile: ``GET /v2/bot/profile/{userId}``
        (https://developers.line.biz/en/reference/messaging-api/#get-profile): ``displayName``,
        ``userId``, ``pictureUrl``, ``statusMessage``, ``language`` (the last three only when
        set or consented).

        Raises:
            ValueError: an empty user id.
            omnisdk.outbound.OutboundError: or a subclass (404 for a user who is not a friend),
                also for a 2xx answer that is not a JSON object with ``displayName``.
        """
        if not user_id:
            raise ValueError("line: empty user id")
        client = self._http()
        path = f"/v2/bot/profile/{quote(user_id, safe='')}"
        resp = await client.request("GET", path)
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if type(doc) is not dict or type(doc.get("displayName")) is not str:
            raise OutboundError(f"line: GET {path} answered without a profile", provider=self.name,
                                request_id=client.request_id(resp))
        return doc

    async def aclose(self) -> None:
        """Close the HTTP clients, if any were made."""
        for name in ("_api", "_content"):
            client = getattr(self, name)
            if client is not None:
                setattr(self, name, None)
                await client.aclose()
