"""The context an inbound call's offer carries: who is calling.

:func:`caller_context` matches the caller's number to a contact (their ``voice`` address, else
the same number on ``sms`` or ``whatsapp``, written with or without the ``+``), and lists their
open cases and their most recent interactions on any channel.  It runs when the call rings,
inside the same transaction, and the result is kept in ``interaction.context["caller"]``, so the
``io.omnisdk.interaction.offered`` event (whose ``data`` is the interaction) carries it to the
agent before they answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omnisdk.lifecycle.context import Ctx
from omnisdk.model import CaseState

PHONE_CHANNELS = ("voice", "sms", "whatsapp")
"""Channels whose addresses are phone numbers, in the order a caller is matched."""
RECENT = 5
"""How many recent interactions the offer carries."""
_CASES_LOOKED_AT = 20


def _spellings(number: str) -> tuple[str, ...]:
    bare = number.removeprefix("+")
    return (number, bare) if bare != number else (number, "+" + number)


def _iso(stored: str) -> str:
    """A stored RFC 3339 time (``…Z``) as ``datetime.isoformat`` writes it (``…+00:00``): the
    offer's ``created_at`` keeps the shape it had when it was read from whole interactions."""
    return datetime.fromisoformat(stored.replace("Z", "+00:00")).isoformat()


def match_contact(ctx: Ctx, number: str) -> str | None:
    """The contact id behind ``number`` on a phone channel (see the module docstring), or None."""
    for channel in PHONE_CHANNELS:
        for spelling in _spellings(number):
            found = ctx.tx.contact_of(channel, spelling)
            if found:
                return found
    return None


def caller_context(ctx: Ctx, number: str, contact_id: str | None) -> dict[str, Any]:
    """``{"number", "contact": {id, display_name, addresses} | None, "open_cases": [...],
    "recent_interactions": [...]}`` for the caller at ``number`` (E.164), whose contact is
    ``contact_id`` (:func:`match_contact`'s answer, which the caller of this has already
    asked; None: no contact).

    ``open_cases`` are the cases (``{id, number, subject, state}``) linked to the contact's
    interactions that are not ``closed`` or ``resolved``; ``recent_interactions`` the newest
    :data:`RECENT` of them (``{id, channel, state, created_at, wrap_up_code, case_id}``).
    """
    contact = ctx.tx.get_contact(contact_id) if contact_id else None
    addresses = list(contact.addresses) if contact is not None else []
    if ("voice", number) not in addresses:
        addresses.append(("voice", number))
    # summaries read from columns, not whole interactions: validating up to 20 past documents,
    # then parsing them, was most of an incoming call's processing time (bench/README.md)
    interactions = ctx.tx.recent_of_addresses(addresses, _CASES_LOOKED_AT)
    case_ids = list(dict.fromkeys(i.case_id for i in interactions if i.case_id))  # newest first, once
    found = {c.id: c for c in ctx.tx.case_summaries(case_ids)}  # one read, not one per case
    cases = [{"id": c.id, "number": c.number, "subject": c.subject, "state": c.state.value}
             for c in (found.get(case_id) for case_id in case_ids)
             if c is not None and c.state not in (CaseState.CLOSED, CaseState.RESOLVED)]
    recent = [{"id": i.id, "channel": i.channel, "state": i.state, "created_at": _iso(i.created_at),
               "wrap_up_code": i.wrap_up_code, "case_id": i.case_id} for i in interactions[:RECENT]]
    return {
        "number": number,
        "contact": None if contact is None else {
            "id": contact.id, "display_name": contact.display_name,
            "addresses": [{"channel": c, "value": v} for c, v in contact.addresses]},
        "open_cases": cases,
        "recent_interactions": recent,
    }
