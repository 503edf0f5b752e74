"""Messaging profiles: which requester writes from an inbound number (ServiceNow's
Conversational SMS rules; docs/sms.md).

A profile links an address on a channel (an E.164 number on sms) to a directory user, or to
nobody (an anonymous requester).  When a message opens an interaction, :func:`match_requester`
applies the rules, with the directory a plugin answers (``omnisdk_lookup_requester``, a CRM)
or else the one imported with ``omnisdk import directory``:

================================================  ==============================================
the number                                        then
================================================  ==============================================
is one directory user's, no profile               a profile is made, linked to that user
has a profile, no directory match                 the profile's requester (anonymous if unlinked)
has neither                                       a new, unlinked profile: an anonymous requester
conflicts (two directory users share it; the      the requester stays the profile's (or none);
linked user's directory phones no longer include  the profile and the interaction are flagged
it; the profile says one user, the directory      (``conflict``) for an agent, who links the
another)                                          profile by hand: never merged silently
================================================  ==============================================

An unlinked profile whose number now matches exactly one directory user is linked to it (an
anonymous profile names nobody it could conflict with).  A profile an agent linked by hand
(``verified_by``) keeps its requester whatever the directory says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from omnisdk.ids import new_id
from omnisdk.model.directory import DirectoryUser
from omnisdk.plugins import PluginHost
from omnisdk.store.protocols import ProfileStore
from omnisdk.store.rows import MessagingProfile

log = logging.getLogger("omnisdk.profiles")

PROFILE_CHANNELS: frozenset[str] = frozenset({"sms"})
"""The channels whose customers get messaging profiles (their addresses are E.164 numbers)."""


@dataclass(frozen=True, slots=True)
class RequesterMatch:
    """The outcome of matching an address: the profile as saved, the requester (a directory
    user id, None for an anonymous one), the requester's name when the directory has it, the
    conflict an agent must check (None when there is none) and the rule that decided
    (``directory``, ``profile``, ``new``, ``conflict``, ``verified``)."""

    profile: MessagingProfile
    requester: str | None
    name: str | None
    conflict: str | None
    rule: str

    def fields(self) -> dict[str, str | None]:
        """The interaction fields the match sets."""
        return {"requester": self.requester, "messaging_profile": self.profile.id,
                "profile_conflict": self.conflict}


def directory_users(tx: ProfileStore, host: PluginHost, channel: str, address: str) -> list[DirectoryUser]:
    """The directory users with this address: a plugin's answer, else the imported directory's.
    A plugin that raises, or answers something else than a list of DirectoryUser, is logged
    and the imported directory answers: a broken CRM never loses a customer's message."""
    try:
        answered = host.omnisdk_lookup_requester(channel, address)
    except Exception as exc:  # noqa: BLE001 - a plugin's failure; the message must still thread
        log.warning("omnisdk_lookup_requester failed (%s): the imported directory answers", type(exc).__name__)
        answered = None
    return answered if answered is not None else tx.directory_users_with_phone(address)


def _names(users: list[DirectoryUser]) -> str:
    return ", ".join(u.id for u in users)


def match_requester(tx: ProfileStore, host: PluginHost, channel: str, address: str, now: str) -> RequesterMatch:
    """Apply the rules of the module docstring to ``address`` on ``channel`` and save the
    profile they leave (made, linked, flagged or cleared); ``now`` is RFC 3339 UTC."""
    users = directory_users(tx, host, channel, address)
    by_id = {u.id: u for u in users}
    profile = tx.active_profile(channel, address)
    if profile is None:
        if len(users) > 1:
            conflict = f"the number is on {len(users)} directory users ({_names(users)}): link the right one"
            return _saved(tx, None, MessagingProfile(new_id(), channel, address, now, conflict=conflict), None,
                          "conflict")
        user = users[0] if users else None
        made = MessagingProfile(new_id(), channel, address, now, user_id=user.id if user else None)
        return _saved(tx, None, made, user, "directory" if user else "new")
    if profile.verified_by is not None:
        user = by_id.get(profile.user_id or "") or (tx.get_directory_user(profile.user_id) if profile.user_id else None)
        return _saved(tx, profile, replace(profile, conflict=None), user, "verified")
    if profile.user_id is None:
        if len(users) == 1:
            return _saved(tx, profile, replace(profile, user_id=users[0].id, conflict=None), users[0], "directory")
        if len(users) > 1:
            conflict = f"the number is on {len(users)} directory users ({_names(users)}): link the right one"
            return _saved(tx, profile, replace(profile, conflict=conflict), None, "conflict")
        return _saved(tx, profile, replace(profile, conflict=None), None, "profile")
    linked = by_id.get(profile.user_id)
    if linked is not None and len(users) == 1:
        return _saved(tx, profile, replace(profile, conflict=None), linked, "directory")
    if linked is not None:
        conflict = (f"the number is on {len(users)} directory users ({_names(users)}); the profile says "
                    f"{profile.user_id}: check it")
        return _saved(tx, profile, replace(profile, conflict=conflict), linked, "conflict")
    if users:
        conflict = (f"the profile says {profile.user_id}, the directory says {_names(users)}: "
                    "link the right one")
        return _saved(tx, profile, replace(profile, conflict=conflict), None, "conflict")
    known = tx.get_directory_user(profile.user_id)
    if known is not None and address not in known.phones:
        conflict = f"directory user {profile.user_id}'s phones no longer include the number: check it"
        return _saved(tx, profile, replace(profile, conflict=conflict), known, "conflict")
    return _saved(tx, profile, replace(profile, conflict=None), known, "profile")


def _saved(tx: ProfileStore, before: MessagingProfile | None, profile: MessagingProfile,
           user: DirectoryUser | None, rule: str) -> RequesterMatch:
    """Save the profile when it differs from ``before`` (None: it is new).  The requester is
    always the profile's user (on a conflict too: ServiceNow keeps the user the number is
    associated with); ``user`` is the directory's record of them, for their name."""
    if profile != before:
        tx.save_profile(profile)
    return RequesterMatch(profile, profile.user_id, user.name if user else None, profile.conflict, rule)


__all__ = ["PROFILE_CHANNELS", "RequesterMatch", "directory_users", "match_requester"]
