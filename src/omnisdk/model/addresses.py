"""Channels, addresses and contacts."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


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


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def check_e164(value: str) -> str:
    """``value`` if it is a phone number written in E.164 (``+`` country code and number, no
    spaces or punctuation) that :mod:`phonenumbers` finds possible for its country.

    "Possible" (right length for the country), not "valid" (an assigned range), so that the
    fictional ``+1 555 01xx`` numbers of tests and docs pass; whether a number is in service is
    the carrier's business.

    Raises:
        ValueError: anything else (the message quotes the value: phone numbers are no secret).
    """
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueError(f"{value!r} is not an E.164 phone number (+ then 2 to 15 digits)")
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} has no known country calling code") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{value!r} is not a possible phone number for its country")
    return value


PhoneNumber = Annotated[str, AfterValidator(check_e164)]
"""A pydantic field type: a string checked by :func:`check_e164`."""
