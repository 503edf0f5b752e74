"""Channels, addresses and contacts."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from omnisdk.errors import PhoneNumberError

_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_channel(value: str) -> str:
    """``value`` if it is a channel name: a lower-case identifier of 1 to 32 characters
    (letters, digits, ``_``; a letter first), such as ``whatsapp`` or ``telegram``.

    Raises:
        ValueError: anything else.
    """
    if not isinstance(value, str) or not _CHANNEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a channel name (a-z first, then a-z, 0-9 or _, at most 32)")
    return value


ChannelName = Annotated[str, StringConstraints(pattern=_CHANNEL.pattern.join("^$"))]
"""A pydantic field type: a channel name as :func:`check_channel` accepts it (the JSON schema
carries the pattern).  The vocabulary is
open: a plugin declares its channel (``ChannelAdapter.channel``) without a core release."""


class Channel:
    """The channels the core knows by name, as constants (``Channel.SMS == "sms"``).

    Not a closed list: any name :func:`check_channel` accepts is a channel, and an adapter may
    declare one of its own (``channel = "telegram"``).
    """

    EMAIL: Final = "email"
    CHAT: Final = "chat"
    WHATSAPP: Final = "whatsapp"
    LINE: Final = "line"
    MESSENGER: Final = "messenger"
    APPLE_BUSINESS: Final = "apple_business"
    SMS: Final = "sms"
    VOICE: Final = "voice"


KNOWN_CHANNELS: frozenset[str] = frozenset(
    v for k, v in vars(Channel).items() if k.isupper() and isinstance(v, str))
"""The names of :class:`Channel`'s constants."""


class Address(BaseModel):
    """A party's identity on one channel.

    ``value`` is channel-specific: an E.164 phone number (``+14155550100``) for sms, whatsapp
    and voice customers, an email address, a LINE userId, a Messenger PSID, or a provider's
    id of a business endpoint (a WhatsApp ``phone_number_id``).  The core never parses it: it
    only compares it, so plugins must normalize it (see each plugin's docs).
    """

    model_config = ConfigDict(frozen=True)

    channel: ChannelName
    value: str = Field(min_length=1, description="Channel-specific identity, normalized by the plugin.")


class Contact(BaseModel):
    """The customer behind one or more addresses."""

    id: str = Field(description="omnisdk contact id.")
    display_name: str | None = Field(None, description="Name from the channel profile, if any.")
    addresses: list[Address] = Field(default_factory=list)


def conversation_key(source: str, channel: str, business: str, customer: str) -> str:
    """The key of one conversation: ``"{provider}/{account}:{channel}:{business}:{customer}"``.

    ``source`` is the receiving adapter's CloudEvents source (``"/whatsapp/acme"``), written
    without its leading slash, so the key names the account: the same customer writing to two
    accounts (even to one business address through two accounts) has two conversations, and
    an account cannot reach another's.  Example:
    ``conversation_key("/sms/acme", "sms", "+14155550100", "+12065550142")`` is
    ``"sms/acme:sms:+14155550100:+12065550142"``.

    It is the CloudEvents ``partitionkey`` of every event of that conversation, and the
    threading key: there is at most one active interaction per key.
    """
    return f"{source.removeprefix('/')}:{channel}:{business}:{customer}"


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _possible_fast(value: str) -> bool:
    """True when ``value`` (already ``+`` and digits) is a possible number, decided without
    :func:`phonenumbers.parse`: the country code is the first 1-3 digit prefix phonenumbers
    knows (as ``parse`` finds it for a ``+`` number), and the rest, when it has 2 digits or more
    and no leading zero, is checked with :func:`phonenumbers.is_possible_number`.  False means
    "not decided here": :func:`check_e164` then asks ``parse`` as before, so the verdict never
    differs (``tests/test_e164_fast_path.py`` checks it on random numbers); ``parse`` was most
    of a Twilio voice webhook's cold parse time (bench/voice.py).
    """
    import phonenumbers

    digits = value[1:]
    for n in (1, 2, 3):
        code = int(digits[:n])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[n:]
            return (len(national) >= 2 and national[0] != "0"
                    and phonenumbers.is_possible_number(phonenumbers.PhoneNumber(country_code=code,
                                                                                  national_number=int(national))))
    return False


def check_e164(value: str) -> str:
    """``value`` if it is a phone number written in E.164 (``+`` country code and number, no
    spaces or punctuation) that :mod:`phonenumbers` finds possible for its country.

    "Possible" (right length for the country), not "valid" (an assigned range), so that the
    fictional ``+1 555 01xx`` numbers of tests and docs pass; whether a number is in service is
    the carrier's business.

    Raises:
        PhoneNumberError: (a ``ValueError``) anything else (the message quotes the value:
            phone numbers are no secret).
    """
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise PhoneNumberError(f"{value!r} is not an E.164 phone number (+ then 2 to 15 digits)")
    if _possible_fast(value):
        return value
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise PhoneNumberError(f"{value!r} has no known country calling code") from None
    if not phonenumbers.is_possible_number(number):
        raise PhoneNumberError(f"{value!r} is not a possible phone number for its country")
    return value


def to_e164(value: str, region: str | None = None) -> str:
    """``value`` written in E.164: a number as people write it (``(415) 555-0100``,
    ``+44 20 7946 0018``, ``00 33 1 …``) parsed by :mod:`phonenumbers` with ``region`` (ISO
    3166-1 alpha-2, such as ``US``) for numbers without a country code, then checked as
    :func:`check_e164` checks.

    Raises:
        ValueError: it does not parse, has no country code and no ``region``, or is not a
            possible number for its country.
    """
    import phonenumbers

    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a phone number")
    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number"
                         + ("" if region else " in E.164 (no region given for a national number)")) from None
    return check_e164(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


PhoneNumber = Annotated[str, AfterValidator(check_e164)]
"""A pydantic field type: a string checked by :func:`check_e164`."""
