"""An agent links a messaging profile to its requester by hand: how a flagged conflict is
resolved (never by a merge; docs/sms.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from omnisdk.errors import NotFoundError, StateError
from omnisdk.lifecycle.context import Ctx
from omnisdk.plugins import PluginHost
from omnisdk.profiles.matching import directory_users
from omnisdk.store.rows import MessagingProfile


def link_profile(ctx: Ctx, host: PluginHost, profile_id: str, user: str | None, by: str,
                 sources: Iterable[str]) -> MessagingProfile:
    """Link the active profile ``profile_id`` to directory user ``user`` (None: an anonymous
    requester), clear its conflict and record ``by`` (the caller) as who verified it; the
    active interactions of its address on the accounts ``sources`` that carry this profile
    get the requester and lose their flag.  Returns the profile as saved.

    Raises:
        NotFoundError: no such profile, or ``user`` is neither in the imported directory nor
            among the users a plugin answers for the address.
        StateError: the profile was deactivated (a newer one holds the address).
    """
    profile = ctx.tx.get_profile(profile_id)
    if profile is None:
        raise NotFoundError(f"no messaging profile {profile_id}")
    if not profile.active:
        raise StateError(f"messaging profile {profile_id} was deactivated at {profile.deactivated_at}")
    if user is not None and ctx.tx.get_directory_user(user) is None and \
            user not in {u.id for u in directory_users(ctx.tx, host, profile.channel, profile.address)}:
        raise NotFoundError(f"no directory user {user!r}")
    linked = replace(profile, user_id=user, conflict=None, verified_by=by)
    ctx.tx.save_profile(linked)
    ctx.tx.count("profiles.linked")
    for source in sources:
        for inter in ctx.tx.active_interactions_of(source, profile.channel, profile.address):
            if inter.messaging_profile == profile.id:
                ctx.put(inter.model_copy(update={"requester": user, "profile_conflict": None,
                                                 "updated_at": ctx.now}))
    return linked


__all__ = ["link_profile"]
