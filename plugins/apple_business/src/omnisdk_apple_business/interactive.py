"""A customer's interactive reply (list picker, time picker) → the ``interactive`` of a Message.

Pure helpers of :mod:`omnisdk_apple_business.translate`.  Apple sends the reply to an
interactive message as ``type: "interactive"`` with ``interactiveData``
(https://register.apple.com/resources/messages/msp-rest-api/messages-received, "Receiving an
Interactive Message"; https://register.apple.com/resources/messages/msp-rest-api/type-interactive):

- ``interactiveData.bid``: the balloon id (Apple's Business Chat extension for list and time
  pickers);
- ``interactiveData.data.requestIdentifier``: the id of the interactive message this replies
  to (the ``requestIdentifier`` we sent);
- **list picker** (https://register.apple.com/resources/messages/msp-rest-api/type-interactive#list-picker):
  ``data.listPicker.sections[].items[]`` hold only the items the customer selected, each with
  ``identifier``, ``title``, ``subtitle``, ``order``, ``style``, ``imageIdentifier``;
- **time picker** (https://register.apple.com/resources/messages/msp-rest-api/type-interactive#time-picker):
  ``data.event`` with ``identifier``, ``title``, ``timeslots[]`` (the selected slot(s):
  ``identifier``, ``startTime``, ``duration`` in seconds) and ``timezoneOffset`` (minutes);
- ``data.replyMessage`` / ``data.receivedMessage``: the bubbles' ``title`` / ``subtitle``.

:func:`reply` gives ``{"reply_type", "id", "title", "description"}`` and the extra fields, or
raises :class:`Unsupported` for any other interactive content (Apple Pay, authentication,
forms, iMessage apps): the caller keeps it raw as ``message.unsupported``.
"""

from __future__ import annotations

from typing import Any


class Unsupported(Exception):
    """Interactive content this plugin does not normalize (kept raw by the caller)."""


def _str(obj: Any, key: str) -> str | None:
    value = obj.get(key) if type(obj) is dict else None
    return value if type(value) is str else None


def _list_picker(picker: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    sections = picker.get("sections") if type(picker) is dict else None
    if type(sections) is not list:
        raise Unsupported("listPicker.sections is not a list")
    chosen: list[dict[str, Any]] = []
    for section in sections:
        items = section.get("items") if type(section) is dict else None
        if type(items) is not list:
            raise Unsupported("listPicker section without an items list")
        for item in items:
            ident = _str(item, "identifier")
            if ident is None:
                raise Unsupported("listPicker item without a string identifier")
            chosen.append({"identifier": ident, "title": _str(item, "title"),
                           "subtitle": _str(item, "subtitle"), "section": _str(section, "title")})
    if not chosen:
        raise Unsupported("listPicker reply selects no item")
    titles = [c["title"] for c in chosen if c["title"]]
    interactive = {"reply_type": "list_picker", "id": ",".join(c["identifier"] for c in chosen),
                   "title": ", ".join(titles) or None,
                   "description": chosen[0]["subtitle"] if len(chosen) == 1 else None}
    return interactive, {"selected": chosen}


def _time_picker(event: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    slots = event.get("timeslots") if type(event) is dict else None
    if type(slots) is not list or not slots:
        raise Unsupported("event.timeslots is missing or empty")
    chosen = []
    for slot in slots:
        ident, start = _str(slot, "identifier"), _str(slot, "startTime")
        duration = slot.get("duration") if type(slot) is dict else None
        if ident is None or start is None or (duration is not None and type(duration) is not int):
            raise Unsupported("timeslot without identifier and startTime")
        chosen.append({"identifier": ident, "start_time": start, "duration": duration})
    offset = event.get("timezoneOffset")
    interactive = {"reply_type": "time_picker", "id": ",".join(c["identifier"] for c in chosen),
                   "title": _str(event, "title"), "description": chosen[0]["start_time"]}
    return interactive, {"event_identifier": _str(event, "identifier"), "timeslots": chosen,
                         "timezone_offset": offset if type(offset) is int else None}


def reply(interactive_data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(interactive, extra)`` of a list or time picker reply (see the module docstring).

    Raises:
        Unsupported: no ``data`` object, or content other than a list or time picker reply.
    """
    data = interactive_data.get("data") if type(interactive_data) is dict else None
    if type(data) is not dict:
        raise Unsupported("interactiveData.data is not an object")
    if "listPicker" in data:
        interactive, extra = _list_picker(data["listPicker"])
    elif "event" in data:
        interactive, extra = _time_picker(data["event"])
    else:
        raise Unsupported("interactive content other than a list or time picker")
    extra["request_identifier"] = _str(data, "requestIdentifier")
    extra["bid"] = _str(interactive_data, "bid")
    return interactive, extra
