"""Call events applied to voice interactions (the processor's part of a call).

A CTI connector (:class:`omnisdk.connectors.CTIConnector`) parses its webhooks into
``io.omnisdk.call.*`` events; the processor hands them to :meth:`Calls.apply`, in the inbox
batch's transaction (a redelivered webhook is dropped by the inbox first).  Each call's events
must follow :data:`omnisdk.connectors.CALL_TRANSITIONS`; the call's state is kept on its
interaction (``interaction.context["call"]``: ``call_id``, ``state``, ``direction``,
``agent``, ``reason``, ``at``, ``transfers``, ``recordings``, ``seq``).

==============  ==================================================================================
call event      effect on the interaction
==============  ==================================================================================
ringing         inbound, unknown call: a new ``voice`` interaction (conversation key
                :func:`call_key`), its caller's context attached (:mod:`omnisdk.voice.caller`),
                routed at once by the core's router: queued, then **offered** when an agent of
                the queue has free voice capacity (the universal cap counts).  Outbound (a call
                we placed): the customer's phone rings; nothing changes.
answered        offered → **work_in_progress** (the agent answered); already accepted: nothing
held            work_in_progress → **on_hold**; already on hold: nothing
resumed         on_hold → work_in_progress; already working: nothing
transferred     recorded (``transfers``); the move itself was the agent's transfer
                (:mod:`omnisdk.voice.controls`, :meth:`AgentActions.transfer`).  A warm
                transfer to a number under way (``pending_transfer``): the number answered,
                so the transfer completes, the interaction goes to **wrap_up** and a LEAVE
                command takes the consulting agent out of the conference
ended           answered and working or on hold → **wrap_up** (its timer starts:
                ``[lifecycle] wrap_up_timeout``, then the default code); never answered →
                **closed** with ``abandoned_call_code`` (inbound, the caller hung up:
                ``completed``/``canceled``) or ``missed_call_code`` (busy, no-answer, failed, an
                outbound call nobody answered); wrapping up or closed: nothing
recording       the link is appended to ``context.call.recordings`` (``io.omnisdk.call.recording``)
==============  ==================================================================================

A state reported again (the ringing callback of a call :meth:`~omnisdk.voice.controls.CallControls.dial`
recorded as ringing already) changes nothing (``calls.repeated``).

Refused (the event stays in the inbox with the reason, ``events.failed`` and a counter of its
own; nothing of the interaction changes): an event of a call no interaction has (``calls.unknown``:
never a phantom interaction), one that breaks :data:`CALL_TRANSITIONS` (``calls.illegal``), one
naming an interaction of another account or another call (``calls.unknown``).
"""

from __future__ import annotations

from typing import Any

from omnisdk import events as ev
from omnisdk.catalog import CallEventData, CallRecordingData
from omnisdk.connectors import CALL_EVENT_TYPES, CALL_TRANSITIONS, CallAction, CallCommand, CallState
from omnisdk.errors import StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.lifecycle.transitions import created
from omnisdk.model import Channel, Direction, Interaction
from omnisdk.model import InteractionState as S
from omnisdk.outbound.connector_calls import queue_command_for
from omnisdk.routing.dispatch import Dispatch
from omnisdk.voice.caller import caller_context, match_contact

CALL_TYPES = CALL_EVENT_TYPES | {ev.TYPE_CALL_RECORDING}
"""The event types :meth:`Calls.apply` handles."""
CALLER_HUNG_UP = frozenset({"completed", "canceled"})
"""``ended`` reasons that mean the caller hung up (before an answer: abandoned)."""


class CallRefused(StateError):
    """A call event the core does not apply; ``counter`` names the store counter it adds."""

    def __init__(self, message: str, counter: str) -> None:
        super().__init__(message)
        self.counter = counter


def call_key(source: str, call_id: str) -> str:
    """The conversation key of one inbound call: ``"{provider}/{account}:voice:call:{call id}"``
    (one interaction per call: a caller who rings again is a new interaction)."""
    return f"{source.removeprefix('/')}:{Channel.VOICE}:call:{call_id}"


def outbound_key(source: str, interaction_id: str) -> str:
    """The conversation key of a call we place (its call id is not known before the CTI answers)."""
    return f"{source.removeprefix('/')}:{Channel.VOICE}:outbound:{interaction_id}"


def complete_transfer(call: dict[str, Any], at: str) -> dict[str, Any]:
    """The call record once its pending warm transfer to a number completed: state
    ``transferred``, the transfer appended to ``transfers``, ``pending_transfer`` cleared.

    Raises:
        CallRefused: the call's state cannot move to ``transferred`` (``calls.illegal``).
    """
    pending = call.get("pending_transfer") or {}
    current = CallState(call["state"]) if call.get("state") else None
    if CallState.TRANSFERRED not in CALL_TRANSITIONS.get(current, frozenset()):
        raise CallRefused(f"call {call.get('call_id')}: {current.value if current else '(start)'} → transferred "
                          "is not a legal transition", "calls.illegal")
    done = {"to": pending.get("to"), "mode": "warm", "at": at}
    return {**call, "state": CallState.TRANSFERRED.value, "pending_transfer": None,
            "transfers": [*call.get("transfers", []), done]}


def call_of(inter: Interaction) -> dict[str, Any]:
    """A copy of the interaction's call record (``context["call"]``; empty if none)."""
    call = inter.context.get("call")
    return dict(call) if isinstance(call, dict) else {}


def with_call(ctx: Ctx, inter: Interaction, **changes: Any) -> Interaction:
    """``inter`` with ``changes`` merged into its call record (remembered in ``ctx``)."""
    call = {**call_of(inter), **changes}
    if ctx.dirty.get(inter.id) is inter:
        inter.context = {**inter.context, "call": call}
        return inter
    new = inter.model_copy(update={"context": {**inter.context, "call": call}})
    ctx.put(new)
    return new


class Calls:
    """Applies call events (see the module docstring)."""

    def __init__(self, settings: LifecycleSettings, dispatch: Dispatch, actions: AgentActions) -> None:
        self.settings = settings
        self.dispatch = dispatch
        self.actions = actions

    def find(self, ctx: Ctx, source: str, call_id: str, interaction_id: str | None) -> Interaction | None:
        """The interaction of call ``call_id`` of account ``source``: by our ``interaction_id``
        (a call we placed names it), else the active interaction of :func:`call_key`."""
        if interaction_id is not None:
            inter = ctx.get(interaction_id)
            if inter is None or inter.source != source or inter.channel != Channel.VOICE:
                return None
            known = call_of(inter).get("call_id")
            return inter if known in (None, call_id) else None
        inter = ctx.tx.active_interaction(call_key(source, call_id))
        return ctx.dirty.get(inter.id, inter) if inter is not None else None

    def apply(self, ctx: Ctx, event: ev.Event) -> Interaction:
        """Apply one call event; returns the interaction after it.

        Raises:
            pydantic.ValidationError: the data does not match its model.
            CallRefused: see the module docstring.  StateError, CapacityError: from the move.
        """
        if event.type == ev.TYPE_CALL_RECORDING:
            return self._recording(ctx, event)
        data = CallEventData.model_validate(event.data)
        state = CallState(event.type.rsplit(".", 1)[1])
        inter = self.find(ctx, event.source, data.call_id, data.interaction_id)
        if inter is None:
            if state is CallState.RINGING and data.direction is Direction.INBOUND and data.interaction_id is None:
                ctx.tx.count("calls.inbound")
                return self._ring(ctx, event, data)
            raise CallRefused(f"call {data.call_id}: no interaction of {event.source} has this call", "calls.unknown")
        call = call_of(inter)
        previous = CallState(call["state"]) if call.get("state") else None
        if state is previous:  # reported again (a placed call is ringing already): no step
            ctx.tx.count("calls.repeated")
            return inter
        if state not in CALL_TRANSITIONS.get(previous, frozenset()):
            raise CallRefused(f"call {data.call_id}: {previous.value if previous else '(start)'} → {state.value} "
                              "is not a legal transition", "calls.illegal")
        if state is CallState.TRANSFERRED and call.get("pending_transfer"):
            return self._number_answered(ctx, event, inter, call, data)
        inter = self._effect(ctx, inter, state, previous, data)
        changes: dict[str, Any] = {"call_id": data.call_id, "state": state.value, "at": data.at}
        if data.agent:
            changes["agent"] = data.agent
        if data.reason:
            changes["reason"] = data.reason
        if state is CallState.TRANSFERRED:
            changes["transfers"] = [*call.get("transfers", []), {"to": data.reason, "at": data.at}]
        ctx.tx.count(f"calls.{state.value}")
        return with_call(ctx, inter, **changes)

    def _number_answered(self, ctx: Ctx, event: ev.Event, inter: Interaction, call: dict[str, Any],
                         data: CallEventData) -> Interaction:
        """The number of a warm transfer answered: the transfer completes, the consulting agent
        leaves the conference (a LEAVE command, durable, woken after the commit) and the
        interaction goes to wrap-up."""
        agent = str((call.get("pending_transfer") or {}).get("agent") or inter.agent or "")
        call = complete_transfer(call, data.at)
        if inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD):
            inter = self.actions.wrap_up(ctx, inter.id)
        seq = int(call.get("seq", 0)) + 1
        if agent:
            queue_command_for(ctx, event.source, CallCommand(
                action=CallAction.LEAVE, call_id=data.call_id, interaction_id=inter.id, agent=agent,
                key=f"{inter.id}:{CallAction.LEAVE.value}:{seq}", seq=seq, report=False))
        ctx.tx.count("calls.transferred")
        return with_call(ctx, inter, **{**call, "seq": seq, "connected_to": None, "at": data.at})

    def _effect(self, ctx: Ctx, inter: Interaction, state: CallState, previous: CallState | None,
                data: CallEventData) -> Interaction:
        if state is CallState.ANSWERED and inter.state is S.OFFERED:
            return self.actions.accept(ctx, inter.id)
        if state is CallState.HELD and inter.state is S.WORK_IN_PROGRESS:
            return self.actions.hold(ctx, inter.id)
        if state is CallState.RESUMED and inter.state is S.ON_HOLD:
            return self.actions.resume(ctx, inter.id)
        if state is not CallState.ENDED or inter.state in (S.WRAP_UP, S.CLOSED):
            return inter
        answered = previous not in (None, CallState.RINGING)
        if inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD) and (answered or inter.direction is Direction.INBOUND):
            return self.actions.wrap_up(ctx, inter.id)
        reason = data.reason or "ended"
        abandoned = inter.direction is Direction.INBOUND and reason in CALLER_HUNG_UP
        code = self.settings.abandoned_call_code if abandoned else self.settings.missed_call_code
        ctx.tx.count("calls.abandoned" if abandoned else "calls.missed")
        return self.actions.close(ctx, inter.id, code, note=f"call ended before an answer: {reason}")

    def _ring(self, ctx: Ctx, event: ev.Event, data: CallEventData) -> Interaction:
        caller = data.from_
        contact_id = match_contact(ctx, caller)
        if contact_id is None:  # contacts are made on first sight, as for messages
            contact_id = ctx.tx.upsert_contact(Channel.VOICE, caller, None, data.at)
        inter = Interaction(
            id=new_id(), channel=Channel.VOICE, direction=Direction.INBOUND, state=S.NEW,
            conversation_key=call_key(event.source, data.call_id), source=event.source, customer=caller,
            business=data.business or data.to, created_at=ctx.now, updated_at=ctx.now,
            last_customer_message_at=ctx.now,
            context={"call": {"call_id": data.call_id, "state": CallState.RINGING.value, "direction": "inbound",
                              "at": data.at, "transfers": [], "recordings": [], "seq": 0},
                     "caller": caller_context(ctx, caller, contact_id)},
        )
        created(ctx, inter, None, "inbound call")
        return self.dispatch.route(ctx, inter)

    def _recording(self, ctx: Ctx, event: ev.Event) -> Interaction:
        data = CallRecordingData.model_validate(event.data)
        inter = self.find(ctx, event.source, data.call_id, data.interaction_id)
        if inter is None:
            raise CallRefused(f"recording {data.recording_id}: no interaction of {event.source} has call "
                              f"{data.call_id}", "calls.unknown")
        recordings = list(call_of(inter).get("recordings", []))
        if any(r.get("id") == data.recording_id for r in recordings):
            return inter
        recordings.append({"id": data.recording_id, "url": data.url, "duration": data.duration,
                           "status": data.status, "at": data.at})
        ctx.tx.count("calls.recordings")
        return with_call(ctx, inter, recordings=recordings)
