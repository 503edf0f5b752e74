"""Twilio voice webhooks → ``io.omnisdk.call.*`` CloudEvents (pure: no I/O, no clock).

Three kinds of webhook reach ``/webhooks/cti_twilio/<account>``
(twilio.com/docs/usage/webhooks/voice-webhooks):

- the **incoming call** request ("A call comes in"): ``CallStatus=ringing``,
  ``Direction=inbound``;
- **status callbacks** (the number's "Call status changes" URL, and the ``StatusCallback`` of a
  call we placed, with ``StatusCallbackEvent`` initiated, ringing, answered, completed:
  twilio.com/docs/voice/api/call-resource#statuscallbackevent) whose ``CallStatus`` is one of
  ``queued``, ``initiated``, ``ringing``, ``in-progress``, ``completed``, ``busy``,
  ``no-answer``, ``canceled``, ``failed`` (the Call resource's status values);
- **recording status callbacks** (``RecordingSid``, ``RecordingUrl``, ``RecordingStatus``,
  ``RecordingDuration``, ``RecordingStartTime``: twilio.com/docs/voice/twiml/recording).

=================  =========================================================================
``CallStatus``     event
=================  =========================================================================
ringing            ``call.ringing`` (inbound: a new call; outbound: the customer's phone rings)
in-progress        ``call.answered`` (``answered`` callback, or the ``Url`` Twilio fetches when
                   a call we placed is answered: ``omnisdk_agent`` in its query names the agent)
completed, busy,   ``call.ended`` with ``reason`` the status word
no-answer,
canceled, failed
queued, initiated  nothing: no state of ``CALL_TRANSITIONS`` (acknowledged, not stored)
=================  =========================================================================

A **warm transfer to a number** dials the number into a conference with a status callback
whose query names the leg (``omnisdk_leg=transfer``) and the caller's call (``omnisdk_call``):
its ``in-progress`` callback is ``call.transferred`` of the caller's call (the number
answered); its other callbacks are acknowledged and not stored.

Event ids are ``{CallSid}:{state}`` (one per state of a call: Twilio's retries of a callback
carry the same pair) and ``{RecordingSid}:{RecordingStatus}``.  ``Direction=outbound-dial``
(the agent's child leg of a ``<Dial>``) is acknowledged and not stored: the caller's call is
the interaction.  Our number is ``business``: ``To`` inbound, ``From`` outbound.  A call we
placed names our interaction in the callback URL's query (``omnisdk_interaction``), which the
signature covers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import lru_cache

from omnisdk.connectors import CallState
from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_CALL_RECORDING, Event
from omnisdk.model.addresses import check_e164

STATES = {
    "ringing": CallState.RINGING,
    "in-progress": CallState.ANSWERED,
    "completed": CallState.ENDED,
    "busy": CallState.ENDED,
    "no-answer": CallState.ENDED,
    "canceled": CallState.ENDED,
    "failed": CallState.ENDED,
}
"""``CallStatus`` values (twilio.com/docs/voice/api/call-resource#call-status-values) → call states."""
NO_STATE = frozenset({"queued", "initiated"})
DIRECTIONS = {"inbound": "inbound", "outbound-api": "outbound"}
RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent", "failed"})
_SID = re.compile(r"(CA|RE)[0-9a-fA-F]{32}")
_OUR_ID = re.compile(r"[0-9a-f]{32}")
INTERACTION_PARAM = "omnisdk_interaction"
AGENT_PARAM = "omnisdk_agent"
LEG_PARAM = "omnisdk_leg"
"""Names a call that is not the interaction's own: ``transfer`` = the number dialled into a
warm transfer's conference (its status callback URL carries it)."""
CALL_PARAM = "omnisdk_call"
"""With ``omnisdk_leg``: the CallSid of the interaction's own call (the caller's)."""
TRANSFER_LEG = "transfer"


def _need(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise PayloadError(f"Twilio voice webhook without {name}", reason="malformed_payload")
    return value


def _sid(params: Mapping[str, str], name: str, prefix: str) -> str:
    value = _need(params, name)
    if not _SID.fullmatch(value) or not value.startswith(prefix):
        raise PayloadError(f"{name} is not a Twilio {prefix} SID", reason="malformed_payload")
    return value


@lru_cache(maxsize=4096)
def _e164(value: str) -> str:
    """:func:`check_e164`, remembered: every call's webhooks (ringing, its status callbacks, the
    answer's ``Url`` fetch) repeat its two numbers, and ours recurs on every call, while the
    phonenumbers check is most of a webhook's parse time.  Pure (same input, same result)."""
    return check_e164(value)


def _number(params: Mapping[str, str], name: str) -> str:
    try:
        return _e164(_need(params, name))
    except ValueError:
        raise PayloadError(f"{name} is not an E.164 phone number (client and SIP calls are not handled)",
                           reason="malformed_payload") from None


def _time(params: Mapping[str, str], name: str, fallback: str) -> str:
    raw = params.get(name)
    if not raw:
        return fallback
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        raise PayloadError(f"{name} is not an RFC 2822 date", reason="malformed_payload") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise PayloadError(f"{name} has no time zone", reason="malformed_payload")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _our_id(query: Mapping[str, str]) -> str | None:
    value = query.get(INTERACTION_PARAM)
    if value is None:
        return None
    if not _OUR_ID.fullmatch(value):
        raise PayloadError(f"{INTERACTION_PARAM} is not an omnisdk interaction id", reason="malformed_payload")
    return value


def to_events(connector: object, params: Mapping[str, str], query: Mapping[str, str], received_at: str) -> list[Event]:
    """The events of one verified webhook (see the module docstring).  ``connector`` is the
    :class:`~omnisdk_cti_twilio.adapter.TwilioVoiceConnector` (for ``call_event`` and ``source``).

    Raises:
        PayloadError: a missing or malformed parameter, an undocumented ``CallStatus`` or
            ``Direction``, a number that is not E.164.
    """
    if "RecordingSid" in params:
        return [_recording(connector, params, query, received_at)]
    call_id = _sid(params, "CallSid", "CA")
    status = _need(params, "CallStatus")
    direction = _need(params, "Direction")
    if status not in STATES and status not in NO_STATE:
        raise PayloadError("undocumented CallStatus", reason="malformed_payload")
    if direction == "outbound-dial":
        return []
    if direction not in DIRECTIONS:
        raise PayloadError("undocumented Direction", reason="malformed_payload")
    if status in NO_STATE:
        return []
    if query.get(LEG_PARAM) is not None:
        return _transfer_leg(connector, params, query, status, received_at)
    ours = DIRECTIONS[direction]
    from_, to = _number(params, "From"), _number(params, "To")
    state = STATES[status]
    at = _time(params, "Timestamp", received_at)
    agent = query.get(AGENT_PARAM) if state is CallState.ANSWERED else None
    return [connector.call_event(  # type: ignore[attr-defined]
        state, event_id=f"{call_id}:{state.value}", call_id=call_id, from_=from_, to=to, direction=ours, at=at,
        agent=agent or None, reason=status if state is CallState.ENDED else None,
        interaction_id=_our_id(query), business=to if ours == "inbound" else from_)]


def _transfer_leg(connector: object, params: Mapping[str, str], query: Mapping[str, str], status: str,
                  received_at: str) -> list[Event]:
    """The status callback of the number a warm transfer dialled into its conference: answered
    (``in-progress``) is ``call.transferred`` of the caller's call (``omnisdk_call``; event id
    ``{caller CallSid}:transferred:{leg CallSid}``, ``reason`` ``number:{To}``); its other
    statuses (completed, busy, no-answer, failed, canceled) are acknowledged and not stored:
    the agent is still with the caller, who stays on the interaction.

    Raises:
        PayloadError: an unknown leg, a missing or malformed ``omnisdk_call`` or number.
    """
    if query.get(LEG_PARAM) != TRANSFER_LEG:
        raise PayloadError(f"unknown {LEG_PARAM}", reason="malformed_payload")
    leg = _sid(params, "CallSid", "CA")
    caller_call = query.get(CALL_PARAM, "")
    if not _SID.fullmatch(caller_call) or not caller_call.startswith("CA"):
        raise PayloadError(f"{CALL_PARAM} is not a Twilio CA SID", reason="malformed_payload")
    if STATES.get(status) is not CallState.ANSWERED:
        return []
    from_, to = _number(params, "From"), _number(params, "To")
    at = _time(params, "Timestamp", received_at)
    return [connector.call_event(  # type: ignore[attr-defined]
        CallState.TRANSFERRED, event_id=f"{caller_call}:transferred:{leg}", call_id=caller_call, from_=from_,
        to=to, direction="outbound", at=at, reason=f"number:{to}", interaction_id=_our_id(query), business=from_)]


def _recording(connector: object, params: Mapping[str, str], query: Mapping[str, str], received_at: str) -> Event:
    call_id = _sid(params, "CallSid", "CA")
    recording_id = _sid(params, "RecordingSid", "RE")
    status = _need(params, "RecordingStatus")
    if status not in RECORDING_STATUSES:
        raise PayloadError("undocumented RecordingStatus", reason="malformed_payload")
    url = params.get("RecordingUrl", "")
    if url and not url.startswith("https://api.twilio.com/"):
        raise PayloadError("RecordingUrl is not a Twilio API URL", reason="malformed_payload")
    raw = params.get("RecordingDuration")
    try:
        duration = float(raw) if raw not in (None, "", "-1") else None
    except ValueError:
        raise PayloadError("RecordingDuration is not a number", reason="malformed_payload") from None
    if duration is not None and not 0 <= duration < 10**7:
        raise PayloadError("RecordingDuration out of range", reason="malformed_payload")
    at = _time(params, "RecordingStartTime", received_at)
    interaction_id = _our_id(query)
    return Event(id=f"{recording_id}:{status}", source=connector.source,  # type: ignore[attr-defined]
                 type=TYPE_CALL_RECORDING, subject=call_id, time=at, correlationid=interaction_id,
                 data={"call_id": call_id, "recording_id": recording_id, "url": url, "duration": duration,
                       "status": status, "at": at, "interaction_id": interaction_id})
