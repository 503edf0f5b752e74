"""The WhatsApp Cloud API channel adapter.

Webhook URL: ``https://<public host>/webhooks/whatsapp/<account>`` — enter it, with the
account's ``verify_token``, under App Dashboard > WhatsApp > Configuration, and subscribe to
the ``messages`` field (developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx

from omnisdk.adapters import (
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    WebhookReply,
    WebhookRequest,
    secret_value,
)
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import Event
from omnisdk.model.addresses import Channel
from omnisdk.outbound import OutboundError, ProviderClient, RetryPolicy
from omnisdk_whatsapp import signature, translate
from omnisdk_whatsapp.outbound import build_body, error_code, read_receipt, read_response
from omnisdk_whatsapp.settings import DEFAULT_API_BASE_URL, WhatsAppSettings

# Graph API responses carry x-fb-trace-id (the fbtrace_id Meta support asks for) and
# x-fb-request-id — developers.facebook.com/docs/graph-api/guides/error-handling
REQUEST_ID_HEADERS = ("x-fb-trace-id", "x-fb-request-id")
_MAX_CHALLENGE = 256


class WhatsAppAdapter(ChannelAdapter):
    """WhatsApp Cloud API: verify and translate webhooks, send through the Graph API.

    Args:
        account: the account name (URL segment and configuration table).
        settings: a :class:`WhatsAppSettings`.
        retry: the send retry policy (default: :class:`omnisdk.outbound.RetryPolicy`).
        sleep: the coroutine the HTTP client waits with between attempts (tests inject a
            fake clock).
        transport: an httpx transport for the HTTP client (tests, proxies).
    """

    name: ClassVar[str] = "whatsapp"
    channel: ClassVar[str] = Channel.WHATSAPP
    outbound_content: ClassVar[frozenset[str]] = frozenset({
        "text", "media", "template", "buttons", "list_menu", "location", "reaction", "contacts", "preview_url"})
    service_window: float | None = 24 * 3600.0
    """The customer-service window: free-form messages only within 24 hours of the customer's
    last message; outside it, only a template (developers.facebook.com/docs/whatsapp/cloud-api/
    guides/send-messages#customer-service-windows).  The core refuses a text before any I/O."""
    read_receipts: ClassVar[bool] = True
    """:meth:`mark_read` marks a customer's message read (the blue ticks)."""
    Settings: ClassVar[type[WhatsAppSettings]] = WhatsAppSettings
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"

    settings: WhatsAppSettings

    def __init__(
        self,
        account: str,
        settings: WhatsAppSettings,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(account, settings)
        self._owned = frozenset((settings.phone_number_id, *settings.phone_number_ids))
        self._retry = retry
        self._sleep = sleep
        self._transport = transport
        self._client: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Fake credentials; ``phone_number_id`` is the business number of most recordings, and
        ``phone_number_ids`` the others the recordings name in ``metadata.phone_number_id``
        (copied unchanged from their sources, one a documentation placeholder), so the
        account owns every recording."""
        return {
            "app_secret": "example-app-secret",
            "verify_token": "example-verify-token",
            "access_token": "example-access-token",
            "phone_number_id": "1122334455667",
            "phone_number_ids": ["106540352242922", "277321005464405", "<BUSINESS_PHONE_NUMBER_ID>"],
            "api_version": "v21.0",
        }

    def business_addresses(self) -> frozenset[str]:
        """The phone number ids this account owns: ``phone_number_id`` and
        ``phone_number_ids`` (see :mod:`omnisdk_whatsapp.settings`), as webhooks carry them in
        ``value.metadata.phone_number_id``."""
        return self._owned

    def default_business(self) -> str:
        """``phone_number_id``: the sender when a message names none."""
        return self.settings.phone_number_id

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A Graph API answer to a successful send (/docs/whatsapp/cloud-api/reference/messages,
        "Response"), for the demo's stand-in provider and the test kit."""
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+15550100001", "wa_id": "15550100001"}],
            "messages": [{"id": f"wamid.sandbox{n:08d}", "message_status": "accepted"}],
        }

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Hub-Signature-256`` (see :func:`omnisdk_whatsapp.signature.verify`).

        Raises:
            SignatureError: missing, malformed or wrong signature.
        """
        signature.verify(secret_value(self.settings.app_secret), request.body, request.headers)

    def parse(self, request: WebhookRequest) -> list[Event]:
        """Translate the body (see :mod:`omnisdk_whatsapp.translate`).

        Raises:
            PayloadError: malformed, truncated or undocumented body.
        """
        return translate.parse(request.body, source=self.source, received_at=request.received_at)

    def handshake(self, request: WebhookRequest) -> WebhookReply | None:
        """Answer Meta's GET verification request: echo ``hub.challenge`` as text/plain.

        Query (/docs/whatsapp/cloud-api/guides/set-up-webhooks, /docs/graph-api/webhooks/
        getting-started "Verification Requests"): ``hub.mode=subscribe``,
        ``hub.verify_token`` (compared in constant time with the account's ``verify_token``),
        ``hub.challenge`` (echoed; at most 256 printable ASCII characters).  Returns None for
        other methods than GET.

        Raises:
            PayloadError: a parameter is missing, ``hub.mode`` is not ``subscribe``, or the
                challenge is empty, too long or not printable ASCII.
            SignatureError: the verify token is wrong.
        """
        if request.method.upper() != "GET":
            return None
        q = request.query
        mode, token = q.get("hub.mode"), q.get("hub.verify_token")
        challenge = q.get("hub.challenge")
        if mode != "subscribe" or token is None or not challenge:
            raise PayloadError("expected hub.mode=subscribe, hub.verify_token and hub.challenge")
        if len(challenge) > _MAX_CHALLENGE or not (challenge.isascii() and challenge.isprintable()):
            raise PayloadError("hub.challenge is not a short printable string")
        expected = secret_value(self.settings.verify_token).encode("utf-8")
        if not expected or not hmac.compare_digest(token.encode("utf-8"), expected):
            raise SignatureError("hub.verify_token does not match", reason="bad_verify_token")
        return WebhookReply(200, "text/plain", challenge.encode("ascii"))

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """``{"X-Hub-Signature-256": "sha256=…"}`` as Meta would send it for ``body``."""
        app_secret = secret_value(self.settings.app_secret)
        return {signature.HEADER: signature.compute(app_secret, body)}

    # --- outbound -----------------------------------------------------------------------------

    def _http(self) -> ProviderClient:
        if self._client is None:
            s = self.settings
            extra: dict[str, Any] = {}
            if self._retry is not None:
                extra["retry"] = self._retry
            if self._sleep is not None:
                extra["sleep"] = self._sleep
            self._client = ProviderClient(
                provider=self.name,
                base_url=s.api_base_url or DEFAULT_API_BASE_URL,
                headers={"Authorization": f"Bearer {secret_value(s.access_token)}"},
                request_id_headers=REQUEST_ID_HEADERS,
                error_code=error_code,
                transport=self._transport,
                **extra,
            )
        return self._client

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Send one message: ``POST /{api_version}/{phone_number_id}/messages``.

        The sender is ``message.business`` when set (one of :meth:`business_addresses`),
        else the account's ``phone_number_id``.  ``idempotency_key`` goes out in the
        ``Idempotency-Key`` header on every attempt; Meta ignores it (the Cloud API has no
        idempotent send), so redelivery safety rests on the core's outbox, which dedupes on
        our side before calling ``send``.

        Raises:
            ValueError: the message has no content or content WhatsApp cannot carry, or its
                ``business`` is not a phone number id (digits) this account owns (no I/O).
            omnisdk.outbound.OutboundError: or a subclass (BadRequestError, RateLimitError,
                InternalServerError …) with the ``x-fb-trace-id`` request id and the Graph
                ``error.code``; also for a 2xx answer without a message id.
        """
        body = build_body(message)
        sender = message.business or self.settings.phone_number_id
        if not (sender.isascii() and sender.isdigit()):
            raise ValueError("whatsapp: business must be a phone number id (digits)")
        if sender not in self._owned:
            raise ValueError(f"whatsapp: account {self.account!r} does not own phone number id {sender}")
        client = self._http()
        path = f"/{self.settings.api_version}/{sender}/messages"
        resp = await client.request("POST", path, json=body, idempotency_key=idempotency_key)
        rid = client.request_id(resp)
        try:
            mid, status = read_response(resp.json())
        except ValueError:  # JSONDecodeError is a ValueError
            raise OutboundError(
                f"whatsapp: POST {path} answered {resp.status_code} without a message id",
                provider=self.name,
                request_id=rid,
            ) from None
        return SendResult(message_id=mid, status=status, request_id=rid)

    async def mark_read(self, message_id: str, *, customer: str | None = None, business: str | None = None) -> None:
        """Mark a customer's message (and the ones before it) as read: the blue ticks
        (``POST /{api_version}/{phone_number_id}/messages`` with ``status: "read"``,
        /docs/whatsapp/cloud-api/guides/mark-message-as-read).  The message id alone names the
        conversation: ``customer`` is not sent.

        Raises:
            ValueError: no message id, or a ``business`` this account does not own (no I/O).
            omnisdk.outbound.OutboundError: or a subclass, as :meth:`send`.
        """
        body = read_receipt(message_id)
        sender = business or self.settings.phone_number_id
        if sender not in self._owned:
            raise ValueError(f"whatsapp: account {self.account!r} does not own phone number id {sender}")
        await self._http().request("POST", f"/{self.settings.api_version}/{sender}/messages", json=body,
                                   idempotency_key=f"read:{message_id}")

    async def aclose(self) -> None:
        """Close the HTTP client, if one was made."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
