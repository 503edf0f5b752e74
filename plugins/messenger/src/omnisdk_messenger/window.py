"""The Messenger messaging window: which ``messaging_type`` (and tag) a send may use.

Rules (https://developers.facebook.com/docs/messenger-platform/policy/policy-overview,
"Standard messaging"; https://developers.facebook.com/docs/messenger-platform/send-messages#messaging_types;
https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags, "Human
Agent"):

- within **24 hours** of the person's last message to the Page: ``messaging_type: RESPONSE``;
- after that, up to **7 days** after that message, and only when the app was granted the
  Human Agent permission (the ``human_agent_tag`` setting): ``messaging_type: MESSAGE_TAG``
  with ``tag: HUMAN_AGENT``;
- otherwise no message may be sent: :class:`~omnisdk_messenger.errors.WindowClosedError`,
  raised before any I/O.

A pure function: the caller gives the person's last inbound time and "now".

**Not wired into the core's sends.**  ``OutboundMessage`` carries no last-inbound time and
the adapter has no store, so the outbox's ``send()`` uses ``RESPONSE`` and Meta itself refuses
a message outside the window (Graph code 10, subcode 2018278, mapped to
:class:`~omnisdk_messenger.errors.GraphWindowError`, not retried).  A caller that knows the
time passes it: ``adapter.send(message, idempotency_key=..., last_inbound_at=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from omnisdk_messenger.errors import WindowClosedError

STANDARD_WINDOW = timedelta(hours=24)
"""The standard messaging window after the person's last message."""
HUMAN_AGENT_WINDOW = timedelta(days=7)
"""How long after the person's last message the ``HUMAN_AGENT`` tag may be used."""
RESPONSE = "RESPONSE"
MESSAGE_TAG = "MESSAGE_TAG"
HUMAN_AGENT = "HUMAN_AGENT"


@dataclass(frozen=True, slots=True)
class MessagingType:
    """The Send API fields that place a message in the window: ``messaging_type`` and, for
    ``MESSAGE_TAG``, ``tag``."""

    messaging_type: str
    tag: str | None = None

    def fields(self) -> dict[str, str]:
        """The request-body fields: ``{"messaging_type": ...}`` plus ``"tag"`` when set."""
        out = {"messaging_type": self.messaging_type}
        if self.tag is not None:
            out["tag"] = self.tag
        return out


STANDARD = MessagingType(RESPONSE)
TAGGED = MessagingType(MESSAGE_TAG, HUMAN_AGENT)


def messaging_type(last_inbound_at: datetime | None, now: datetime, *, human_agent_tag: bool) -> MessagingType:
    """The messaging type for a send at ``now`` to a person whose last message arrived at
    ``last_inbound_at``.

    The windows are half-open: a send exactly 24 hours after the message is outside the
    standard window, one exactly 7 days after it is outside the Human Agent window.  A
    ``last_inbound_at`` after ``now`` (clock skew) counts as "just now".

    Raises:
        WindowClosedError: no inbound message at all, or outside every window the account may
            use.  Raised before any I/O.
        ValueError: a naive datetime (both must carry a time zone).
    """
    if now.tzinfo is None or (last_inbound_at is not None and last_inbound_at.tzinfo is None):
        raise ValueError("messenger: window times must be timezone-aware")
    if last_inbound_at is None:
        raise WindowClosedError("messenger: the person never wrote to the Page: no messaging window is open",
                                elapsed=None, human_agent_tag=human_agent_tag)
    elapsed = max(now - last_inbound_at, timedelta(0))
    if elapsed < STANDARD_WINDOW:
        return STANDARD
    if human_agent_tag and elapsed < HUMAN_AGENT_WINDOW:
        return TAGGED
    hours = int(elapsed.total_seconds() // 3600)
    limit = "7-day HUMAN_AGENT window" if human_agent_tag else \
        "24-hour standard window (the HUMAN_AGENT tag is not enabled for this account)"
    raise WindowClosedError(f"messenger: the person's last message is {hours} h old: outside the {limit}",
                            elapsed=elapsed, human_agent_tag=human_agent_tag)


__all__ = ["HUMAN_AGENT_WINDOW", "STANDARD_WINDOW", "MessagingType", "messaging_type"]
