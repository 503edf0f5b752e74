"""The Apple Messages for Business channel adapter (the MSP side of Apple's REST API).

Webhook URL: ``https://<public host>/webhooks/apple_business/<account>`` — register it as the
MSP's message endpoint with Apple (register.apple.com, the MSP account's "Messaging Service
Provider" settings); Apple posts every customer message to it
(https://register.apple.com/resources/messages/msp-rest-api/messages-received).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

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
from omnisdk.outbound.errors import APIConnectionError, APIStatusError
from omnisdk_apple_business import attachments, gzip_body, outbound, tokens, translate
from omnisdk_apple_business.settings import (
    DEFAULT_API_BASE_URL,
    AppleBusinessSettings,
    decode_secret,
)

REQUEST_ID_HEADERS = ("x-request-id", "id")
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The outbox's idempotency key itself travels in this header, unchanged, on every attempt
(Apple ignores it); Apple's own deduplication key is the message ``id`` header, a UUID made
from the same key (:func:`omnisdk_apple_business.outbound.message_id`)."""


@dataclass(frozen=True, slots=True)
class AttachmentContent:
    """A customer's attachment, downloaded and decrypted."""

    data: bytes
    name: str | None
    mime_type: str | None


class AppleBusinessAdapter(ChannelAdapter):
    """Apple Messages for Business: verify (JWT) and translate gzipped webhooks, send text, list
    pickers, rich links and attachments, download and decrypt customers' attachments.

    Args:
        account: the account name (URL segment and configuration table).
        settings: an :class:`AppleBusinessSettings` (or a dict of them).
        retry: the send retry policy (default: :class:`omnisdk.outbound.RetryPolicy`).
        sleep: the coroutine the HTTP client waits with between attempts (tests).
        transport: an httpx transport for the HTTP client (tests, proxies).
    """

    name: ClassVar[str] = "apple_business"
    channel: ClassVar[str] = Channel.APPLE_BUSINESS
    Settings: ClassVar[type[AppleBusinessSettings]] = AppleBusinessSettings
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"
    outbound_content: ClassVar[frozenset[str]] = frozenset({"text", "media", "list_menu"})
    """Text, media (attachments uploaded with :meth:`upload_attachment`, or one https URL as a
    rich link) and list menus (list pickers); Apple has no templates, and buttons, locations,
    reactions and contact cards have no message type here (:mod:`omnisdk_apple_business.outbound`),
    so the core refuses those before any I/O."""
    max_body_bytes: ClassVar[int] = 1 << 20
    """Bytes on the wire (gzip); the decompressed body is bounded by ``settings.max_body_bytes``."""

    settings: AppleBusinessSettings

    def __init__(
        self,
        account: str,
        settings: AppleBusinessSettings | dict[str, Any],
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(settings, AppleBusinessSettings):
            settings = AppleBusinessSettings.model_validate(settings)
        super().__init__(account, settings)
        self._owned = frozenset({settings.business_id, *settings.business_ids})
        self._key = decode_secret(secret_value(settings.msp_secret))
        self._retry = retry
        self._sleep = sleep
        self._transport = transport
        self._api: ProviderClient | None = None
        self._cdn: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake credentials; ``business_id`` is the ``destinationId`` of the recordings."""
        return {
            "msp_id": "00000000-0000-4000-8000-0000000000a1",
            "msp_secret": "ZXhhbXBsZS1tc3Atc2VjcmV0LW5vdC1hLXJlYWwtb25lIQ==",
            "business_id": "00000000-0000-4000-8000-00000000b001",
        }

    def business_addresses(self) -> frozenset[str]:
        """``{business_id, *business_ids}``: webhooks name one as ``destination-id``."""
        return self._owned

    def default_business(self) -> str:
        """``business_id``."""
        return self.settings.business_id

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A stand-in answer for the demo and the test kit.  Apple's real answer to a send is an
        empty body (messages-sent, "Response"), which :meth:`send` accepts; a JSON body (Apple's
        answer to an interactive message over 10 KB) is accepted too and never read, so this one
        only numbers the answers (the kit wants them to differ)."""
        return {"sandbox": n}

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check ``Authorization: Bearer <JWT>`` (see :func:`omnisdk_apple_business.tokens.verify_bearer`).

        Raises:
            SignatureError: missing, malformed, wrongly signed, wrong-audience or expired JWT.
        """
        tokens.verify_bearer(request.headers, key=self._key, msp_id=self.settings.msp_id,
                             received_at=request.received_at, max_age=self.settings.token_max_age,
                             skew=self.settings.clock_skew)

    def parse(self, request: WebhookRequest) -> list[Event]:
        """Gunzip (bounded) and translate the body (see :mod:`omnisdk_apple_business.translate`).

        Raises:
            PayloadTooLargeError: the decompressed body exceeds ``max_body_bytes`` (413).
            PayloadError: not gzip or JSON, or malformed (400).
        """
        limit = self.settings.max_body_bytes
        body = gzip_body.decoded(request.body, request.headers, limit)
        return translate.parse(body, request.headers, source=self.source,
                               received_at=request.received_at, max_bytes=limit)

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """``{"Authorization": "Bearer <JWT>"}`` as Apple would send it now (``aud`` the MSP
        id, ``iat`` the current time).  The token does not depend on the body (Apple's does not)."""
        return {tokens.HEADER: "Bearer " + tokens.make_token(self._key, self.settings.msp_id,
                                                             audience=self.settings.msp_id)}

    # --- HTTP client --------------------------------------------------------------------------

    def _client(self, auth: httpx.Auth | None) -> ProviderClient:
        extra: dict[str, Any] = {}
        if self._retry is not None:
            extra["retry"] = self._retry
        if self._sleep is not None:
            extra["sleep"] = self._sleep
        return ProviderClient(
            provider=self.name,
            base_url=self.settings.api_base_url or DEFAULT_API_BASE_URL,
            auth=auth,
            idempotency_header=IDEMPOTENCY_HEADER,
            request_id_headers=REQUEST_ID_HEADERS,
            error_code=outbound.error_code,
            transport=self._transport,
            **extra,
        )

    def _http(self) -> ProviderClient:
        """Apple's service: every request carries a fresh JWT."""
        if self._api is None:
            self._api = self._client(tokens.FreshToken(self._key, self.settings.msp_id))
        return self._api

    async def _storage(self, method: str, url: str, *, content: bytes | None = None) -> httpx.Response:
        """A request to the pre-signed download or upload URL Apple answered (its content
        store): no JWT goes there, and errors never show the URL (it is a credential)."""
        if self._cdn is None:
            self._cdn = self._client(None)
        try:
            return await self._cdn.request(method, url, content=content)
        except APIStatusError as exc:
            raise type(exc)(f"{self.name}: {method} <pre-signed storage URL> answered {exc.status_code}",
                            provider=self.name, status_code=exc.status_code, request_id=exc.request_id,
                            error_code=exc.error_code, retry_after=exc.retry_after) from None
        except APIConnectionError as exc:
            raise type(exc)(f"{self.name}: {method} <pre-signed storage URL> failed", provider=self.name) from None

    def _business(self, business: str | None) -> str:
        if business is None:
            return self.settings.business_id
        if business not in self._owned:
            raise ValueError(f"apple_business: account {self.account!r} does not own business {business!r}")
        return business

    # --- outbound -----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Send one message: ``POST /v1/message`` (see :mod:`omnisdk_apple_business.outbound`).

        The message ``id`` is fixed from ``idempotency_key`` before the first attempt; every
        attempt carries it (header and body), a fresh JWT, and ``Idempotency-Key``.

        Raises:
            ValueError: content this channel cannot carry, a bad recipient, or a ``business``
                the account does not own (no I/O); a 2xx answer that is not Apple's (a body
                that is not JSON).
            omnisdk.outbound.OutboundError: or a subclass.
        """
        business = self._business(message.business)
        mid = outbound.message_id(idempotency_key)
        body = outbound.build_body(message, mid=mid, business=business)
        client = self._http()
        resp = await client.request("POST", outbound.MESSAGE_PATH, json=body, idempotency_key=idempotency_key,
                                    headers=outbound.headers(mid, business, message.customer))
        if resp.content.strip():
            try:
                resp.json()
            except ValueError:
                raise ValueError(f"apple_business: POST {outbound.MESSAGE_PATH} answered "
                                 f"{resp.status_code} with a body that is not Apple's (not JSON)") from None
        return SendResult(message_id=mid, status="accepted", request_id=client.request_id(resp))

    # --- attachments --------------------------------------------------------------------------

    async def fetch_attachment(self, ref: Mapping[str, Any], *, business: str | None = None) -> AttachmentContent:
        """Download and decrypt a customer's attachment: ``ref`` is one item of the event's
        ``extra.attachments`` (``url``, ``owner``, ``signature``, ``key``, ``size``, ``name``,
        ``mimeType``).  ``GET /v1/preDownload`` gives the download URL, its content is
        decrypted with AES-256-CTR (:mod:`omnisdk_apple_business.attachments`).

        Raises:
            ValueError: a malformed reference, a declared or downloaded size over
                ``max_attachment_bytes``, or a 2xx answer without ``download-url`` (no
                I/O for the first two when the size is declared).
            omnisdk.outbound.OutboundError: or a subclass.
        """
        limit = self.settings.max_attachment_bytes
        size = ref.get("size")
        if type(size) is int and size > limit:
            raise ValueError(f"apple_business: attachment of {size} bytes exceeds {limit}")
        key = attachments.parse_key(ref.get("key"))  # type: ignore[arg-type]
        headers = attachments.pre_download_headers(ref, self._business(business))
        client = self._http()
        resp = await client.request("GET", outbound.PRE_DOWNLOAD_PATH, headers=headers)
        try:
            url = resp.json().get("download-url")
        except (ValueError, AttributeError):
            url = None
        if type(url) is not str or not url.startswith("https://"):
            raise ValueError("apple_business: preDownload answered without an https download-url")
        got = await self._storage("GET", url)
        if len(got.content) > limit:
            raise ValueError(f"apple_business: attachment exceeds {limit} bytes")
        name, mime = ref.get("name"), ref.get("mimeType")
        return AttachmentContent(attachments.decrypt(got.content, key),
                                 name if type(name) is str else None, mime if type(mime) is str else None)

    async def upload_attachment(self, data: bytes, *, name: str, mime_type: str,
                                business: str | None = None) -> str:
        """Encrypt (AES-256-CTR, a fresh key) and upload a file; returns the ``media_id`` to
        send it with (``OutboundMedia(media_type=..., media_id=...)``): ``GET /v1/preUpload``,
        then a ``POST`` of the encrypted bytes to its ``upload-url``.

        Raises:
            ValueError: empty or over ``max_attachment_bytes`` (no I/O), or answers without
                ``upload-url``, ``mmcs-url``, ``mmcs-owner`` or ``singleFile.fileChecksum``.
            omnisdk.outbound.OutboundError: or a subclass.
        """
        limit = self.settings.max_attachment_bytes
        if not data or len(data) > limit:
            raise ValueError(f"apple_business: an attachment holds 1 to {limit} bytes")
        if not name or not mime_type:
            raise ValueError("apple_business: an attachment needs a name and a mime type")
        src = self._business(business)
        encrypted, key = attachments.encrypt(data)
        client = self._http()
        pre = await client.request("GET", outbound.PRE_UPLOAD_PATH,
                                   headers={"source-id": src, "size": str(len(encrypted))})
        try:
            doc = pre.json()
            up, mmcs_url, owner = doc["upload-url"], doc["mmcs-url"], doc["mmcs-owner"]
        except (ValueError, KeyError, TypeError):
            raise ValueError("apple_business: preUpload answered without upload-url, mmcs-url, mmcs-owner") from None
        if not all(type(v) is str and v for v in (up, mmcs_url, owner)) or not up.startswith("https://"):
            raise ValueError("apple_business: preUpload answered without an https upload-url")
        done = await self._storage("POST", up, content=encrypted)
        try:
            checksum = done.json()["singleFile"]["fileChecksum"]
        except (ValueError, KeyError, TypeError):
            checksum = None
        if type(checksum) is not str or not checksum:
            raise OutboundError("apple_business: the upload answered without singleFile.fileChecksum",
                                provider=self.name)
        return outbound.media_id(attachments.message_attachment(name, mime_type, len(data), checksum, key,
                                                                mmcs_url, owner))

    async def aclose(self) -> None:
        """Close the HTTP clients, if any were made."""
        for name in ("_api", "_cdn"):
            client = getattr(self, name)
            if client is not None:
                setattr(self, name, None)
                await client.aclose()
