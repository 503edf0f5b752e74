"""Messaging profiles (``/v1/messaging-profiles``): which requester writes from a number
(docs/sms.md).  Agents find the flagged ones (``?flagged=true``: a number two directory users
share, a linked user whose directory phones no longer include it …) and resolve them by
linking the profile to the right user; nothing is ever merged on its own.

Reading needs ``interactions:read``; linking needs ``contacts:merge`` (agents up) and is in the
audit log; the profile records who linked it (``verified_by``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from omnisdk.access.principals import Principal, Scope
from omnisdk.errors import NotFoundError
from omnisdk.gateway.auth import need
from omnisdk.gateway.schemas import ErrorBody
from omnisdk.store.rows import MessagingProfile

router = APIRouter(prefix="/messaging-profiles", tags=["contacts"])
Reader = Annotated[Principal, need(Scope.INTERACTIONS_READ)]
Linker = Annotated[Principal, need(Scope.CONTACTS_MERGE)]
ProfileId = Annotated[str, Path(max_length=64, description="The profile's id.")]


class DirectoryUserInfo(BaseModel):
    """A user of the directory (``omnisdk import directory``, or a CRM's answer)."""

    id: str
    name: str | None = None
    phones: list[str] = Field(description="E.164.")
    emails: list[str]


class ProfileInfo(BaseModel):
    """A messaging profile: an address on a channel and the requester it links to."""

    id: str
    channel: str
    address: str = Field(description="E.164 on sms.")
    user_id: str | None = Field(description="The directory user; None: an anonymous requester.")
    active: bool = Field(description="False once a newer profile holds the address.")
    conflict: str | None = Field(description="Why an agent must check it; None: nothing to check.")
    created_at: str = Field(description="RFC 3339 UTC.")
    deactivated_at: str | None = None
    verified_by: str | None = Field(None, description="Who linked it by hand (key:<id>, oidc:<sub>).")
    user: DirectoryUserInfo | None = Field(None, description="The linked user as the imported directory has them.")


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(min_length=1, max_length=128, description=(
        "The directory user the number belongs to; null: an anonymous requester."))


def profile_doc(profile: MessagingProfile, user: Any = None) -> dict[str, Any]:
    """A profile in the API's shape, with its directory user when given."""
    doc = asdict(profile)
    doc["user"] = {**asdict(user), "phones": list(user.phones), "emails": list(user.emails)} if user else None
    return doc


@router.get("", response_model=list[ProfileInfo])
async def list_profiles(
    request: Request, principal: Reader,
    flagged: Annotated[bool, Query(description="Only profiles with a conflict to check.")] = False,
    channel: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this channel's.")] = None,
    address: Annotated[str | None, Query(min_length=1, max_length=320, description=(
        "Only this address's (active and deactivated).") )] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many (1–500).")] = 100,
) -> Any:
    """Messaging profiles, newest first."""
    rows = await request.app.state.runtime.store.transact(
        lambda tx: tx.list_profiles(flagged=flagged, channel=channel, address=address, limit=limit))
    return [profile_doc(p) for p in rows]


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


@router.get("/{profile_id}", response_model=ProfileInfo, responses={404: _err("No such profile.")})
async def get_profile(request: Request, principal: Reader, profile_id: ProfileId) -> Any:
    """One profile with its directory user."""

    def read(tx: Any) -> Any:
        profile = tx.get_profile(profile_id)
        return profile, (tx.get_directory_user(profile.user_id) if profile and profile.user_id else None)

    profile, user = await request.app.state.runtime.store.transact(read)
    if profile is None:
        raise NotFoundError(f"no messaging profile {profile_id}")
    return profile_doc(profile, user)


@router.post("/{profile_id}/link", response_model=ProfileInfo, responses={
    404: _err("No such profile, or a user neither the directory nor a CRM plugin knows."),
    409: _err("The profile was deactivated (a newer one holds the number).")})
async def link_profile(request: Request, principal: Linker, profile_id: ProfileId, body: LinkRequest) -> Any:
    """Link the profile to the directory user the number belongs to (or to nobody): its
    conflict is cleared, the customer's active interactions with it get that requester, and
    the choice stands against the directory from then on (404 for an unknown user, 409 for a
    deactivated profile)."""
    runtime = request.app.state.runtime
    linked = await runtime.link_profile(profile_id, body.user, by=principal.subject)
    user = await runtime.store.transact(lambda tx: tx.get_directory_user(body.user)) if body.user else None
    return profile_doc(linked, user)


__all__ = ["DirectoryUserInfo", "ProfileInfo", "profile_doc", "router"]
