"""The omnisdk CloudEvent envelope, its type names, and conversion at the wire.

On the hot ingest path plugins build :class:`Event` (a slotted dataclass with the CloudEvents
1.0 attribute names) and the core serializes it with orjson in the CloudEvents JSON format.
:func:`to_cloudevent`, :func:`to_http` and :func:`from_http` convert to and from the
``cloudevents.core`` SDK (HTTP structured and binary modes) where events leave or enter the
process; the two writers produce the same JSON document (see ``tests/test_events.py``).

Attributes (CloudEvents 1.0, https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md):

- ``id``: the provider's own stable id (wamid, MessageSid, webhookEventId …), so that
  (``source``, ``id``) deduplicates redeliveries;
- ``source``: ``/{plugin}/{account}``;
- ``type``: reverse-DNS, one of the ``TYPE_*`` constants below (``docs/events.md``);
- ``time``: RFC 3339 UTC, from the provider's timestamp, else the gateway's receive time;
- extensions ``partitionkey`` (conversation key, the ordering unit), ``correlationid``,
  ``causationid``, and the CloudEvents distributed-tracing extension ``traceparent`` /
  ``tracestate`` (W3C Trace Context, https://www.w3.org/TR/trace-context/): the gateway copies
  them from the webhook request's headers, when valid (:func:`trace_context`), onto every event
  parsed from it, and the core's events caused by an event copy its trace context.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

SPECVERSION = "1.0"
TYPE_PREFIX = "io.omnisdk."

TYPE_MESSAGE_RECEIVED = "io.omnisdk.message.received"
"""A customer sent a message (``data``: :class:`omnisdk.model.Message`)."""
TYPE_MESSAGE_UNSUPPORTED = "io.omnisdk.message.unsupported"
"""A customer sent something the plugin cannot normalize (``data``: Message, kind unsupported)."""
TYPE_MESSAGE_STATUS = "io.omnisdk.message.status"
"""Delivery status of an outbound message (``data``: :class:`omnisdk.model.StatusUpdate`)."""
TYPE_MESSAGE_DELETED = "io.omnisdk.message.deleted"
"""The customer deleted (revoked) a message (``data``: message_id, customer, business)."""
TYPE_MESSAGE_EDITED = "io.omnisdk.message.edited"
"""The customer edited a message (``data``: Message with the new content, ``extra.edits``)."""
TYPE_CONTACT_CHANGED = "io.omnisdk.contact.changed"
"""A provider system notice about a customer (number or identity change)."""
TYPE_CONVERSATION_CLOSED = "io.omnisdk.conversation.closed"
"""The customer closed the conversation on the provider's side (Apple Messages for Business
``close``): the processor closes the conversation's open interaction with the wrap-up code
``Closed by customer`` (``data``: :class:`omnisdk.catalog.ConversationClosedData`)."""
TYPE_PROVIDER_NOTICE = "io.omnisdk.provider.notice"
"""A provider webhook that is no customer fact (account, template or quality updates): kept,
never silently dropped (``data``: ``{"kind": str, "raw": object}``)."""
TYPE_SURVEY_ANSWERED = "io.omnisdk.survey.answered"
"""A customer answered the end-of-conversation survey (``data``:
:class:`omnisdk.model.surveys.SurveyAnswer`); kept in the interaction's ``context["survey"]``."""
TYPE_INTERACTION_CREATED = "io.omnisdk.interaction.created"
TYPE_INTERACTION_QUEUED = "io.omnisdk.interaction.queued"
TYPE_INTERACTION_OFFERED = "io.omnisdk.interaction.offered"
TYPE_INTERACTION_ACCEPTED = "io.omnisdk.interaction.accepted"
TYPE_INTERACTION_ON_HOLD = "io.omnisdk.interaction.on_hold"
TYPE_INTERACTION_WRAP_UP = "io.omnisdk.interaction.wrap_up"
TYPE_INTERACTION_CLOSED = "io.omnisdk.interaction.closed"
TYPE_INTERACTION_TRANSFERRED = "io.omnisdk.interaction.transferred"
TYPE_INTERACTION_MESSAGE_ADDED = "io.omnisdk.interaction.message_added"
"""A customer message joined an interaction an agent holds (the agent's notification)."""
TYPE_INTERACTION_ACTION = "io.omnisdk.interaction.action"
"""A messaging action fired (notify_agent and the like)."""
TYPE_CASE_CREATED = "io.omnisdk.case.created"
TYPE_CASE_UPDATED = "io.omnisdk.case.updated"
TYPE_AGENT_UPDATED = "io.omnisdk.agent.updated"
TYPE_OUTBOUND_SENT = "io.omnisdk.outbound.sent"
TYPE_OUTBOUND_FAILED = "io.omnisdk.outbound.failed"
TYPE_ROUTING_ASSIGNED = "io.omnisdk.routing.assigned"
"""A CCaaS connector reports that its platform offered an externally routed interaction to an
agent (``data``: :class:`omnisdk.catalog.RoutingAssignedData`); the core offers it."""
TYPE_ROUTING_ACCEPTED = "io.omnisdk.routing.accepted"
"""The CCaaS agent accepted it (``data``: :class:`omnisdk.catalog.RoutingAcceptedData`)."""
TYPE_ROUTING_ENDED = "io.omnisdk.routing.ended"
"""The CCaaS ended it (``data``: :class:`omnisdk.catalog.RoutingEndedData`); the core closes it."""
TYPE_CALL_RINGING = "io.omnisdk.call.ringing"
"""A CTI connector's call events (``data``: :class:`omnisdk.catalog.CallEventData`); legal
orders in :data:`omnisdk.connectors.CALL_TRANSITIONS`."""
TYPE_CALL_ANSWERED = "io.omnisdk.call.answered"
TYPE_CALL_HELD = "io.omnisdk.call.held"
TYPE_CALL_RESUMED = "io.omnisdk.call.resumed"
TYPE_CALL_TRANSFERRED = "io.omnisdk.call.transferred"
TYPE_CALL_ENDED = "io.omnisdk.call.ended"
TYPE_CALL_RECORDING = "io.omnisdk.call.recording"
"""A call's recording is available (``data``: :class:`omnisdk.catalog.CallRecordingData`); not a
call state, so it is outside :data:`omnisdk.connectors.CALL_TRANSITIONS`: the core keeps its link on the
call's interaction."""

EVENT_TYPES: tuple[str, ...] = tuple(
    v for k, v in dict(globals()).items() if k.startswith("TYPE_") and k != "TYPE_PREFIX"
)

_EXTENSIONS = ("partitionkey", "correlationid", "causationid", "traceparent", "tracestate")


@dataclass(slots=True)
class Event:
    """One fact, as a CloudEvent.  ``data`` holds JSON types only (times as RFC 3339 strings).

    Treat it as immutable (use :meth:`with_` for a changed copy); it is not frozen only
    because a frozen dataclass costs ~1 µs more to build on the ingest path.
    """

    id: str
    source: str
    type: str
    data: dict[str, Any] | None = None
    time: str | None = None
    subject: str | None = None
    partitionkey: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    specversion: str = field(default=SPECVERSION)

    def attributes(self) -> dict[str, Any]:
        """The CloudEvents attributes that are set (no ``data``), by their spec names."""
        out = self.to_dict()
        out.pop("data", None)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The CloudEvents JSON-format document as a dict: the attributes that are set, by their
        spec names, then ``data`` when set."""
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        # one test per attribute, in the order of the document's members: time, subject,
        # datacontenttype, dataschema, the extensions (_EXTENSIONS), data (the ingest path
        # serialises every event: a loop over the names with getattr cost ~0.3 µs more)
        if self.time is not None:
            out["time"] = self.time
        if self.subject is not None:
            out["subject"] = self.subject
        if self.datacontenttype is not None:
            out["datacontenttype"] = self.datacontenttype
        if self.dataschema is not None:
            out["dataschema"] = self.dataschema
        if self.partitionkey is not None:
            out["partitionkey"] = self.partitionkey
        if self.correlationid is not None:
            out["correlationid"] = self.correlationid
        if self.causationid is not None:
            out["causationid"] = self.causationid
        if self.traceparent is not None:
            out["traceparent"] = self.traceparent
        if self.tracestate is not None:
            out["tracestate"] = self.tracestate
        if self.data is not None:
            out["data"] = self.data
        return out

    def with_(self, **changes: Any) -> Event:
        """A copy with some attributes changed."""
        return replace(self, **changes)


def dumps(event: Event) -> bytes:
    """Serialize to the CloudEvents JSON format (``application/cloudevents+json``) with orjson."""
    return orjson.dumps(event.to_dict())


def loads(raw: bytes | str) -> Event:
    """Parse one CloudEvents JSON-format document written by :func:`dumps` or any v1.0 writer.

    Raises:
        ValueError: not JSON, or a required attribute (id, source, type) is missing.
    """
    doc = orjson.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("a CloudEvent JSON document must be an object")
    return from_dict(doc)


def from_dict(doc: Mapping[str, Any]) -> Event:
    """Build an :class:`Event` from a CloudEvents JSON-format mapping.

    Raises:
        ValueError: a required attribute is missing or specversion is not 1.0.
    """
    missing = [k for k in ("id", "source", "type") if not doc.get(k)]
    if missing:
        raise ValueError(f"CloudEvent lacks required attribute(s): {', '.join(missing)}")
    if doc.get("specversion", SPECVERSION) != SPECVERSION:
        raise ValueError("only CloudEvents specversion 1.0 is supported")
    t = doc.get("time")
    if isinstance(t, datetime):
        t = rfc3339(t)
    return Event(
        id=doc["id"],
        source=doc["source"],
        type=doc["type"],
        data=doc.get("data"),
        time=t,
        subject=doc.get("subject"),
        partitionkey=doc.get("partitionkey"),
        correlationid=doc.get("correlationid"),
        causationid=doc.get("causationid"),
        traceparent=doc.get("traceparent"),
        tracestate=doc.get("tracestate"),
        datacontenttype=doc.get("datacontenttype") or "application/json",
        dataschema=doc.get("dataschema"),
    )


# --- W3C trace context (https://www.w3.org/TR/trace-context/) ------------------------------

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_TRACESTATE_MEMBER = re.compile(
    r"(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)
TRACESTATE_MAX_MEMBERS = 32
"""W3C: a ``tracestate`` holds at most 32 list members."""
TRACESTATE_MAX_CHARS = 512
"""Longest ``tracestate`` carried (characters): W3C asks propagators to carry at least 512."""
_OWS = " \t"


def parse_traceparent(value: str | None) -> str | None:
    """``value`` if it is a valid W3C ``traceparent`` (§3.2), else None.

    ``version-trace_id-parent_id-flags``, lower-case hex: version ``00`` is exactly 55
    characters; a later version (not ``ff``) may carry more fields after a ``-``, and is
    carried as version ``00`` with its first four fields (§3.2.4, "Versioning of
    traceparent").  A trace id or parent id of only zeros is invalid.
    """
    if not value:
        return None
    value = value.strip(_OWS)
    m = _TRACEPARENT.match(value)
    if m is None:
        return None
    version, trace_id, parent_id, flags = m.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    if version == "00":
        return value if len(value) == 55 else None
    if len(value) > 55 and value[55] != "-":
        return None
    return f"00-{trace_id}-{parent_id}-{flags}"


def parse_tracestate(value: str | None) -> str | None:
    """``value`` (list members joined by ``,``, without empty members and optional
    whitespace) if it is a valid W3C ``tracestate`` (§3.3) of at most
    :data:`TRACESTATE_MAX_MEMBERS` members and :data:`TRACESTATE_MAX_CHARS` characters, else
    None (an invalid one is dropped whole, never half-carried)."""
    if not value:
        return None
    members = [m.strip(_OWS) for m in value.split(",")]
    members = [m for m in members if m]
    if not members or len(members) > TRACESTATE_MAX_MEMBERS:
        return None
    if not all(_TRACESTATE_MEMBER.fullmatch(m) for m in members):
        return None
    if len({m.partition("=")[0] for m in members}) != len(members):
        return None  # a key may appear only once
    out = ",".join(members)
    return out if len(out) <= TRACESTATE_MAX_CHARS else None


def trace_context(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` from HTTP headers with lower-cased names, each validated
    (:func:`parse_traceparent`, :func:`parse_tracestate`); an invalid value is dropped, not an
    error, and a ``tracestate`` without a valid ``traceparent`` is ignored (W3C §3.3)."""
    traceparent = parse_traceparent(headers.get("traceparent"))
    if traceparent is None:
        return None, None
    return traceparent, parse_tracestate(headers.get("tracestate"))


def rfc3339(value: datetime) -> str:
    """A timezone-aware datetime as RFC 3339 UTC with a ``Z`` suffix (seconds precision kept)."""
    s = value.isoformat()
    return s[:-6] + "Z" if s.endswith("+00:00") else s


def epoch_to_rfc3339(seconds: str | int | float) -> str:
    """Unix epoch seconds (as providers send them, often a string) → ``YYYY-MM-DDTHH:MM:SSZ``.

    Raises:
        ValueError: not a number.
    """
    try:
        return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(int(float(seconds))))
    except (OverflowError, OSError, TypeError) as exc:
        raise ValueError(f"not a usable epoch timestamp: {type(exc).__name__}") from None


def now_rfc3339() -> str:
    """The current UTC time, RFC 3339 with microseconds."""
    return rfc3339(datetime.now(UTC))


# --- conversion at the wire (cloudevents.core) -------------------------------------------


def _sdk_event(attributes: dict[str, Any], data: Any) -> Any:
    """A ``cloudevents.core`` v1.0 event, without the ``time`` the SDK stamps when none is set."""
    from cloudevents.core.v1.event import CloudEvent

    stamped = "time" not in attributes
    ce = CloudEvent(attributes, data)
    if stamped:
        ce.get_attributes().pop("time", None)
    return ce


def to_cloudevent(event: Event) -> Any:
    """The event as a ``cloudevents.core.v1.event.CloudEvent`` (validated by the SDK)."""
    attrs = event.attributes()
    if "time" in attrs:
        attrs["time"] = datetime.fromisoformat(attrs["time"].replace("Z", "+00:00"))
    return _sdk_event(attrs, event.data)


def from_cloudevent(ce: Any) -> Event:
    """An :class:`Event` from any ``cloudevents.core`` event."""
    attrs = dict(ce.get_attributes())
    data = ce.get_data()
    if isinstance(data, (bytes, str)) and data:
        data = orjson.loads(data)
    attrs["data"] = data
    return from_dict(attrs)


def to_http(event: Event, *, binary: bool = False) -> tuple[dict[str, str], bytes]:
    """HTTP headers and body in CloudEvents structured (default) or binary content mode."""
    from cloudevents.core.bindings import http
    from cloudevents.core.formats.json import JSONFormat

    ce = to_cloudevent(event)
    msg = http.to_binary(ce, JSONFormat()) if binary else http.to_structured(ce, JSONFormat())
    return dict(msg.headers), msg.body


def from_http(headers: Mapping[str, str], body: bytes) -> Event:
    """Parse an HTTP CloudEvent in either content mode (detected from the headers).

    Raises:
        ValueError: the message is not a valid CloudEvent.
    """
    from cloudevents.core.bindings import http
    from cloudevents.core.formats.json import JSONFormat

    try:
        ce = http.from_http(http.HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body), JSONFormat(), _sdk_event)
    except Exception as exc:  # the SDK raises several unrelated types
        raise ValueError(f"not a CloudEvent: {exc}") from None
    return from_cloudevent(ce)
