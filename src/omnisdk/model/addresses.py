"""Channels, addresses and contacts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    """The channel an address or interaction lives on."""

    EMAIL = "email"
    CHAT = "chat"
    WHATSAPP = "whatsapp"
    LINE = "line"
    MESSENGER = "messenger"
    APPLE_BUSINESS = "apple_business"
    SMS = "sms"
    VOICE = "voice"


class Address(BaseModel):
    """A party's identity on one channel.

    ``value`` is channel-specific: an E.164 phone number (``+14155550100``) for sms, whatsapp
    and voice customers, an email address, a LINE userId, a Messenger PSID, or a provider's
    id of a business endpoint (a WhatsApp ``phone_number_id``).  The core never parses it: it
    only compares it, so plugins must normalize it (see each plugin's docs).
    """

    model_config = ConfigDict(frozen=True)

    channel: Channel
    value: str = Field(min_length=1, description="Channel-specific identity, normalized by the plugin.")


class Contact(BaseModel):
    """The customer behind one or more addresses."""

    id: str = Field(description="omnisdk contact id.")
    display_name: str | None = Field(None, description="Name from the channel profile, if any.")
    addresses: list[Address] = Field(default_factory=list)


def conversation_key(channel: str, business: str, customer: str) -> str:
    """The key of one conversation: ``"{channel}:{business}:{customer}"``.

    It is the CloudEvents ``partitionkey`` of every event of that conversation, and the
    threading key: there is at most one active interaction per key.
    """
    return f"{channel}:{business}:{customer}"
