"""The email fields of a message: what threading, loop protection and spoofing checks read.

``Message.email`` (``data.email`` of ``io.omnisdk.message.received`` on channel ``email``)
holds them.  An email plugin fills them from the RFC 5322 header fields; the core threads on
them (:mod:`omnisdk.threading.email`) and needs no plugin state.

Message-IDs are kept **without angle brackets** (``abc@example.com`` for
``<abc@example.com>``), as RFC 5322 section 3.6.4 ``msg-id`` minus its delimiters; lists keep
the header's order (``References`` is oldest first).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

AUTO_KINDS = frozenset({"auto-replied", "auto-generated", "auto-notified", "bulk", "list", "junk",
                        "out-of-office"})
"""Why a mail counts as automatic (``EmailHeaders.auto``): an RFC 3834 ``Auto-Submitted`` value
other than ``no`` (``auto-replied``, ``auto-generated``, ``auto-notified``), a ``Precedence`` of
``bulk``, ``list`` or ``junk``, a ``List-Id`` (``list``), or an out-of-office mark
(``X-Autoreply``, ``X-Autorespond``: ``out-of-office``)."""


class EmailHeaders(BaseModel):
    """The RFC 5322 / RFC 3834 / RFC 8601 fields of one inbound or outbound mail.

    Sources: RFC 5322 sections 3.6.2–3.6.5 (originator, destination, identification and
    informational fields), RFC 3834 section 5 (``Auto-Submitted``), RFC 2369/2919 (``List-*``),
    RFC 8601 (``Authentication-Results``).
    """

    message_id: str = Field(description="Message-ID without <>; when the mail has none, a stable id derived "
                            "from its bytes (so a redelivery still dedupes), flagged by message_id_derived.")
    message_id_derived: bool = Field(False, description="True when the mail had no Message-ID.")
    in_reply_to: list[str] = Field(default_factory=list, description="In-Reply-To msg-ids, without <>.")
    references: list[str] = Field(default_factory=list, description="References msg-ids, without <>, oldest first.")
    subject: str = Field("", description="Subject, RFC 2047 words decoded.")
    to: list[str] = Field(default_factory=list, description="To addr-specs (domain lower-cased).")
    cc: list[str] = Field(default_factory=list, description="Cc addr-specs.")
    reply_to: list[str] = Field(default_factory=list, description="Reply-To addr-specs (replies go there).")
    date: datetime | None = Field(None, description="The Date field, UTC; None when absent or unreadable.")
    auto: str | None = Field(None, description="Why the mail is automatic, one of AUTO_KINDS; None for a "
                             "person's mail.  Automatic mail never opens an interaction nor triggers ours.")
    auto_header: str | None = Field(None, description="The header that made it automatic, as 'Name: value'.")
    authentication: dict[str, str] = Field(
        default_factory=dict,
        description="Authentication-Results method → result of the receiving MTA (dmarc, spf, dkim), "
                    "lower-case; trusted only when the account names that MTA's authserv-id.")
    full_text: str | None = Field(None, description="The whole text body, quoted history and signature "
                                  "included (Message.text holds the new text alone).")
    html: str | None = Field(None, description="The HTML body, sanitised (no script, style, event "
                             "handlers or remote loads); None when the mail had none.")
    quoted: bool = Field(False, description="True when quoted history or a signature was cut from Message.text.")


def strip_msg_id(value: str) -> str:
    """``<abc@example.com>`` → ``abc@example.com`` (whitespace and one pair of <> removed)."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


class OutboundEmail(BaseModel):
    """``OutboundMessage.email``: the header fields the core fixes for a mail it sends, so that
    a retried send is the same message and the reply threads (RFC 5322 section 3.6.4).

    The core sets them when it queues the send (:mod:`omnisdk.outbound.email_headers`) and
    indexes ``message_id`` for threading; the email plugin writes them as they are.

    Raises:
        pydantic.ValidationError: a field of the wrong type or an unknown field.
    """

    model_config = {"extra": "forbid"}

    message_id: str = Field(description="Our Message-ID without <>, the same on every attempt.")
    subject: str = Field(description="Subject, with our reference token.")
    in_reply_to: str | None = Field(None, description="The Message-ID answered, without <>.")
    references: list[str] = Field(default_factory=list, description="Oldest first, without <>.")
    automatic: bool = Field(False, description="Sent by the core, not by a person (acknowledgements, "
                            "reminders, notifications): the mail carries Auto-Submitted: auto-replied "
                            "(RFC 3834 section 5).")
