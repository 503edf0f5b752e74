"""omnisdk web chat channel: the embeddable widget, its WebSocket and long-poll endpoints, and
the delivery API the outbox sends through (wire format v1, ``docs/webchat.md``)."""

from omnisdk_webchat.adapter import WebchatAdapter
from omnisdk_webchat.settings import WebchatSettings

__all__ = ["WebchatAdapter", "WebchatSettings"]
