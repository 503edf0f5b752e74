"""Agent-initiated conversations on a channel with messaging profiles (SMS): what happens to the
customer's active interaction and profile when an agent writes first.

ServiceNow's table for agent-initiated SMS ("Conversational SMS service channel"), as the core
applies it; an active interaction is the conversation of the customer's number with the
business number the agent chose (one conversation key):

=================================================  ==============================================
the customer's number has                          then
=================================================  ==============================================
no active interaction                              a new one, assigned to the agent (``created``)
an active one held by this agent                   the message joins it; an offer to this agent is
                                                   accepted first (``reused``)
an active one held by another agent                refused: :class:`InteractionHeldError` names
                                                   the holder (ServiceNow adds the agent to a live
                                                   group; the core has one holder per interaction)
an active one owned by a virtual agent             it is closed, a new one goes to the agent
                                                   (``took_over_virtual_agent``)
a profile of another requester than ``requester``  the active one (if any) is closed, the profile
                                                   deactivated, a new profile made for
                                                   ``requester``, a new interaction assigned to
                                                   the agent (``replaced_requester``)
an active one waiting in a queue                   refused (StateError): accept it from the queue
=================================================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from omnisdk.errors import InteractionHeldError, NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.states import REPLYABLE
from omnisdk.model import Interaction
from omnisdk.model import InteractionState as S
from omnisdk.plugins import PluginHost
from omnisdk.profiles.matching import directory_users, match_requester
from omnisdk.store.rows import MessagingProfile

OUTCOMES = ("created", "reused", "took_over_virtual_agent", "replaced_requester")
"""What an agent-initiated start did (``OutboundStart.outcome``)."""


@dataclass(frozen=True, slots=True)
class OutboundStart:
    """The interaction an agent-initiated start wrote into, and what it did (:data:`OUTCOMES`)."""

    interaction: Interaction
    outcome: str = "created"


@dataclass(frozen=True, slots=True)
class StartDecision:
    """What to do: the requester fields of the interaction, the note to close the active
    interaction with (None: keep it), the interaction to write into (None: a new one) and the
    outcome."""

    fields: dict[str, Any]
    close: str | None
    join: Interaction | None
    outcome: str


def decide_start(ctx: Ctx, host: PluginHost, *, channel: str, customer: str, agent: str,
                 current: Interaction | None, requester: str | None, by: str | None) -> StartDecision:
    """Apply the module's table; the profile changes it makes are written in ``ctx.tx``.

    Raises:
        NotFoundError: ``requester`` is neither in the imported directory nor among the users
            a plugin answers for the number.
        InteractionHeldError: another agent holds ``current``.
        StateError: ``current`` waits in a queue.
    """
    match = match_requester(ctx.tx, host, channel, customer, ctx.iso)
    profile, close, outcome = match.profile, None, "created"
    if requester is not None and requester != profile.user_id:
        if ctx.tx.get_directory_user(requester) is None and \
                requester not in {u.id for u in directory_users(ctx.tx, host, channel, customer)}:
            raise NotFoundError(f"no directory user {requester!r}")
        if profile.user_id is None:  # an anonymous profile names nobody: link it
            profile = replace(profile, user_id=requester, conflict=None, verified_by=by)
            ctx.tx.save_profile(profile)
        else:  # another requester's number now: their interaction closes, their profile retires
            ctx.tx.save_profile(replace(profile, active=False, deactivated_at=ctx.iso))
            old = profile.user_id
            profile = MessagingProfile(new_id(), channel, customer, ctx.iso, user_id=requester, verified_by=by)
            ctx.tx.save_profile(profile)
            ctx.tx.count("profiles.replaced")
            outcome = "replaced_requester"
            if current is not None:
                close = f"the number is {requester}'s now (agent-initiated by {agent}; was {old})"
    elif requester is not None and profile.conflict is not None:  # the agent says who it is
        profile = replace(profile, conflict=None, verified_by=by)
        ctx.tx.save_profile(profile)
    fields = {"requester": profile.user_id, "messaging_profile": profile.id, "profile_conflict": profile.conflict}
    if current is None or close is not None:
        return StartDecision(fields, close, None, outcome)
    if current.virtual_agent:
        return StartDecision(fields, f"taken over from virtual agent {current.virtual_agent} by {agent}"
                                     " (agent-initiated)", None, "took_over_virtual_agent")
    if current.agent == agent and current.state in REPLYABLE | {S.OFFERED}:
        return StartDecision(fields, None, current, "reused")
    if current.agent is not None:
        raise InteractionHeldError(
            f"the customer's conversation on this number is interaction {current.id}, held by agent "
            f"{current.agent}: ask them or a supervisor for a transfer", interaction_id=current.id,
            holder=current.agent)
    raise StateError(f"the customer's conversation on this number is interaction {current.id}, waiting in "
                     f"queue {current.queue or '(none)'}: accept it from there")


__all__ = ["OUTCOMES", "OutboundStart", "StartDecision", "decide_start"]
