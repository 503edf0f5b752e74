"""The headers the core fixes for a mail it queues (:class:`~omnisdk.model.email.OutboundEmail`).

A reply threads in the customer's mail client because it carries (RFC 5322 section 3.6.4):

- ``In-Reply-To``: the Message-ID of the latest mail of the interaction (the customer's, or
  ours for a follow-up);
- ``References``: that mail's References plus its Message-ID, at most :data:`MAX_REFERENCES`
  (the first, the thread's root, is kept: RFC 5322 says to keep it when trimming);
- ``Subject``: ``Re:`` and the thread's first subject, with our reference token of the
  interaction's case (``[Case:CS0000011]``) or of the interaction (``[Ref:IN…]``), so that a
  reply from a client that drops the headers still threads.

The Message-ID is derived from the interaction and the outbox idempotency key
(``omnisdk.<32 hex>@<domain of the business address>``): the same request queued twice makes the
same payload, and every attempt of the send carries the same Message-ID.  The core indexes it
when it queues the mail, so a reply to it threads even before the send is confirmed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction
from omnisdk.model.email import OutboundEmail
from omnisdk.model.subjects import case_token, interaction_token, reply_subject

MAX_REFERENCES = 20
"""References kept on a reply: the thread's first id and the latest ones."""

_FIRST_LINE = 78


def email_headers(ctx: Ctx, interaction: Interaction, text: str, key: str, *, automatic: bool,
                  subject: str | None = None) -> OutboundEmail | None:
    """The headers of a mail to the customer of ``interaction``, or None for another channel's
    interaction (or a business address without a domain).  The subject is the thread's first
    mail's, else ``subject``, else the text's first line."""
    _, at, domain = interaction.business.rpartition("@")
    if interaction.channel != "email" or not at or not domain:
        return None
    digest = hashlib.sha256(f"{interaction.id}\x00{key}".encode()).hexdigest()[:32]
    mails = [m for m in (_mail_of(row.body) for row in ctx.tx.messages_of(interaction.id)) if m]
    token = interaction_token(interaction.id)
    if interaction.case_id:
        case = ctx.tx.get_case(interaction.case_id)
        if case is not None:
            token = case_token(case.number)
    first = next((m["subject"] for m in mails if m.get("subject")), "") or subject \
        or text.strip().split("\n")[0][:_FIRST_LINE]
    latest = mails[-1] if mails else None
    references: list[str] = []
    if latest is not None:
        references = [*latest.get("references", []), latest["message_id"]]
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1):]]
    return OutboundEmail(
        message_id=f"omnisdk.{digest}@{domain.lower()}",
        subject=reply_subject(first, token) if latest else f"{first} {token}".strip(),
        in_reply_to=latest["message_id"] if latest else None,
        references=references,
        automatic=automatic,
    )


def _mail_of(body: dict[str, Any] | None) -> dict[str, Any] | None:
    mail = (body or {}).get("email")
    return mail if isinstance(mail, dict) and mail.get("message_id") else None
