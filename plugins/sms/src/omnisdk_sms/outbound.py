"""OutboundMessage → form parameters of "Create a Message resource"
(``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``,
twilio.com/docs/messaging/api/message-resource#create-a-message-resource).

Parameters used: ``To`` (E.164), ``From`` or ``MessagingServiceSid`` (one is required),
``Body`` (the text, up to 1,600 characters), ``MediaUrl`` (repeated, up to 10 public URLs:
an MMS), ``StatusCallback`` (URL that receives the status callbacks,
twilio.com/docs/messaging/guides/track-outbound-message-status).

Everything is checked here, before any I/O; errors are :class:`ValueError`.
"""

from __future__ import annotations

import phonenumbers

from omnisdk.adapters import OutboundMessage
from omnisdk_sms.settings import TwilioSmsSettings

MAX_MEDIA = 10
"""Twilio accepts at most 10 ``MediaUrl`` per message (message-resource, MediaUrl)."""


def validate_e164(value: str) -> str:
    """Return ``value`` if it is a phone number in canonical E.164 form (``+14155550100``).

    The check is structural (``phonenumbers``: parses with a leading ``+``, is a *possible*
    number for its country, formats back to the same string), not a carrier lookup, so the
    fictional 555-01xx numbers used in tests and demos pass.

    Raises:
        ValueError: not E.164.
    """
    if not value.startswith("+"):
        raise ValueError("customer must be an E.164 phone number starting with '+'")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("customer is not a parseable E.164 phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("customer is not a possible phone number for its country code")
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
        raise ValueError("customer must be in canonical E.164 form (no spaces or punctuation)")
    return value


def build_form(message: OutboundMessage, settings: TwilioSmsSettings) -> dict[str, str | list[str]]:
    """The form fields of one Messages API create request.

    The sender is ``message.business`` when set (sent as ``From``; it must be one of the
    account's numbers, ``from_number`` or ``numbers``), else the Messaging Service when
    configured (``MessagingServiceSid``), else ``settings.from_number`` (``From``).

    Raises:
        ValueError: ``customer`` not E.164; a template (Twilio Content templates are not
            supported by this plugin); a ``business`` the account does not own; no text and
            no media; a media item without ``url``
            (Twilio fetches media by public URL only); more than :data:`MAX_MEDIA` media; no
            sender available.
    """
    if message.template is not None:
        raise ValueError("the sms plugin does not send templates")
    form: dict[str, str | list[str]] = {"To": validate_e164(message.customer)}
    if message.business:
        if message.business not in settings.business_numbers():
            raise ValueError("business is not a number of this account (from_number or numbers)")
        form["From"] = message.business
    elif settings.messaging_service_sid:
        form["MessagingServiceSid"] = settings.messaging_service_sid
    elif settings.from_number:
        form["From"] = settings.from_number
    else:  # unreachable with validated settings; kept for hand-built ones
        raise ValueError("no sender: set from_number or messaging_service_sid")
    if settings.messaging_service_sid and "From" in form:
        form["MessagingServiceSid"] = settings.messaging_service_sid
    if len(message.media) > MAX_MEDIA:
        raise ValueError(f"Twilio sends at most {MAX_MEDIA} media per message")
    urls: list[str] = []
    for item in message.media:
        if not item.url:
            raise ValueError("Twilio media must be given by public URL (media_id is not supported)")
        urls.append(item.url)
    text = message.text
    if not text and len(message.media) == 1 and message.media[0].caption:
        text = message.media[0].caption
    if not text and not urls:
        raise ValueError("an SMS needs text or media")
    if text:
        form["Body"] = text
    if urls:
        form["MediaUrl"] = urls
    if settings.status_callback_url:
        form["StatusCallback"] = settings.status_callback_url
    return form
