"""The web chat wire format, version 1 (the widget's protocol; ``docs/webchat.md`` is its
reference, with test vectors).

A visitor's frame is a JSON object, sent as one WebSocket text message or as the body of
``POST /chat/{account}/frames``, authenticated by two values:

- ``Authorization: Bearer <session token>`` — the HS256 JWT the gateway issued
  (:mod:`omnisdk_webchat.sessions`);
- ``X-Webchat-Signature: v1=<hex>`` — HMAC-SHA256 of the frame's exact bytes, keyed with the
  session's *frame key*: ``HMAC-SHA256(session_secret, "webchat/v1 frame-key " + session id)``,
  base64url without padding, handed to the browser with the token.

On the WebSocket, the token is sent once (the ``hello`` message) and each text message is
``{"signature": "v1=<hex>", "frame": "<the frame JSON, as a string>"}``.

Frames (``"v": 1`` and ``"session": <session id>`` in every one; the session must be the
token's):

- ``{"type": "message", "id": <client id>, "text": ..., "attachments": [...]}``
- ``{"type": "receipt", "id": <client id>, "message_id": <agent message id>, "status": "delivered"|"read"}``
- ``{"type": "typing", "state": "on"|"off"}``  (not stored)
- ``{"type": "survey", "id": <client id>, "interaction_id": ..., "score": 1-5, "comment": ...}``

Client ids are 8–64 characters of ``[A-Za-z0-9_-]``, chosen by the widget once per frame and
kept across retries: the event id is ``<session id>:<client id>``, so a resent frame is
deduplicated by the inbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

VERSION = 1
SIGNATURE_HEADER = "X-Webchat-Signature"
SIGNATURE_PREFIX = "v1="
FRAME_KEY_LABEL = b"webchat/v1 frame-key "
MESSAGE_ID_LABEL = b"webchat/v1 message-id "
OUTBOUND_ID_PREFIX = "wco_"
OUTBOUND_ID = re.compile(r"wco_[0-9a-f]{32}")
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
SESSION_ID = re.compile(r"v_[A-Za-z0-9_-]{8,120}|u_[A-Za-z0-9_.@+-]{1,100}")
"""Session ids: ``v_<random>`` for an anonymous visitor, ``u_<portal user id>`` for an
identified one (:mod:`omnisdk_webchat.sessions`)."""

# close codes of the WebSocket (RFC 6455 leaves 4000-4999 to applications)
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_LARGE = 4413
CLOSE_BAD_FRAME = 4400
CLOSE_RATE_LIMITED = 4429
CLOSE_UNAVAILABLE = 4503
CLOSE_TOO_SLOW = 4408
"""The visitor did not read what the gateway sent it in time: reconnect with ``after``."""
CLOSE_POLICY = 1008
"""RFC 6455 "policy violation": more open sockets from one client address than allowed."""


def frame_key(session_secret: str, session_id: str) -> bytes:
    """The raw 32-byte frame key of ``session_id``."""
    return hmac.new(session_secret.encode(), FRAME_KEY_LABEL + session_id.encode(), hashlib.sha256).digest()


def encode_key(key: bytes) -> str:
    """A frame key as handed to the browser: base64url, no padding."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


def frame_signature(key: bytes, body: bytes) -> str:
    """``v1=`` and the lower-case hex HMAC-SHA256 of ``body`` under ``key``."""
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def compare(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures (:func:`hmac.compare_digest`)."""
    return hmac.compare_digest(expected.encode(), given.encode())


def frame_key_from(encoded: str) -> bytes:
    """The raw frame key from its base64url form (:func:`encode_key`)."""
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def _message_tag(session_secret: str, session_id: str, digest: str) -> str:
    mac = hmac.new(session_secret.encode(), MESSAGE_ID_LABEL + f"{session_id}\n{digest}".encode(), hashlib.sha256)
    return mac.hexdigest()[:16]


def message_id(session_secret: str, session_id: str, idempotency_key: str) -> str:
    """The id of an agent's message delivered to ``session_id`` under ``idempotency_key``:
    ``wco_`` + 32 lower-case hex, the first 16 SHA-256 of the session and the key (so a retried
    delivery gets the same id), the last 16 an HMAC-SHA256 tag of the session and those 16
    under ``session_secret``: the id names its session, so a visitor's receipt can be checked
    against its own session without any state (:func:`is_message_of`)."""
    digest = hashlib.sha256(f"{session_id}\n{idempotency_key}".encode()).hexdigest()[:16]
    return OUTBOUND_ID_PREFIX + digest + _message_tag(session_secret, session_id, digest)


def is_message_of(session_secret: str, session_id: str, mid: str) -> bool:
    """Whether ``mid`` is an agent message id made by :func:`message_id` for ``session_id``
    (compared in constant time)."""
    if not OUTBOUND_ID.fullmatch(mid):
        return False
    digest, tag = mid[4:20], mid[20:]
    return hmac.compare_digest(_message_tag(session_secret, session_id, digest).encode(), tag.encode())
