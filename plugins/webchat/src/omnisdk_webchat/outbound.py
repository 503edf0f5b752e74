"""The delivery API's request and answer (wire format v1, ``docs/webchat.md``).

``POST {api_base_url}/chat/{account}/v1/messages`` with ``Authorization: Bearer
<delivery_token>`` and ``Idempotency-Key``; the JSON body::

    {"v": 1, "session": "<session id>", "text": "...",
     "media": [{"media_type": "image", "url": "https://...", "caption": "...", "filename": null}],
     "interaction_id": "...", "reply_to": null}

answered ``201 {"id": "wco_<32 hex>"}`` (the same id for the same session and key: a retried
delivery is shown once; :func:`omnisdk_webchat.protocol.message_id`), ``400`` for a body it
cannot take, ``401`` for a wrong token, ``503`` (``Retry-After``) while the visitor holds too
many unacknowledged messages (the outbox retries: the message is kept in its row).
"""

from __future__ import annotations

from typing import Any

from omnisdk.adapters import OutboundMessage
from omnisdk_webchat.protocol import OUTBOUND_ID_PREFIX, SESSION_ID, VERSION

IDEMPOTENCY_HEADER = "Idempotency-Key"


def messages_path(account: str) -> str:
    return f"/chat/{account}/v1/messages"


def build_body(message: OutboundMessage) -> dict[str, Any]:
    """The delivery body of ``message``.

    Raises:
        ValueError: the recipient is no session id, media without a URL, or nothing to send.
    """
    if not SESSION_ID.fullmatch(message.customer):
        raise ValueError("webchat: the recipient is not a chat session id (v_... or u_...)")
    media = []
    for item in message.media:
        if not item.url or not item.url.startswith(("https://", "http://")):
            raise ValueError("webchat: media is sent by http(s) URL (the visitor's browser loads it)")
        media.append({"media_type": item.media_type, "url": item.url, "caption": item.caption,
                      "filename": item.filename})
    if not message.text and not media:
        raise ValueError("webchat: a message needs text or media")
    return {"v": VERSION, "session": message.customer, "text": message.text, "media": media,
            "interaction_id": message.interaction_id, "reply_to": message.reply_to}


def read_id(doc: Any) -> str:
    """The delivered message's id from the answer.

    Raises:
        ValueError: no ``wco_`` id in it.
    """
    mid = doc.get("id") if isinstance(doc, dict) else None
    if not isinstance(mid, str) or not mid.startswith(OUTBOUND_ID_PREFIX):
        raise ValueError("webchat: the delivery answer has no message id")
    return mid
