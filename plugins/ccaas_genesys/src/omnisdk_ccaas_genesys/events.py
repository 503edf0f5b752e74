"""Genesys Cloud's conversation events on our webhook: the signature and the translation (pure).

**Delivery.**  Genesys Cloud publishes *analytics detail events* per conversation on the
notification topics ``v2.detail.events.conversation.{id}.<kind>``
(https://developer.genesys.cloud/analyticsdatamanagement/analytics/notifications).  A Process
Automation trigger on each topic (https://help.mypurecloud.com/articles/overview-of-triggers/)
starts a workflow whose Web Services Data Action POSTs to ``/webhooks/ccaas_genesys/<account>``
the notification envelope (``topicName``, ``version``, ``eventBody``, ``metadata``) plus
``attributes``: the customer participant's ``omnisdk_interaction_id``, which route() set
(docs/ccaas.md gives the data action's request template).

**Signature.**  ``X-Hub-Signature-256: sha256=<base64 HMAC-SHA256 of the raw body>`` keyed by
the account's ``webhook_secret``: the scheme Genesys Cloud documents for its outbound webhooks
(https://developer.genesys.cloud/commdigital/digital/openmessaging/validate.html).  Compared
with :func:`hmac.compare_digest` over the canonical encodings.

**Kinds** (``eventBody`` fields from the SDK models ``UserStartDetailEventTopicUserStartEvent``,
``AcdEndDetailEventTopicAcdEndEvent``, ``WrapupDetailEventTopicWrapupEvent``,
``UserEndDetailEventTopicUserEndEvent``; ``eventTime`` is epoch milliseconds, UTC):

==================  ===========================================================================
topic kind          event
==================  ===========================================================================
``user.start``      agent alerting → ``io.omnisdk.routing.assigned`` (``userId``, ``conversationId``)
``acd.end``         ``acdOutcome`` ``ANSWERED``: the agent connected → ``routing.accepted``
                    (``answeredUserId``); another outcome (``ABANDON``, ``FLOW_OUT`` …) →
                    ``routing.ended`` (reason: the outcome, lower-case)
``wrapup``          wrap-up applied → ``routing.ended`` with ``wrapupCode`` (mapped back)
anything else       ``io.omnisdk.provider.notice`` (``user.end``: the agent disconnected,
                    with ``heldDurationMs``; ``acw``, ``customer.end`` …): kept, changes no interaction
==================  ===========================================================================

An event without our interaction id (a conversation omnisdk did not route) raises
:class:`~omnisdk.errors.PayloadError`: refused and counted, never a phantom interaction.

**Replay.**  The signature binds the body but no time: a captured request verifies forever.
Three things stop a replay from acting twice or late: the event id
(``{conversationId}:{sessionId}:{kind}:{eventTime}``) is the inbox's idempotency key, so a
replay of a stored event is dropped as a duplicate (for as long as the inbox keeps it: it has
no pruning yet); every routing event names its ``conversationId``, which must be the
interaction's bound ``external_id`` (the core refuses another: ``routing.mismatch``); and
:func:`check_age` refuses an event whose ``eventTime`` is older than the account's
``max_event_age`` (or further ahead than :data:`MAX_CLOCK_SKEW`) when it arrives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any

from omnisdk import payloads
from omnisdk.errors import PayloadError, SignatureError

SIGNATURE_HEADER = "X-Hub-Signature-256"
TOPIC = re.compile(r"^v2\.detail\.events\.conversation\.([0-9A-Za-z-]{1,64})\.([a-z]+(?:\.[a-z]+)?)$")
_SIG = re.compile(r"^sha256=[A-Za-z0-9+/]{43}=$")
_MALFORMED = (ValueError, KeyError, TypeError, AttributeError, OverflowError)


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` + base64 HMAC-SHA256 of ``body`` keyed by ``secret``."""
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: Any, body: bytes) -> None:
    """Check ``X-Hub-Signature-256`` (headers: a case-insensitive mapping, lower-case keys).

    Raises:
        SignatureError: missing, malformed, or not matching (messages name no secret).
    """
    got = headers.get(SIGNATURE_HEADER.lower())
    if not got:
        raise SignatureError("missing X-Hub-Signature-256")
    if not isinstance(got, str) or not got.isascii() or not _SIG.match(got):
        raise SignatureError("malformed X-Hub-Signature-256")
    if not hmac.compare_digest(got.encode(), signature(secret, body).encode()):
        raise SignatureError("X-Hub-Signature-256 does not match")


MAX_CLOCK_SKEW = 300.0
"""Seconds an ``eventTime`` may lie ahead of our clock (the two clocks drift)."""


class StaleEventError(PayloadError):
    """An event older than ``max_event_age`` (or from the future): HTTP 400, nothing stored.
    A 4xx, so that Genesys's retry policy (which retries 429 and 5xx) stops sending it."""

    reason = "stale_event"


def check_age(event_ms: int, received_at: str, max_age: float | None) -> None:
    """Refuse an event whose ``eventTime`` (epoch ms, UTC) is more than ``max_age`` seconds
    before ``received_at`` (RFC 3339 UTC, the gateway's clock), or more than
    :data:`MAX_CLOCK_SKEW` after it.  ``max_age`` None or 0: no age limit.

    Raises:
        StaleEventError: see above (the message gives the age in seconds, no payload).
        ValueError: ``received_at`` is not RFC 3339.
    """
    if not max_age:
        return
    now = datetime.fromisoformat(received_at.replace("Z", "+00:00")).timestamp()
    age = now - event_ms / 1000
    if age > max_age:
        raise StaleEventError(f"Genesys Cloud event is {age:.0f} s old (max_event_age {max_age:.0f} s)")
    if age < -MAX_CLOCK_SKEW:
        raise StaleEventError(f"Genesys Cloud event is {-age:.0f} s in the future")


def ms_to_rfc3339(value: Any) -> str:
    """Epoch milliseconds (Genesys's ``eventTime``) → RFC 3339 UTC with milliseconds.

    Raises:
        ValueError: not a plausible epoch-milliseconds integer.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**14:
        raise ValueError("eventTime must be epoch milliseconds")
    return datetime.fromtimestamp(value / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text(value: Any, name: str) -> str:
    """A non-empty string field, else ``TypeError`` naming it."""
    if not isinstance(value, str) or not value or len(value) > 256:
        raise TypeError(f"{name} must be a non-empty string")
    return value


class Notice:
    """What :func:`read` found in one body: the fields the connector turns into an event."""

    __slots__ = ("agent", "code", "conversation", "event_id", "event_ms", "interaction", "kind", "outcome", "raw",
                 "time")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


def read(body: bytes) -> Notice:
    """Parse one webhook body into a :class:`Notice` (no I/O, no clock).

    Raises:
        PayloadError: malformed JSON, an unknown envelope, or no interaction id.
    """
    try:
        doc = payloads.loads(body)  # size and depth limits first
        if not isinstance(doc, dict):
            raise TypeError("not an object")
        match = TOPIC.match(text(doc["topicName"], "topicName"))
        if match is None:
            raise ValueError("topicName is not a v2.detail.events.conversation topic")
        topic_conversation, kind = match.groups()
        ev = doc["eventBody"]
        if not isinstance(ev, dict):
            raise TypeError("eventBody must be an object")
        conversation = text(ev["conversationId"], "conversationId")
        if conversation != topic_conversation:
            raise ValueError("eventBody.conversationId differs from the topic's")
        at = ms_to_rfc3339(ev["eventTime"])
        session = text(ev.get("sessionId") or ev.get("participantId") or conversation, "sessionId")
        attrs = doc.get("attributes")
        interaction = attrs.get("omnisdk_interaction_id") if isinstance(attrs, dict) else None
        if interaction is None:
            raise KeyError("attributes.omnisdk_interaction_id")
        interaction = text(interaction, "attributes.omnisdk_interaction_id")
        agent = ev.get("userId") if kind != "acd.end" else ev.get("answeredUserId")
        code = ev.get("wrapupCode")
        outcome = ev.get("acdOutcome")
        return Notice(
            kind=kind, conversation=conversation, time=at, event_ms=ev["eventTime"], interaction=interaction,
            event_id=f"{conversation}:{session}:{kind}:{ev['eventTime']}",
            agent=text(agent, "userId") if agent is not None else None,
            code=text(code, "wrapupCode") if code is not None else None,
            outcome=text(outcome, "acdOutcome") if outcome is not None else None,
            raw=doc,
        )
    except PayloadError:
        raise
    except _MALFORMED as exc:
        raise PayloadError(f"malformed Genesys Cloud event: {type(exc).__name__}: {exc}") from None
