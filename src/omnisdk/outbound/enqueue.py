"""Putting a message in the outbox: the one public way the core queues a send.

Every text the core sends to a customer (an agent's reply, the first message of an outbound
interaction, the acknowledgement of a new interaction, a bot's answer, a reminder, a messaging
action's notice, a case notification) is one outbox row written by :func:`enqueue_text`, in the
transaction of the operation that decided to send it.  The
:class:`~omnisdk.outbound.outbox.OutboxWorker` sends the row after the commit, through the
adapter of the interaction's account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnisdk.errors import OptedOutError, WindowClosedError
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction
from omnisdk.observability.tracing import remember_send
from omnisdk.outbound.email_headers import email_headers
from omnisdk.outbound.notices import Notice, reaches_customer
from omnisdk.store.protocols import ContactStore


def window_closes_at(windows: Mapping[str, float], tx: ContactStore, source: str, customer: str) -> float | None:
    """When the customer-service window of ``customer`` on the account ``source`` closes (epoch
    seconds, UTC): ``None`` when the account's channel has no window (``windows``: seconds by
    source); ``0.0`` when the customer never wrote to the account (closed)."""
    seconds = windows.get(source)
    if seconds is None:
        return None
    last = tx.last_inbound(source, customer)
    return 0.0 if last is None else last + seconds


def _opted_out(interaction: Interaction) -> OptedOutError:
    return OptedOutError(f"the customer at {interaction.customer} opted out on {interaction.channel} "
                         "(STOP): nothing may be sent until they opt in again (START)")


def _window_allows(ctx: Ctx, interaction: Interaction, automatic: bool) -> bool:
    """A free-form message may go now; an automatic one is dropped (False) otherwise.

    Raises:
        WindowClosedError: it may not, and a person asked for it.
    """
    closes_at = window_closes_at(ctx.windows, ctx.tx, interaction.source, interaction.customer)
    if closes_at is None or ctx.ts < closes_at:
        return True
    if automatic:
        ctx.tx.count("outbound.suppressed.window_closed")
        return False
    when = "never wrote to this account" if not closes_at else "last wrote too long ago"
    raise WindowClosedError(f"the customer-service window of {interaction.customer} on {interaction.source} is "
                            f"closed (the customer {when}): only a template may be sent",
                            closes_at=closes_at or None)


def enqueue_template(ctx: Ctx, interaction: Interaction, template: dict[str, Any], key: str) -> bool:
    """Queue a pre-approved template (``{"name", "language", "components"}``, WhatsApp's message
    templates) for the customer of ``interaction``: allowed whether or not the service window
    is open.  Returns and raises as :func:`enqueue_text` (OptedOutError)."""
    if ctx.tx.opted_out(interaction.channel, interaction.customer):
        raise _opted_out(interaction)
    payload: dict[str, object] = {"customer": interaction.customer, "business": interaction.business,
                                  "template": template, "interaction_id": interaction.id}
    return _add_row(ctx, interaction, key, payload, dict(payload))


def _add_row(ctx: Ctx, interaction: Interaction, key: str, payload: dict[str, object],
             request: dict[str, object], caller: str | None = None) -> bool:
    """The outbox row itself, through the interaction's account; True when it is new (the
    worker is woken after the commit, and the send span will have this operation's as parent).
    ``key`` is unique per interaction and ``caller``."""
    plugin, _, account = interaction.source.strip("/").partition("/")
    added = ctx.tx.enqueue_outbox(idempotency_key=key, plugin=plugin, account=account,
                                  interaction_id=interaction.id, payload=payload, now=ctx.ts, request=request,
                                  caller=caller)
    if added:
        ctx.outbox += 1
        remember_send(interaction.id, key)  # the send span's parent: the span queuing it, if recorded
    return bool(added)


def enqueue_read_receipt(ctx: Ctx, interaction: Interaction) -> bool:
    """Queue a read receipt for the customer's latest message on ``interaction`` (an agent
    accepted it or replied), on accounts whose plugin sends them (``ctx.receipts``).

    The row's payload is ``{"read_receipt": <provider message id>, "customer", "business",
    "interaction_id"}``; the outbox calls :meth:`omnisdk.adapters.ChannelAdapter.mark_read`
    instead of ``send``, records no message, and neither consent nor the service window stops
    it (it is no message to the customer).  The key ``read:<message id>`` is unique per
    interaction: a second accept or reply after the same customer message queues nothing.

    Returns:
        True if a row was added; False when the account sends no receipts, the interaction has
        no customer message yet, or this one was queued already.
    """
    if interaction.source not in ctx.receipts:
        return False
    latest = next((m.message_id for m in reversed(ctx.tx.messages_of(interaction.id)) if m.direction == "inbound"),
                  None)
    if latest is None:
        return False
    payload: dict[str, object] = {"read_receipt": latest, "customer": interaction.customer,
                                  "business": interaction.business, "interaction_id": interaction.id}
    return _add_row(ctx, interaction, f"read:{latest}", payload, dict(payload))


def enqueue_text(ctx: Ctx, interaction: Interaction, text: str | None, key: str, *, automatic: bool = False,
                 subject: str | None = None, content: dict[str, Any] | None = None,
                 caller: str | None = None, notice: Notice | None = None) -> bool:
    """Queue ``text`` for the customer of ``interaction`` under the idempotency key ``key``,
    which is unique per interaction and ``caller`` (who asked, e.g. the agent API principal's
    ``subject``; None for the core's own texts and the Python API).

    ``automatic``: the core sends it on its own (an acknowledgement, a bot's answer, a reminder,
    a notification), not a person.  On channel ``email`` the payload also carries the headers
    the core fixes (:mod:`omnisdk.outbound.email_headers`: Message-ID, subject with our token,
    In-Reply-To, References, and ``automatic``, which the mail states with ``Auto-Submitted``),
    and the Message-ID is indexed for threading in the same transaction.  ``subject`` is the
    first mail's subject of a thread that has none yet (a draft's).  ``content`` adds
    :data:`omnisdk.adapters.RICH_CONTENT` fields (buttons, a list, a location …) to the payload;
    the caller has checked the channel takes them, and the outbox checks again.  ``notice``
    says which of the core's own texts it is (:class:`~omnisdk.outbound.notices.Notice`): one
    the channel's customers do not see (:func:`~omnisdk.outbound.notices.reaches_customer`:
    on sms, only a subset) is not queued and is counted ``outbound.suppressed.system_message``.

    The row is sent through the account named by ``interaction.source`` (``/{plugin}/{account}``)
    from ``interaction.business`` to ``interaction.customer``; its payload is an
    :class:`omnisdk.adapters.OutboundMessage` (``customer``, ``business``, ``text``,
    ``interaction_id``), due at once (``ctx.ts``, epoch seconds).  The outbox worker is woken
    after the commit (``ctx.outbox`` counts the rows added).

    Returns:
        True if a row was added; False if ``key`` is already in the outbox (a repeated request:
        nothing more is sent).

    A customer who opted out (SMS STOP, ``Message.consent``) gets nothing: an automatic text is
    dropped (counted ``outbound.suppressed.opted_out``), any other refused.  So is a text
    outside the customer-service window of a channel that has one (:func:`window_closes_at`;
    counted ``outbound.suppressed.window_closed``).

    Raises:
        OptedOutError: the customer opted out and ``automatic`` is False (HTTP 409).
        WindowClosedError: the window is closed and ``automatic`` is False (HTTP 409).
        Whatever the store's ``enqueue_outbox`` raises, unchanged: for example
        :class:`omnisdk.store.errors.IdempotencyConflict` when ``key`` was used before with a
        different payload.
    """
    if automatic and not reaches_customer(interaction.channel, notice):  # an internal notice there
        ctx.tx.count("outbound.suppressed.system_message")
        return False
    if ctx.tx.opted_out(interaction.channel, interaction.customer):
        if automatic:  # the core's own message: not sent, and no error for the operation that made it
            ctx.tx.count("outbound.suppressed.opted_out")
            return False
        raise _opted_out(interaction)
    if not _window_allows(ctx, interaction, automatic):
        return False
    payload: dict[str, object] = {"customer": interaction.customer, "business": interaction.business,
                                  "text": text, "interaction_id": interaction.id, **(content or {})}
    mail = email_headers(ctx, interaction, text or "", key, automatic=automatic, subject=subject)
    request = dict(payload)  # what was asked: the mail's headers are the core's, derived from the thread
    if mail is not None:
        payload["email"] = mail.model_dump()
    added = _add_row(ctx, interaction, key, payload, request, caller)
    if added and mail is not None:
        ctx.tx.index_message_ids(interaction.source, interaction.id, interaction.conversation_key,
                                 [mail.message_id], "outbound")
    return added
