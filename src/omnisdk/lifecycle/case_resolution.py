"""A case's resolution sent by email (``POST /v1/cases/{id}/resolution``).

An agent writes the resolution in the case; :func:`send_resolution` then, in one operation:

1. opens an outbound email interaction from the account's business address to the customer's
   address ``to``, held by the agent and linked to the case (or uses the customer's active
   email interaction on that address when this agent holds it);
2. moves the case to ``solution_proposed`` with the resolution as its note: the move's message
   (``[lifecycle] case_update_text``, with the accept and reject links of ``case_links_text``
   when links are signed) is the mail, queued in the outbox and sent by the email plugin, the
   first of its thread with the subject ``case_resolution_subject`` and the case's
   ``[Case:CS…]`` token; its Message-ID is indexed at once, so the customer's reply threads by
   ``In-Reply-To`` / ``References``;
3. adds ``to`` to the case's ``contacts``: mail from it counts as the customer's
   (:mod:`omnisdk.lifecycle.case_mail`; a reply ``ACCEPT`` resolves the case, and closes it with
   ``case_accept_closes``);
4. parks the new interaction (``on_hold``): the agent's capacity is free while the customer
   reads, and the customer's reply brings the conversation back to them.
"""

from __future__ import annotations

from email.headerregistry import Address

from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.case_states import CaseTexts, move_case
from omnisdk.lifecycle.cases import attach_to_case
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.states import REPLYABLE
from omnisdk.lifecycle.transitions import created, move
from omnisdk.model import CASE_TRANSITIONS, Case, CaseState, Direction, Interaction
from omnisdk.model import InteractionState as S


def mail_address(value: str) -> str:
    """``value`` as a lower-case addr-spec (``jane@example.com``; RFC 5322 section 3.4.1).

    Raises:
        ValueError: not one address with a local part and a domain (a display name, a list,
            header injection, no ``@``).
    """
    text = value.strip()
    if not text or any(c in text for c in "\r\n<>,; \t"):
        raise ValueError(f"{value!r} is not an email address")
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError):
        raise ValueError(f"{value!r} is not an email address") from None
    if not parsed.username or "." not in parsed.domain:
        raise ValueError(f"{value!r} is not an email address")
    return parsed.addr_spec.lower()


def known_address(case: Case) -> str | None:
    """The customer's email address as the case knows it: its first contact, its customer when
    that is an address (a case from a mail), else the ``email`` an identified web chat visitor's
    portal vouched for (``extra.identity.email`` of a copied message); None if none."""
    for candidate in [*(case.contacts or ()), case.customer]:
        try:
            return mail_address(candidate)
        except ValueError:
            continue
    for record in case.history or ():
        identity = ((record.body or {}).get("extra") or {}).get("identity") or {}
        email = identity.get("email") if isinstance(identity, dict) else None
        if isinstance(email, str):
            try:
                return mail_address(email)
            except ValueError:
                continue
    return None


def send_resolution(ctx: Ctx, actions: AgentActions, case_id: str, *, agent: str, source: str, channel: str,
                    business: str, to: str, key: str, text: str, texts: CaseTexts,
                    subject: str) -> tuple[Case, Interaction]:
    """Send the resolution ``text`` of a case (id or number) by email to ``to`` (a checked
    addr-spec) from ``business`` through the account ``source`` (see the module docstring;
    ``key`` is the conversation key of ``source``, ``business`` and ``to``).  Returns the case
    and the email interaction after it.

    Raises:
        NotFoundError: unknown case.
        StateError: the case cannot move to ``solution_proposed`` (it is proposed already,
            resolved or closed); the customer's active email interaction on that address is
            held by someone else or waits in a queue.
        CapacityError: the agent has no free email capacity for the new interaction.
    """
    case = ctx.tx.get_case(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    if CaseState.SOLUTION_PROPOSED not in CASE_TRANSITIONS[case.state]:
        raise StateError(f"case {case.number} is {case.state.value}: no resolution can be proposed")
    current = ctx.tx.active_interaction(key)
    fresh = current is None
    if current is not None:
        current = ctx.get(current.id) or current
        if current.agent != agent or current.state not in REPLYABLE:
            raise StateError(f"{to} has an active email interaction {current.id} ({current.state.value}) that "
                             f"{agent} does not hold: send the resolution from there")
        inter = current
    else:
        inter = Interaction(id=new_id(), channel=channel, direction=Direction.OUTBOUND, state=S.NEW,
                            conversation_key=key, source=source, customer=to, business=business,
                            created_at=ctx.now, updated_at=ctx.now)
        created(ctx, inter, agent, f"resolution of case {case.number}")
        actions.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
        inter = move(ctx, inter, S.OFFERED, agent=agent, offered_at=ctx.now, offer_seq=1)
        inter = move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=agent)
    # the interaction goes last in the case's list: the move's message goes through it
    ids = [i for i in case.interaction_ids if i != inter.id]
    contacts = [c for c in case.contacts or () if c != to] + [to]
    case = case.model_copy(update={"interaction_ids": ids, "contacts": contacts})
    inter, case = attach_to_case(ctx, inter, case)
    try:
        title = subject.format(number=case.number, subject=case.subject).strip() or None
    except (KeyError, IndexError, ValueError):  # a template naming other fields: the case's own subject
        title = case.subject
    case = move_case(ctx, case.id, CaseState.SOLUTION_PROPOSED, by=agent, note=text, texts=texts, subject=title)
    if fresh:
        inter = actions.hold(ctx, inter.id, agent)
    return case, inter
