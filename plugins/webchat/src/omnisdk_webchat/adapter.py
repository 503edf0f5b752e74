"""The web chat channel adapter: visitors' frames in, agents' messages out through the chat's
own delivery API.

There is no third-party provider.  The widget (``/chat/{account}/widget.js``) talks to the
gateway over a WebSocket or, as a fallback, HTTP long-poll (:mod:`omnisdk_webchat.routes`);
each frame is authenticated as :mod:`omnisdk_webchat.protocol` says and enters the inbox
through the gateway's webhook commit.  Replies leave through the outbox like any channel's:
:meth:`WebchatAdapter.send` POSTs them to the delivery API of the process holding the
visitors' sockets (``api_base_url``), which pushes them to the visitor, so the chat works with
the ingress and the core in different processes (``omnisdk serve --split``).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from omnisdk import payloads
from omnisdk.adapters import (
    ChannelAdapter,
    OutboundMessage,
    RouteContext,
    SendResult,
    WebhookRequest,
    secret_value,
)
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import Event
from omnisdk.outbound import OutboundError, ProviderClient, RetryPolicy
from omnisdk_webchat import outbound, protocol, sessions, translate
from omnisdk_webchat.settings import WebchatSettings, socket_message_limit

EXAMPLE_SESSION = "v_kJ3qY8pW2sLx5RtN0aZc4F"
"""The session of the shipped recordings: :meth:`WebchatAdapter.sign` signs for it."""
EXAMPLE_ISSUED_AT = 1767225600  # 2026-01-01T00:00:00Z
EXAMPLE_EXPIRES_AT = 4102444800  # 2100-01-01T00:00:00Z


def _b64_canonical(segment: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, TypeError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == segment


def epoch(rfc3339: str) -> float:
    """Epoch seconds of an RFC 3339 time (the gateway's ``received_at``).

    Raises:
        SignatureError: not a time (the request cannot be checked against the token's expiry).
    """
    try:
        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        raise SignatureError("webchat: the request has no usable receive time") from None


class WebchatAdapter(ChannelAdapter):
    """The web chat (see the module docstring).

    Args:
        account: the account name (``/chat/<account>/…``, ``[accounts.webchat.<account>]``).
        settings: a :class:`WebchatSettings` (or a dict of them).
        retry: the delivery retry policy (default: :class:`omnisdk.outbound.RetryPolicy`).
        sleep: the coroutine the HTTP client waits with between attempts (tests).
        transport: an httpx transport for the delivery client (tests).
    """

    name: ClassVar[str] = "webchat"
    channel: ClassVar[str] = translate.CHANNEL
    Settings: ClassVar[type[WebchatSettings]] = WebchatSettings
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"
    route_prefix: ClassVar[str | None] = "chat"
    outbound_content: ClassVar[frozenset[str]] = frozenset({"text", "media"})
    max_body_bytes: ClassVar[int] = 1 << 20

    settings: WebchatSettings

    def __init__(self, account: str, settings: WebchatSettings | dict[str, Any], *,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], Awaitable[None]] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not isinstance(settings, WebchatSettings):
            settings = WebchatSettings.model_validate(settings)
        super().__init__(account, settings)
        self._owned = frozenset({settings.business})
        self._retry, self._sleep, self._transport = retry, sleep, transport
        self._client: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake secrets; ``business`` ``web``."""
        return {"session_secret": "example-webchat-session-secret-not-real-0001",
                "delivery_token": "example-webchat-delivery-token"}

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """The delivery API's answer (``201 {"id": "wco_..."}``, :mod:`omnisdk_webchat.outbound`)."""
        return {"id": f"wco_{n:032x}"}

    def business_addresses(self) -> frozenset[str]:
        """``{business}`` (default ``web``)."""
        return self._owned

    def default_business(self) -> str:
        return self.settings.business

    # --- inbound ------------------------------------------------------------------------------

    def session_of(self, request: WebhookRequest) -> sessions.Session:
        """The checked session of a frame request (its ``Authorization`` header), unexpired at
        the request's receive time.

        Raises:
            SignatureError: missing, malformed, foreign or expired token.
        """
        auth = request.headers.get("authorization")
        if not auth or not auth.startswith("Bearer ") or len(auth) > 4096:
            raise SignatureError("webchat: missing session token (Authorization: Bearer)")
        token = auth[len("Bearer "):]
        parts = token.split(".")
        if len(parts) != 3 or not all(parts) or not all(_b64_canonical(p) for p in parts):
            raise SignatureError("webchat: malformed session token")
        return sessions.check(self.settings, self.account, token, epoch(request.received_at))

    def verify(self, request: WebhookRequest) -> None:
        """Check the session token and ``X-Webchat-Signature`` (:mod:`omnisdk_webchat.protocol`):
        HMAC-SHA256 of the body under the session's frame key, compared in constant time.

        Raises:
            SignatureError: missing, malformed, wrong or expired.
        """
        session = self.session_of(request)
        given = request.headers.get(protocol.SIGNATURE_HEADER.lower())
        if (not given or not given.startswith(protocol.SIGNATURE_PREFIX) or len(given) != 67
                or not all(c in "0123456789abcdef" for c in given[3:])):
            raise SignatureError("webchat: missing or malformed X-Webchat-Signature")
        key = protocol.frame_key(secret_value(self.settings.session_secret), session.sid)
        if not protocol.compare(protocol.frame_signature(key, request.body), given):
            raise SignatureError("webchat: frame signature does not match")
        try:
            doc = payloads.loads(request.body, max_bytes=self.settings.max_frame_bytes)
        except PayloadError:
            return  # signed but malformed: parse() refuses it
        if type(doc) is dict and doc.get("session") != session.sid:
            raise SignatureError("webchat: the frame names another session than its token")

    def parse(self, request: WebhookRequest) -> list[Event]:
        """The events of one verified frame (:mod:`omnisdk_webchat.translate`); an identified
        visitor's name and identity come from the session token's claims, which ``verify()``
        checked.

        Raises:
            PayloadError: a malformed frame or one over the limits.
        """
        return translate.parse(request.body, token=sessions.claims(request.headers.get("authorization")),
                               settings=self.settings, source=self.source, received_at=request.received_at)

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """The headers the widget of :data:`EXAMPLE_SESSION` sends with ``body`` (recordings,
        demo, kit): its session token (issued 2026-01-01, valid until 2100) and signature."""
        secret = secret_value(self.settings.session_secret)
        token = sessions.jwt.encode(
            {"iss": sessions.ISSUER, "aud": sessions.audience(self.account), "sid": EXAMPLE_SESSION,
             "iat": EXAMPLE_ISSUED_AT, "exp": EXAMPLE_EXPIRES_AT}, secret, algorithm="HS256")
        sig = protocol.frame_signature(protocol.frame_key(secret, EXAMPLE_SESSION), body)
        return {"Authorization": f"Bearer {token}", protocol.SIGNATURE_HEADER: sig}

    def routes(self, context: RouteContext) -> Sequence[Any]:
        """The chat's routes (:func:`omnisdk_webchat.routes.build`)."""
        from omnisdk_webchat.routes import build  # starlette only where routes are served

        return build(self, context)

    def socket_message_limit(self) -> int:
        """``2 × max_frame_bytes + 200``: a frame of ``max_frame_bytes`` escaped in its socket
        envelope (``{"signature", "frame"}``), what :mod:`omnisdk_webchat.routes` accepts."""
        return socket_message_limit(self.settings.max_frame_bytes)

    # --- outbound -----------------------------------------------------------------------------

    def _http(self) -> ProviderClient:
        if self._client is None:
            extra: dict[str, Any] = {}
            if self._retry is not None:
                extra["retry"] = self._retry
            if self._sleep is not None:
                extra["sleep"] = self._sleep
            self._client = ProviderClient(
                provider=self.name, base_url=self.settings.api_base_url or "http://127.0.0.1:8080",
                headers={"Authorization": f"Bearer {secret_value(self.settings.delivery_token)}"},
                idempotency_header=outbound.IDEMPOTENCY_HEADER, transport=self._transport, **extra)
        return self._client

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Deliver one message to the visitor: ``POST /chat/{account}/v1/messages`` of the
        delivery API (:mod:`omnisdk_webchat.outbound`); the answer's ``id`` is the message id
        the visitor's read receipts name.

        Raises:
            ValueError: a recipient that is no session id, media without a URL, a ``business``
                the account does not own (no I/O).
            omnisdk.outbound.OutboundError: or a subclass (the client retries 429 and 5xx);
                also for a 2xx answer without an id.
        """
        if message.business is not None and message.business not in self._owned:
            raise ValueError(f"webchat: account {self.account!r} does not own {message.business!r}")
        body = outbound.build_body(message)
        path = outbound.messages_path(self.account)
        client = self._http()
        resp = await client.request("POST", path, json=body, idempotency_key=idempotency_key)
        try:
            mid = outbound.read_id(resp.json())
        except ValueError:
            raise OutboundError(f"webchat: POST {path} answered {resp.status_code} without a message id",
                                provider=self.name) from None
        return SendResult(message_id=mid, status="accepted")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
