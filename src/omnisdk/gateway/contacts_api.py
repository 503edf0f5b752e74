"""Contacts across channels (``/v1/contacts``): one contact holds addresses on several
channels (a phone number on sms and whatsapp, a mail address, a LINE user id, a PSID …); its
page lists its interactions on every channel; an agent merges two contacts, and a merge is
kept and can be undone.

Reading a contact needs ``interactions:read`` (its interactions are filtered by the caller's
reach, :func:`omnisdk.access.policy.may_read`); merging and undoing need ``contacts:merge``.
Both moves are in the audit log, and the merge record names who made it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from omnisdk.access.policy import may_read
from omnisdk.access.principals import Principal, Scope
from omnisdk.errors import NotFoundError
from omnisdk.events import now_rfc3339
from omnisdk.gateway.auth import need
from omnisdk.gateway.profiles_api import ProfileInfo, profile_doc
from omnisdk.model import Interaction
from omnisdk.profiles.matching import PROFILE_CHANNELS
from omnisdk.store.rows import ContactRow, MergeRow

router = APIRouter(prefix="/contacts", tags=["contacts"])
Reader = Annotated[Principal, need(Scope.INTERACTIONS_READ)]
Merger = Annotated[Principal, need(Scope.CONTACTS_MERGE)]
ContactId = Annotated[str, Path(max_length=64, description="The contact's id.")]
INTERACTIONS_SHOWN = 50


class Address(BaseModel):
    channel: str = Field(description="whatsapp, sms, email, line, messenger …")
    value: str = Field(description="The address on that channel (E.164, mail address, user id …).")


class ContactDetail(BaseModel):
    """A contact, its addresses and its latest interactions on every channel."""

    id: str
    display_name: str | None = None
    created_at: str = Field(description="RFC 3339 UTC.")
    addresses: list[Address]
    interactions: list[Interaction] = Field(description=(
        f"The newest {INTERACTIONS_SHOWN} on any of its addresses that the caller may see."))
    messaging_profiles: list[ProfileInfo] = Field(default_factory=list, description=(
        "The active messaging profile of each of its sms numbers: the requester it links to, and "
        "a conflict an agent must check (docs/sms.md)."))


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: str = Field(min_length=1, max_length=64, description="The contact to merge into this one.")


class MergeInfo(BaseModel):
    """One merge: what moved, who did it, when; ``undone_at`` once undone."""

    id: str
    kept: str
    absorbed: str
    addresses: list[Address]
    at: str
    by: str = Field(description="The caller who merged (key:<id> or oidc:<sub>).")
    undone_at: str | None = None


def _addresses(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"channel": c, "value": v} for c, v in pairs]


def _merge(row: MergeRow) -> dict[str, Any]:
    return {**asdict(row), "addresses": _addresses(row.addresses)}


async def _detail(request: Request, principal: Principal, contact: ContactRow) -> dict[str, Any]:
    runtime = request.app.state.runtime
    found = await runtime.store.transact(
        lambda tx: tx.interactions_of_addresses(contact.addresses, INTERACTIONS_SHOWN * 4))
    seen = [i for i in found if may_read(principal, i, runtime.engine.agents)][:INTERACTIONS_SHOWN]

    def profiles(tx: Any) -> list[dict[str, Any]]:
        active = [tx.active_profile(c, v) for c, v in contact.addresses if c in PROFILE_CHANNELS]
        return [profile_doc(p, tx.get_directory_user(p.user_id) if p.user_id else None) for p in active if p]

    return {"id": contact.id, "display_name": contact.display_name, "created_at": contact.created_at,
            "addresses": _addresses(contact.addresses), "interactions": seen,
            "messaging_profiles": await runtime.store.transact(profiles)}


@router.get("", response_model=ContactDetail)
async def find_contact(
    request: Request, principal: Reader,
    channel: Annotated[str, Query(min_length=1, max_length=64, description="The address's channel.")],
    address: Annotated[str, Query(min_length=1, max_length=320, description="The address on it.")],
) -> Any:
    """The contact writing from an address (404 when nobody does)."""
    store = request.app.state.runtime.store
    contact_id = await store.transact(lambda tx: tx.contact_of(channel, address))
    contact = await store.transact(lambda tx: tx.get_contact(contact_id)) if contact_id else None
    if contact is None:
        raise NotFoundError(f"no contact writes from {channel} {address}")
    return await _detail(request, principal, contact)


@router.get("/{contact_id}", response_model=ContactDetail)
async def get_contact(request: Request, principal: Reader, contact_id: ContactId) -> Any:
    """A contact with its addresses and its interactions on every channel."""
    contact = await request.app.state.runtime.store.transact(lambda tx: tx.get_contact(contact_id))
    if contact is None:
        raise NotFoundError(f"no contact {contact_id}")
    return await _detail(request, principal, contact)


@router.post("/{contact_id}/merge", response_model=MergeInfo)
async def merge_contacts(request: Request, principal: Merger, contact_id: ContactId, body: MergeRequest) -> Any:
    """Merge ``body.contact`` into this contact: every address of it moves here (recorded;
    ``POST /v1/contacts/merges/{id}/undo`` moves them back)."""
    at = now_rfc3339()
    row = await request.app.state.runtime.store.transact(
        lambda tx: tx.merge_contacts(contact_id, body.contact, at, principal.subject))
    return _merge(row)


@router.post("/merges/{merge_id}/undo", response_model=MergeInfo)
async def undo_merge(request: Request, principal: Merger,
                     merge_id: Annotated[str, Path(max_length=64, description="The merge's id.")]) -> Any:
    """Undo a merge: the addresses it moved (those still on the kept contact) go back."""
    at = now_rfc3339()
    return _merge(await request.app.state.runtime.store.transact(lambda tx: tx.undo_merge(merge_id, at)))


__all__ = ["router"]
