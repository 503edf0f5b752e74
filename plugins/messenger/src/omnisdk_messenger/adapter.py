"""The Messenger Platform channel adapter.

Webhook URL: ``https://<public host>/webhooks/messenger/<account>`` — enter it, with the
account's ``verify_token``, under App Dashboard > Messenger > Settings > Webhooks, subscribe
the Page, and select the fields (``messages``, ``messaging_postbacks``, ``message_deliveries``,
``message_reads``, ``message_reactions``, ``message_echoes``, ``messaging_referrals``,
``messaging_optins``, ``messaging_handovers``, ``standby``)
(https://developers.facebook.com/docs/messenger-platform/webhooks).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
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
from omnisdk.outbound.errors import APIStatusError
from omnisdk_messenger import errors, outbound, signature, translate, window
from omnisdk_messenger.settings import DEFAULT_API_BASE_URL, MessengerSettings

REQUEST_ID_HEADERS = ("x-fb-trace-id", "x-fb-request-id")
"""Graph API responses carry ``x-fb-trace-id`` (the ``fbtrace_id`` Meta support asks for)
and ``x-fb-request-id`` (https://developers.facebook.com/docs/graph-api/guides/error-handling)."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The outbox's key travels here unchanged on every attempt; the Graph API ignores it (it has
no idempotency key), so sends are at least once towards Meta."""
PAGE_INBOX_APP_ID = "263902037430900"
"""The Page Inbox's app id, the usual ``target_app_id`` for handing a thread to people
(https://developers.facebook.com/docs/messenger-platform/handover-protocol/conversation-control)."""
_MAX_CHALLENGE = 256


class MessengerAdapter(ChannelAdapter):
    """Messenger Platform: verify and translate Page webhooks, answer the GET handshake, send
    through the Send API, pass and take thread control.

    Args:
        account: the account name (URL segment and configuration table).
        settings: a :class:`MessengerSettings` (or a dict of them).
        retry: the send retry policy (default: :class:`omnisdk.outbound.RetryPolicy`).
        sleep: the coroutine the HTTP client waits with between attempts (tests).
        transport: an httpx transport for the HTTP client (tests, proxies).
    """

    name: ClassVar[str] = "messenger"
    channel: ClassVar[str] = Channel.MESSENGER
    Settings: ClassVar[type[MessengerSettings]] = MessengerSettings
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"
    read_receipts: ClassVar[bool] = True
    """:meth:`mark_read` sends the ``mark_seen`` sender action (the person sees "Seen")."""

    settings: MessengerSettings

    def __init__(
        self,
        account: str,
        settings: MessengerSettings | dict[str, Any],
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(settings, MessengerSettings):
            settings = MessengerSettings.model_validate(settings)
        super().__init__(account, settings)
        self.service_window = (window.HUMAN_AGENT_WINDOW if settings.human_agent_tag
                               else window.STANDARD_WINDOW).total_seconds()
        """24 hours, or 7 days with the HUMAN_AGENT tag: the core refuses a text outside it."""
        self._owned = frozenset({settings.page_id})
        self._retry = retry
        self._sleep = sleep
        self._transport = transport
        self._client: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake credentials; ``page_id`` is the Page of the recordings."""
        return {
            "app_secret": "example-app-secret",
            "verify_token": "example-verify-token",
            "page_access_token": "example-page-access-token",
            "page_id": "105000000000001",
        }

    def business_addresses(self) -> frozenset[str]:
        """``{page_id}``: webhooks carry it as ``entry[].id``."""
        return self._owned

    def default_business(self) -> str:
        """``page_id``: the one sender of the account."""
        return self.settings.page_id

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A Send API answer (https://developers.facebook.com/docs/messenger-platform/reference/send-api/
        "Response"), for the demo's stand-in provider and the test kit."""
        return {"recipient_id": "6000000000000001", "message_id": f"m_sandbox{n:08d}"}

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Hub-Signature-256`` (see :func:`omnisdk_messenger.signature.verify`).

        Raises:
            SignatureError: missing, malformed or wrong signature.
        """
        signature.verify(secret_value(self.settings.app_secret), request.body, request.headers)

    def parse(self, request: WebhookRequest) -> list[Event]:
        """Translate the body (see :mod:`omnisdk_messenger.translate`).

        Raises:
            PayloadError: malformed, truncated or undocumented body.
        """
        return translate.parse(request.body, source=self.source)

    def handshake(self, request: WebhookRequest) -> WebhookReply | None:
        """Answer Meta's GET verification request: echo ``hub.challenge`` as text/plain.

        Query (https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
        "Verification Requests"): ``hub.mode=subscribe``, ``hub.verify_token`` (compared in
        constant time with the account's ``verify_token``), ``hub.challenge`` (echoed; at most
        256 printable ASCII characters).  None for other methods than GET.

        Raises:
            PayloadError: a parameter is missing, ``hub.mode`` is not ``subscribe``, or the
                challenge is empty, too long or not printable ASCII.
            SignatureError: the verify token is wrong (``bad_verify_token``).
        """
        if request.method.upper() != "GET":
            return None
        q = request.query
        mode, token, challenge = q.get("hub.mode"), q.get("hub.verify_token"), q.get("hub.challenge")
        if mode != "subscribe" or token is None or not challenge:
            raise PayloadError("expected hub.mode=subscribe, hub.verify_token and hub.challenge",
                               reason="bad_handshake")
        if len(challenge) > _MAX_CHALLENGE or not (challenge.isascii() and challenge.isprintable()):
            raise PayloadError("hub.challenge is not a short printable string", reason="bad_handshake")
        expected = secret_value(self.settings.verify_token).encode("utf-8")
        if not expected or not hmac.compare_digest(token.encode("utf-8"), expected):
            raise SignatureError("hub.verify_token does not match", reason="bad_verify_token")
        return WebhookReply(200, "text/plain", challenge.encode("ascii"))

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """``{"X-Hub-Signature-256": "sha256=…"}`` as Meta would send it for ``body``."""
        return {signature.HEADER: signature.compute(secret_value(self.settings.app_secret), body)}

    # --- outbound -----------------------------------------------------------------------------

    def _http(self) -> ProviderClient:
        if self._client is None:
            extra: dict[str, Any] = {}
            if self._retry is not None:
                extra["retry"] = self._retry
            if self._sleep is not None:
                extra["sleep"] = self._sleep
            self._client = ProviderClient(
                provider=self.name,
                base_url=self.settings.api_base_url or DEFAULT_API_BASE_URL,
                headers={"Authorization": f"Bearer {secret_value(self.settings.page_access_token)}"},
                idempotency_header=IDEMPOTENCY_HEADER,
                request_id_headers=REQUEST_ID_HEADERS,
                error_code=errors.error_code,
                transport=self._transport,
                **extra,
            )
        return self._client

    async def _call(self, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> httpx.Response:
        """POST through the core's client; a Graph error body is mapped (:mod:`.errors`)."""
        try:
            return await self._http().request("POST", path, json=body, idempotency_key=idempotency_key)
        except APIStatusError as exc:
            raise errors.map_error(exc) from None

    def messaging_type(self, last_inbound_at: datetime | None, now: datetime | None = None) -> window.MessagingType:
        """The window rule (:func:`omnisdk_messenger.window.messaging_type`) with this account's
        ``human_agent_tag`` setting; ``now`` defaults to the clock.

        Raises:
            omnisdk_messenger.errors.WindowClosedError: outside every usable window.
        """
        return window.messaging_type(last_inbound_at, now or datetime.now(UTC),
                                     human_agent_tag=self.settings.human_agent_tag)

    async def send(self, message: OutboundMessage, *, idempotency_key: str,
                   last_inbound_at: datetime | None = None) -> SendResult:
        """Send one message: ``POST /{graph_version}/{page_id}/messages`` (see
        :mod:`omnisdk_messenger.outbound`).

        ``messaging_type`` comes from the window rule when the person's last message time is
        known — ``last_inbound_at``, else the outbox's ``message.customer_last_wrote_at`` —
        which refuses before any I/O outside every window; ``RESPONSE`` when it is unknown.

        Raises:
            ValueError: content Messenger cannot carry, a recipient that is not a PSID, or a
                ``business`` other than the Page (no I/O).
            omnisdk_messenger.errors.WindowClosedError: with ``last_inbound_at``, outside the
                window (no I/O).
            omnisdk.outbound.OutboundError: or a subclass (Graph codes mapped as in
                :mod:`omnisdk_messenger.errors`); also for a 2xx answer without a message id.
        """
        if message.business is not None and message.business not in self._owned:
            raise ValueError(f"messenger: account {self.account!r} does not own Page {message.business!r}")
        if last_inbound_at is None and message.customer_last_wrote_at is not None:
            last_inbound_at = datetime.fromtimestamp(message.customer_last_wrote_at, UTC)
        kind = window.STANDARD if last_inbound_at is None else self.messaging_type(last_inbound_at)
        body = outbound.build_body(message, kind)
        path = outbound.messages_path(self.settings.graph_version, self.settings.page_id)
        resp = await self._call(path, body, idempotency_key)
        rid = self._http().request_id(resp)
        try:
            mid = outbound.read_response(resp.json())
        except ValueError:  # JSONDecodeError is a ValueError
            raise OutboundError(f"messenger: POST {path} answered {resp.status_code} without a message_id",
                                provider=self.name, request_id=rid) from None
        return SendResult(message_id=mid, status="accepted", request_id=rid)

    async def mark_read(self, message_id: str, *, customer: str, business: str | None = None) -> None:
        """Show the person that the Page read their messages: the ``mark_seen`` sender action
        (``POST /{graph_version}/{page_id}/messages`` with ``recipient`` and ``sender_action``,
        https://developers.facebook.com/docs/messenger-platform/send-messages/sender-actions).
        Messenger marks the conversation, not one message: ``message_id`` (the latest ``mid``)
        is the idempotency key only.  Meta answers ``{"recipient_id": PSID}``.

        Raises:
            ValueError: a customer that is not a PSID, or a ``business`` other than the Page (no I/O).
            omnisdk.outbound.OutboundError: or a subclass (Graph codes mapped as for :meth:`send`).
        """
        if business is not None and business not in self._owned:
            raise ValueError(f"messenger: account {self.account!r} does not own Page {business!r}")
        body = outbound.mark_seen_body(customer)
        await self._call(outbound.messages_path(self.settings.graph_version, self.settings.page_id), body,
                         f"seen:{message_id}")

    # --- handover protocol --------------------------------------------------------------------

    async def _thread_control(self, op: str, customer: str, **fields: str | None) -> None:
        path = f"/{self.settings.graph_version}/{self.settings.page_id}/{op}"
        body = outbound.thread_control_body(customer, **fields)
        resp = await self._call(path, body)
        try:
            ok = resp.json().get("success") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise OutboundError(f"messenger: POST {path} answered {resp.status_code} without success",
                                provider=self.name, request_id=self._http().request_id(resp))

    async def pass_thread_control(self, customer: str, target_app_id: str = PAGE_INBOX_APP_ID,
                                  metadata: str | None = None) -> None:
        """Hand the conversation with ``customer`` (a PSID) to another app:
        ``POST /{version}/{page}/pass_thread_control`` with ``recipient``, ``target_app_id``
        (default the Page Inbox) and ``metadata``; Meta answers ``{"success": true}``
        (https://developers.facebook.com/docs/messenger-platform/handover-protocol/conversation-control).

        Raises:
            ValueError: a customer that is not a PSID, or a target app id that is not digits.
            omnisdk.outbound.OutboundError: or a subclass.
        """
        if not (target_app_id.isascii() and target_app_id.isdigit()):
            raise ValueError("messenger: target_app_id must be an app id (digits)")
        await self._thread_control("pass_thread_control", customer, target_app_id=target_app_id,
                                   metadata=metadata)

    async def take_thread_control(self, customer: str, metadata: str | None = None) -> None:
        """Take the conversation with ``customer`` back (the app must be the Primary Receiver,
        or the thread idle): ``POST /{version}/{page}/take_thread_control`` (same page).

        Raises:
            ValueError: a customer that is not a PSID.
            omnisdk.outbound.OutboundError: or a subclass.
        """
        await self._thread_control("take_thread_control", customer, metadata=metadata)

    async def request_thread_control(self, customer: str, metadata: str | None = None) -> None:
        """Ask the Primary Receiver for the conversation with ``customer``:
        ``POST /{version}/{page}/request_thread_control`` (same page).

        Raises:
            ValueError: a customer that is not a PSID.
            omnisdk.outbound.OutboundError: or a subclass.
        """
        await self._thread_control("request_thread_control", customer, metadata=metadata)

    async def aclose(self) -> None:
        """Close the HTTP client, if one was made."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

