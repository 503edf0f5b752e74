"""Normalized message content and delivery status.

These models define the ``data`` of the ``io.omnisdk.message.*`` CloudEvents (see
``docs/events.md``).  Plugins build the same shapes as plain dicts on the hot ingest path;
the core validates them with these models when it processes an event.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from omnisdk.model.addresses import ChannelName
from omnisdk.model.email import EmailHeaders


class MessageKind(StrEnum):
    """What a message carries."""

    TEXT = "text"
    MEDIA = "media"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE_REPLY = "interactive_reply"
    REACTION = "reaction"
    ORDER = "order"
    UNSUPPORTED = "unsupported"


class Attachment(BaseModel):
    """One media item: by provider media id, by URL, or both."""

    media_type: str = Field(description="image, video, audio, voice, document or sticker.")
    media_id: str | None = Field(None, description="Provider media id, fetched with the plugin.")
    url: str | None = Field(None, description="Provider URL of the media (may need credentials).")
    mime_type: str | None = None
    sha256: str | None = Field(None, description="Provider-reported SHA-256 (encoding as given).")
    filename: str | None = None
    caption: str | None = None
    animated: bool | None = Field(None, description="Stickers only.")
    content_id: str | None = Field(None, description="Email: the part's Content-ID without <> (inline images "
                                   "are referenced by it as cid:...).")
    size: int | None = Field(None, description="Size in bytes, decoded, when the provider or the MIME part tells.")
    inline: bool | None = Field(None, description="Email: Content-Disposition inline (True) or attachment (False).")


class Location(BaseModel):
    """A shared location (WGS 84 degrees)."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactCard(BaseModel):
    """A shared contact card."""

    name: str | None = None
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, description="The provider's card, unchanged.")


class InteractiveReply(BaseModel):
    """The customer's answer to buttons or a list."""

    reply_type: str = Field(description="button, quick_reply or list.")
    id: str | None = Field(None, description="The payload/id the business set on the option.")
    title: str | None = None
    description: str | None = None


class Reaction(BaseModel):
    """A reaction to an earlier message; ``emoji`` None means the reaction was removed."""

    message_id: str = Field(description="Provider id of the message reacted to.")
    emoji: str | None = None


class Consent(StrEnum):
    """A customer's word on being messaged (SMS STOP/START/HELP and the like): ``opt_out``
    refuses every later send to the address until ``opt_in``; ``help`` asks for information
    and changes nothing.  The plugin says which (Twilio's ``OptOutType``, carrier keywords)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


class Message(BaseModel):
    """``data`` of ``io.omnisdk.message.received`` and ``io.omnisdk.message.unsupported``."""

    message_id: str = Field(description="The provider's stable message id (wamid, MessageSid …).")
    channel: ChannelName
    customer: str = Field(description="Customer address value (E.164 for phone channels).")
    business: str = Field(description="Business address value the customer wrote to.")
    customer_name: str | None = Field(None, description="Profile name, when the provider sends one.")
    kind: MessageKind
    text: str | None = Field(None, description="Body text, or the caption of a single media item.")
    attachments: list[Attachment] = Field(default_factory=list)
    location: Location | None = None
    contacts: list[ContactCard] = Field(default_factory=list)
    interactive: InteractiveReply | None = None
    reaction: Reaction | None = None
    reply_to: str | None = Field(None, description="Provider id of the message this one quotes.")
    forwarded: bool = False
    sent_at: datetime | None = Field(None, description="Provider timestamp, UTC.")
    language: str | None = Field(None, description="BCP 47 tag, when the provider tells it.")
    consent: Consent | None = Field(None, description="The customer opted out, opted in again, or asked for "
                                    "help (SMS STOP, START, HELP): the core keeps the address's opt-out.")
    email: EmailHeaders | None = Field(None, description="Channel email: the mail's threading, loop and "
                                       "authentication fields (omnisdk.model.email).")
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider fields with no normalized home (order, referral, raw unsupported type …).",
    )


class DeliveryStatus(StrEnum):
    """Delivery status of an outbound message; it only moves forward.

    ``queued < sent < delivered < read``; ``failed`` is terminal (with a reason).
    """

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Order used to refuse regressions: failed ranks above everything (terminal)."""
        return _RANK[self]

    def advances(self, current: DeliveryStatus | None) -> bool:
        """True when moving from ``current`` to ``self`` is forward (never out of failed)."""
        if current is None:
            return True
        if current is DeliveryStatus.FAILED:
            return False
        return self.rank > current.rank


_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 4,
}


class ProviderError(BaseModel):
    """A provider's error on a failed message (codes as the provider documents them)."""

    code: str | None = None
    title: str | None = None
    detail: str | None = None


class StatusUpdate(BaseModel):
    """``data`` of ``io.omnisdk.message.status``."""

    message_id: str = Field(description="Provider id of the outbound message.")
    channel: ChannelName
    status: DeliveryStatus
    provider_status: str = Field(description="The provider's own status word (played, undelivered …).")
    customer: str | None = Field(None, description="Recipient address value.")
    business: str | None = None
    at: datetime | None = Field(None, description="Provider timestamp, UTC.")
    error: ProviderError | None = None
