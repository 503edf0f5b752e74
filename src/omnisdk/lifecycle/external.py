"""Routing events from CCaaS connectors, applied to externally routed interactions.

A :class:`omnisdk.connectors.CCaaSConnector` parses its platform's webhooks into
``io.omnisdk.routing.*`` events; the processor hands them to :func:`apply_routing_event`, in the
same transaction as any inbound event (so a redelivered webhook changes nothing: the inbox
deduplicates it first).

- ``routing.assigned`` → :meth:`AgentActions.assign` (``queued → offered``); an interaction already
  offered to another agent is offered to the new one (the CCaaS re-routed it); the CCaaS's
  conversation id (``external_id``) is kept in ``interaction.context["external_id"]``;
- ``routing.accepted`` → :meth:`AgentActions.accept` (``offered → work_in_progress``), assigning
  first when the ``assigned`` webhook was lost or came late;
- ``routing.ended`` → :meth:`AgentActions.close` with the wrap-up code the connector mapped back
  (the default code when it is None or not configured), without telling the CCaaS back.
  An ``ended`` for an interaction already closed changes nothing (counter ``routing.ignored``).

**The CCaaS's conversation id** (``external_id``, which every routing event may carry) binds an
interaction to one CCaaS conversation: the first event that names one records it in
``interaction.context["external_id"]`` (normally ``routing.assigned``); every later event that
names another is refused with :class:`RoutingRefused` (counter ``routing.mismatch``), so a body
signed by the right account but naming the wrong conversation (a replay of another
conversation's event with our id pasted in, a bug in the CCaaS's workflow) changes nothing.  An
event naming an interaction we do not have is refused too (counter ``routing.unknown``), and
never opens one.

The core holds no capacity for these interactions and arms no offer timer: both are the
CCaaS's business.  Refused (the event is kept with the reason, counter ``events.failed``):
an unknown interaction (``NotFoundError``), one the core routes itself, one whose queue is not
routed by the event's own connector account (another connector, another account of the same
plugin, a queue that no longer exists), or a move the state machine forbids (``StateError``).
"""

from __future__ import annotations

from omnisdk import events as ev
from omnisdk.catalog import RoutingAcceptedData, RoutingAssignedData, RoutingEndedData
from omnisdk.errors import NotFoundError, StateError
from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction, RoutingSource
from omnisdk.model import InteractionState as S
from omnisdk.outbound.connector_calls import routing_connector

ROUTING_TYPES = frozenset({ev.TYPE_ROUTING_ASSIGNED, ev.TYPE_ROUTING_ACCEPTED, ev.TYPE_ROUTING_ENDED})
"""The event types :func:`apply_routing_event` handles."""


class RoutingRefused(StateError):
    """A routing event the core does not apply; ``counter`` names the store counter it adds
    (the processor counts it beside ``events.failed``)."""

    def __init__(self, message: str, counter: str) -> None:
        super().__init__(message)
        self.counter = counter


class UnknownInteraction(NotFoundError):
    """A routing event naming an interaction we do not have (counter ``routing.unknown``)."""

    counter = "routing.unknown"


def _bind_conversation(ctx: Ctx, inter: Interaction, external_id: str | None) -> Interaction:
    """``inter`` bound to the CCaaS conversation ``external_id`` (recorded the first time).

    Raises:
        RoutingRefused: ``inter`` is bound to another conversation (counter ``routing.mismatch``).
    """
    if not external_id:
        return inter
    known = inter.context.get("external_id")
    if known == external_id:
        return inter
    if known:
        raise RoutingRefused(f"interaction {inter.id} belongs to another CCaaS conversation than the event's",
                             "routing.mismatch")
    bound = inter.model_copy(update={"context": {**inter.context, "external_id": external_id}})
    ctx.put(bound)
    return bound


def apply_routing_event(ctx: Ctx, actions: AgentActions, event: ev.Event) -> None:
    """Apply one ``io.omnisdk.routing.*`` event through the agent actions (see the module
    docstring).

    Raises:
        pydantic.ValidationError: the data does not match its model.
        NotFoundError (UnknownInteraction), StateError (RoutingRefused): see the module docstring.
    """
    plugin, _, account = event.source.strip("/").partition("/")
    if event.type == ev.TYPE_ROUTING_ASSIGNED:
        assigned = RoutingAssignedData.model_validate(event.data)
        inter = _external(ctx, actions, assigned.interaction_id, plugin, account)
        _bind_conversation(ctx, inter, assigned.external_id)  # checked before the move
        inter = _offer(ctx, actions, ctx.get(inter.id) or inter, assigned.agent)
    elif event.type == ev.TYPE_ROUTING_ACCEPTED:
        accepted = RoutingAcceptedData.model_validate(event.data)
        inter = _bind_conversation(ctx, _external(ctx, actions, accepted.interaction_id, plugin, account),
                                   accepted.external_id)
        if inter.state is S.WORK_IN_PROGRESS and accepted.agent in (None, inter.agent):
            return  # already accepted (the agent API, or an earlier event)
        if accepted.agent is not None:
            inter = _offer(ctx, actions, inter, accepted.agent)
        actions.accept(ctx, inter.id)
    elif event.type == ev.TYPE_ROUTING_ENDED:
        ended = RoutingEndedData.model_validate(event.data)
        current = ctx.get(ended.interaction_id)
        if current is not None and current.state is S.CLOSED:
            if ended.external_id and current.context.get("external_id") not in (None, ended.external_id):
                raise RoutingRefused(f"interaction {current.id} belongs to another CCaaS conversation than the "
                                     "event's", "routing.mismatch")
            ctx.tx.count("routing.ignored")
            return
        inter = _bind_conversation(ctx, _external(ctx, actions, ended.interaction_id, plugin, account),
                                   ended.external_id)
        code = ended.wrap_up_code if ended.wrap_up_code in actions.settings.wrap_up_codes else None
        actions.close(ctx, inter.id, code, note=f"ended by {plugin}: {ended.reason}", sync_external=False)


def _external(ctx: Ctx, actions: AgentActions, interaction_id: str, plugin: str, account: str) -> Interaction:
    inter = ctx.get(interaction_id)
    if inter is None:
        raise UnknownInteraction(f"no interaction {interaction_id}")
    if inter.routing_source is not RoutingSource.EXTERNAL:
        raise StateError(f"interaction {inter.id} is routed by the core, not by a CCaaS connector")
    queue = actions.dispatch.queue(inter.queue)
    routed_by = routing_connector(actions.host, queue)
    if routed_by != (plugin, account):  # a body another account signed acts on nothing of ours
        who = "/".join(routed_by) if routed_by else (queue.connector if queue is not None else None) or "no connector"
        raise StateError(f"interaction {inter.id} is routed by {who}, not {plugin}/{account}")
    return inter


def _offer(ctx: Ctx, actions: AgentActions, inter: Interaction, agent: str) -> Interaction:
    """Offer to ``agent`` unless it is offered to them already."""
    if inter.state is S.QUEUED:
        return actions.assign(ctx, inter.id, agent)
    if inter.state is S.OFFERED:
        if inter.agent == agent:
            return inter
        queue = actions.dispatch.queue(inter.queue)
        return actions.dispatch.offer(ctx, inter, agent, queue)  # the CCaaS re-routed it
    raise StateError(f"interaction {inter.id} is {inter.state}; the CCaaS can offer it only while queued or offered")
