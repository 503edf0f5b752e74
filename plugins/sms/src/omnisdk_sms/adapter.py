"""The ``sms`` channel adapter: Twilio Programmable Messaging (SMS and MMS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from omnisdk.adapters import (
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    WebhookReply,
    WebhookRequest,
    secret_value,
)
from omnisdk.errors import PayloadError
from omnisdk.events import Event
from omnisdk.model.addresses import Channel
from omnisdk.outbound import OutboundError, ProviderClient, RetryPolicy
from omnisdk_sms import outbound, signature, translate
from omnisdk_sms.forms import decode_form
from omnisdk_sms.settings import TwilioSmsSettings

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
"""An empty TwiML ``<Response>``: Twilio sends no auto-reply (twilio.com/docs/messaging/twiml)."""

PROVIDER = "twilio"
REQUEST_ID_HEADER = "Twilio-Request-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""Twilio documents no idempotency header for creating Messages (message-resource), so the
ProviderClient's default header is sent and ignored by Twilio; a retried create after a 5xx or
a timeout may therefore send twice at Twilio's end.  Deduplication is ours: the outbox makes
one key per row and never re-sends a row it recorded as sent.  (``I-Twilio-Idempotency-Token``
is a header Twilio *sends on its webhooks*, twilio.com/docs/usage/webhooks/webhooks-faq.)"""


def twilio_error_code(body: Any) -> str | None:
    """The ``code`` of a Twilio REST error body (``{"code", "message", "more_info", "status"}``,
    twilio.com/docs/usage/twilios-response#response-formats-exceptions)."""
    if isinstance(body, dict) and body.get("code") is not None:
        return str(body["code"])
    return None


class TwilioSmsAdapter(ChannelAdapter):
    """Verify and translate Twilio messaging webhooks; send SMS/MMS with the Messages API.

    Webhooks: ``POST /webhooks/sms/{account}`` (or ``GET``, when the number is configured to
    call with HTTP GET) as both the number's (or Messaging Service's) incoming-message URL and
    the status-callback URL; one adapter tells them apart.

    Args:
        account: the account name in the configuration.
        settings: :class:`TwilioSmsSettings` (or a dict of them).
        transport: httpx transport for the API client (tests).
        sleep: coroutine the API client waits with between attempts (tests inject a fake).
        retry: the API client's :class:`~omnisdk.outbound.RetryPolicy`.
    """

    name: ClassVar[str] = "sms"
    channel: ClassVar[str] = Channel.SMS
    Settings: ClassVar[type[TwilioSmsSettings]] = TwilioSmsSettings
    max_body_bytes: ClassVar[int] = 64 * 1024
    webhook_methods: ClassVar[frozenset[str]] = frozenset({"POST", "GET"})
    """Twilio calls the webhook URL with the method configured for it, POST or GET
    (twilio.com/docs/usage/webhooks/messaging-webhooks); a GET carries the form in its query."""
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"

    settings: TwilioSmsSettings

    def __init__(
        self,
        account: str,
        settings: TwilioSmsSettings | dict[str, Any],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not isinstance(settings, TwilioSmsSettings):
            settings = TwilioSmsSettings.model_validate(settings)
        super().__init__(account, settings)
        self._owned = settings.business_numbers()
        self._transport = transport
        self._sleep = sleep
        self._retry = retry
        self._client: ProviderClient | None = None
        self._last_form: tuple[bytes, list[tuple[str, str]]] | None = None

    def _decode(self, body: bytes) -> list[tuple[str, str]]:
        """:func:`decode_form`, remembering the last body so ``verify`` then ``parse`` of one
        request decode it once (keyed on the identity of the immutable bytes, which the memo
        keeps alive; a pure cache).

        Raises:
            PayloadError: see :func:`decode_form`.
        """
        last = self._last_form
        if last is not None and last[0] is body:
            return last[1]
        pairs = decode_form(body)
        self._last_form = (body, pairs)
        return pairs

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake but valid settings (demo, docs, scaffolds); ``from_number`` is the
        recordings' business number (``recordings/SOURCES.md``), so the account owns them."""
        return {
            "account_sid": "AC" + "0123456789abcdef" * 2,
            "auth_token": "example-auth-token",
            "from_number": "+14155550100",
        }

    def business_addresses(self) -> frozenset[str]:
        """The Twilio numbers this account owns (E.164): ``from_number`` and ``numbers``.
        Incoming messages carry ours in ``To``, status callbacks in ``From``."""
        return self._owned

    def default_business(self) -> str | None:
        """``from_number``; None when the account sends through its Messaging Service only
        (Twilio then picks the sender from the service's pool)."""
        return self.settings.from_number

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A Messages API answer to a successful create (twilio.com/docs/messaging/api/
        message-resource, "Create a Message resource"), for the demo and the test kit."""
        return {
            "sid": f"SM{n:032x}",
            "status": "queued",
            "account_sid": cls.example_settings()["account_sid"],
            "num_segments": "1",
        }

    # --- inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Twilio-Signature`` (see :mod:`omnisdk_sms.signature`).

        Raises:
            SignatureError: missing, malformed or wrong signature.
        """
        signature.verify(
            secret_value(self.settings.auth_token),
            request.url,
            request.body,
            request.headers.get(signature.HEADER_LOWER),
            method=request.method,
            decode=self._decode,
        )

    def parse(self, request: WebhookRequest) -> list[Event]:
        """One event per webhook: ``message.received`` or ``message.status``.

        POST bodies are forms; a GET webhook carries the same parameters in its query.

        Raises:
            PayloadError: malformed body or an undocumented message (see
                :func:`omnisdk_sms.translate.to_events`).
        """
        if request.method.upper() == "GET":
            try:
                raw: bytes | str = urlsplit(request.url).query
            except ValueError:
                raise PayloadError(
                    "webhook URL is not parseable", reason="malformed_payload"
                ) from None
            params = dict(decode_form(raw))
        else:
            params = dict(self._decode(request.body))
        return translate.to_events(params, source=self.source, received_at=request.received_at)

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """``{"X-Twilio-Signature": ...}`` as Twilio would send it for this POST.

        Raises:
            ValueError: a non-form body without ``bodySHA256`` in the URL.
        """
        token = secret_value(self.settings.auth_token)
        return {signature.HEADER: signature.sign(token, url, body, content_type)}

    def acknowledge(self, events: Sequence[Event]) -> WebhookReply:
        """200 with an empty TwiML response, so Twilio sends no auto-reply."""
        return WebhookReply(status=200, content_type="text/xml", body=EMPTY_TWIML)

    # --- outbound -------------------------------------------------------------------------

    def _api(self) -> ProviderClient:
        if self._client is None:
            extra: dict[str, Any] = {}
            if self._sleep is not None:
                extra["sleep"] = self._sleep
            if self._retry is not None:
                extra["retry"] = self._retry
            self._client = ProviderClient(
                provider=PROVIDER,
                base_url=self.settings.rest_base_url(),
                auth=(self.settings.account_sid, secret_value(self.settings.auth_token)),
                idempotency_header=IDEMPOTENCY_HEADER,
                request_id_headers=(REQUEST_ID_HEADER,),
                error_code=twilio_error_code,
                transport=self._transport,
                **extra,
            )
        return self._client

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Create a Message resource (twilio.com/docs/messaging/api/message-resource).

        Returns:
            SendResult with the Message SID (``SM…``/``MM…``), Twilio's initial status
            (``queued``, ``accepted`` …) and the ``Twilio-Request-Id`` header.

        Raises:
            ValueError: invalid message (checked before any I/O, see
                :func:`omnisdk_sms.outbound.build_form`).
            omnisdk.outbound.OutboundError: or a subclass (``BadRequestError`` with Twilio's
                ``error_code`` such as ``21211`` …), with the request id.
        """
        form = outbound.build_form(message, self.settings)
        api = self._api()
        resp = await api.request(
            "POST",
            f"/2010-04-01/Accounts/{self.settings.account_sid}/Messages.json",
            data=form,
            idempotency_key=idempotency_key,
        )
        request_id = api.request_id(resp)
        try:
            body = resp.json()
            sid = body["sid"]
        except (ValueError, KeyError, TypeError):
            raise OutboundError(
                f"{PROVIDER}: Messages.json answered {resp.status_code} without a message sid",
                provider=PROVIDER,
                request_id=request_id,
            ) from None
        return SendResult(
            message_id=str(sid), status=str(body.get("status") or "queued"), request_id=request_id
        )

    async def aclose(self) -> None:
        """Close the API client, if one was made."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
