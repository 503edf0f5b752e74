"""Per-account settings of the web chat plugin (``[accounts.webchat.<account>]``).

There is no third-party provider: the "provider" is this plugin's own widget protocol
(:mod:`omnisdk_webchat.protocol`, documented in ``docs/webchat.md``), so every value is ours:

- ``session_secret``: keys the session tokens (HS256 JWTs, :mod:`omnisdk_webchat.sessions`)
  and, through each session's frame key, the ``X-Webchat-Signature`` of every frame.
- ``delivery_token``: the bearer token of the delivery API (``POST /chat/{account}/v1/messages``)
  the outbox calls to reach a visitor; only the core holds it.
- ``business``: the account's business address (the chat's "to"), default ``web``.
- ``api_base_url``: where the delivery API listens: the gateway process that serves the
  chat (the ingress under ``serve --split``), default ``http://127.0.0.1:8080``.
- ``identity_key`` / ``identity_algorithm``: the portal's key for identified visitors: a
  shared secret for ``HS256``, a PEM public key for ``RS256`` / ``ES256``.
- ``frame_ancestors``: origins allowed to frame the chat's pages (CSP ``frame-ancestors``).
- limits: ``session_ttl`` (seconds), ``max_frame_bytes``, ``max_attachment_bytes``,
  ``sockets_per_address``, ``max_pending`` (unacknowledged agent messages per session),
  ``attachment_types`` (MIME types allowed), ``virus_scan`` (``"module:function"``, a callable
  ``(data: bytes, mime_type: str, filename: str | None) -> bool``; default: allow).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from omnisdk.adapters import AccountSettings
from omnisdk.urls import check_origins

DEFAULT_DELIVERY_URL = "http://127.0.0.1:8080"
"""The gateway's default bind (``[gateway] port`` 8080): one process serving chat and core."""

def socket_message_limit(max_frame_bytes: int) -> int:
    """The largest socket message carrying a frame of ``max_frame_bytes`` (bytes): the frame as
    a JSON string (each byte escaped at most to two) in its ``{"signature", "frame"}`` envelope."""
    return max_frame_bytes * 2 + 200


DEFAULT_ATTACHMENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain")


class WebchatSettings(AccountSettings):
    """Settings of one web chat account.

    Raises:
        pydantic.ValidationError: a missing, empty or malformed value (secrets are non-empty:
            :class:`~omnisdk.adapters.AccountSettings`); an ``identity_key`` without a PEM
            header for RS256/ES256.
    """

    session_secret: SecretStr = Field(min_length=32, description="Key of session tokens and frame keys (32 bytes or more: RFC 7518 3.2).")
    delivery_token: SecretStr = Field(min_length=16, description="Bearer token of the delivery API.")
    business: str = Field("web", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$",
                          description="The account's business address.")
    api_base_url: str | None = Field(DEFAULT_DELIVERY_URL, description="Root of the delivery API (the chat's gateway).")
    session_ttl: int = Field(86_400, ge=60, le=30 * 86_400, description="Session token lifetime, seconds.")
    max_frame_bytes: int = Field(262_144, ge=1024, le=1 << 20, description="Largest frame a visitor may send, bytes.")
    max_text_chars: int = Field(4000, ge=1, le=100_000, description="Longest message text, characters.")
    max_attachment_bytes: int = Field(131_072, ge=1, le=786_432, description="Largest attachment, decoded bytes.")
    attachment_types: tuple[str, ...] = Field(DEFAULT_ATTACHMENT_TYPES, description="MIME types visitors may send.")
    virus_scan: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
                                   description="'module:function' scanning attachments; None: allow.")
    identity_key: SecretStr | None = Field(None, description="The portal's identity key (secret or PEM public key).")
    identity_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    identity_issuer: str | None = Field(None, description="Required 'iss' of identity tokens, if set.")
    identity_audience: str | None = Field(None, description="Required 'aud' of identity tokens, if set: the "
                                          "portal's tokens for this chat only.  Set it whenever the key is the "
                                          "identity provider's (RS256/ES256): else a token the same provider "
                                          "issued for another app identifies its holder here.")
    allowed_origins: tuple[str, ...] = Field((), description="Origins allowed to open the socket; empty: any.")
    rate_limit: int = Field(30, ge=1, le=10_000, description="Frames a session may send per 10 seconds.")
    poll_timeout: float = Field(25.0, gt=0, le=60, description="Long-poll wait, seconds.")
    max_sessions: int = Field(10_000, ge=1, description="Sessions the hub keeps in memory (oldest forgotten).")
    sessions_per_minute: int = Field(30, ge=1, le=100_000, description="New sessions one client address may "
                                     "open per minute (POST /session); more get 429. Behind a proxy every "
                                     "visitor shares its address: raise it there.")
    sockets_per_address: int = Field(20, ge=1, le=100_000, description="Chat connections (WebSockets and "
                                     "waiting long-polls) one client address may hold open at once; beyond "
                                     "it a socket is closed with 1008, a poll answered 429. Behind a proxy "
                                     "every visitor shares its address: raise it there (or trust the "
                                     "proxy: [gateway] trusted_proxies).")
    max_pending: int = Field(1000, ge=1, le=100_000, description="Agent messages one session may hold "
                             "unacknowledged by the visitor; the next delivery is answered 503 and the "
                             "outbox retries it (never dropped).")
    frame_ancestors: tuple[str, ...] = Field((), description="Origins (http(s)://host[:port]) allowed to "
                                             "frame the chat's pages (CSP frame-ancestors); empty: none.")

    @field_validator("frame_ancestors")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_origins(value)

    @model_validator(mode="after")
    def _key_shape(self) -> WebchatSettings:
        key = self.identity_key
        if key is not None and self.identity_algorithm != "HS256" and "-----BEGIN" not in key.get_secret_value():
            raise ValueError(f"identity_key must be a PEM public key for {self.identity_algorithm}")
        return self
