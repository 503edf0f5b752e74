"""TwiML documents, built with :mod:`xml.etree.ElementTree` (never by string concatenation:
every text and attribute is escaped by the serializer).

Verbs and nouns used (twilio.com/docs/voice/twiml): ``<Enqueue>`` (put the caller in a named
queue, with Twilio's hold music unless ``waitUrl`` names other TwiML:
twilio.com/docs/voice/twiml/enqueue), ``<Dial>`` with ``<Client>`` (an agent's softphone) or
``<Number>`` (twilio.com/docs/voice/twiml/dial, /client, /number), ``<Play loop="0">`` (music
until the call is redirected: twilio.com/docs/voice/twiml/play), ``<Dial><Conference>`` (a named
conference room: a warm transfer to a number, twilio.com/docs/voice/twiml/conference) and
``<Hangup>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
"""One of the hold-music files Twilio's own hold-music Twimlet plays (twilio.com/docs/voice/twiml/play
examples use ``com.twilio.music.classical``); replace it with ``hold_music_url``."""


def _document(root: ET.Element) -> bytes:
    return DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=True).encode("utf-8")


def empty() -> bytes:
    """``<Response/>``: nothing more to do (status and recording callbacks)."""
    return _document(ET.Element("Response"))


def enqueue(queue: str, wait_url: str | None = None) -> bytes:
    """``<Response><Enqueue waitUrl=…>queue</Enqueue></Response>``: the caller waits in ``queue``."""
    root = ET.Element("Response")
    verb = ET.SubElement(root, "Enqueue")
    if wait_url:
        verb.set("waitUrl", wait_url)
    verb.text = queue
    return _document(root)


def dial_client(identity: str, *, caller_id: str | None = None, timeout: int | None = None,
                record: bool = False, recording_callback: str | None = None) -> bytes:
    """``<Response><Dial><Client>identity</Client></Dial></Response>``: ring an agent's softphone."""
    root = ET.Element("Response")
    dial = ET.SubElement(root, "Dial")
    if caller_id:
        dial.set("callerId", caller_id)
    if timeout is not None:
        dial.set("timeout", str(timeout))
    if record:
        dial.set("record", "record-from-answer-dual")
        if recording_callback:
            dial.set("recordingStatusCallback", recording_callback)
    ET.SubElement(dial, "Client").text = identity
    return _document(root)


def dial_number(number: str, *, caller_id: str | None = None) -> bytes:
    """``<Response><Dial><Number>number</Number></Dial></Response>``: hand the caller to a number."""
    root = ET.Element("Response")
    dial = ET.SubElement(root, "Dial")
    if caller_id:
        dial.set("callerId", caller_id)
    ET.SubElement(dial, "Number").text = number
    return _document(root)


def conference(name: str, *, end_on_exit: bool = True, wait_url: str | None = None) -> bytes:
    """``<Response><Dial><Conference …>name</Conference></Dial></Response>``: join the caller to
    the conference ``name`` (twilio.com/docs/voice/twiml/conference): ``startConferenceOnEnter``
    (it starts when the caller enters), ``endConferenceOnExit`` (``end_on_exit``: the
    conference ends when the caller hangs up, taking the other participants with it),
    ``beep="false"``, and ``waitUrl`` (what plays until another participant joins) when given."""
    root = ET.Element("Response")
    dial = ET.SubElement(root, "Dial")
    room = ET.SubElement(dial, "Conference")
    room.set("startConferenceOnEnter", "true")
    room.set("endConferenceOnExit", "true" if end_on_exit else "false")
    room.set("beep", "false")
    if wait_url:
        room.set("waitUrl", wait_url)
    room.text = name
    return _document(root)


def hold(music_url: str | None = None) -> bytes:
    """``<Response><Play loop="0">music</Play></Response>``: music until the call is redirected."""
    root = ET.Element("Response")
    play = ET.SubElement(root, "Play")
    play.set("loop", "0")
    play.text = music_url or DEFAULT_HOLD_MUSIC
    return _document(root)


def hang_up() -> bytes:
    """``<Response><Hangup/></Response>``."""
    root = ET.Element("Response")
    ET.SubElement(root, "Hangup")
    return _document(root)
