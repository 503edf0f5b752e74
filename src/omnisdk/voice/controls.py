"""The agent's call controls: answer, hold, resume, transfer, hang up, dial, softphone token.

Each control is two steps:

1. a lifecycle operation in one store transaction (accept, hold, resume, transfer, wrap-up, a
   new outbound interaction): the interaction, its history, capacity and timers change together,
   and the call's record (``interaction.context["call"]``) advances along
   :data:`~omnisdk.connectors.CALL_TRANSITIONS` (an illegal step raises
   :class:`~omnisdk.voice.calls.CallRefused`, a ``StateError``: HTTP 409, nothing written);
2. then a :class:`~omnisdk.connectors.CallCommand` to the call's CTI connector
   (:meth:`~omnisdk.connectors.CTIConnector.control`), keyed ``{interaction}:{action}:{seq}``.

The command is an outbox row written **in step 1's transaction**
(:func:`omnisdk.outbound.connector_calls.queue_command`, under its key), so a crash after the
commit neither loses nor repeats it: the outbox worker sends it after a restart, with the same
key.  After the commit the control makes the first attempt itself (one outbox pass,
:meth:`~omnisdk.outbound.outbox.OutboxWorker.run_pass`) so that the agent learns at once when
the CTI refused it: a non-retryable refusal fails the row (counted ``connector_calls.failed``)
and raises :class:`~omnisdk.outbound.errors.OutboundError` (HTTP 502, the lifecycle step
stays); a retryable one (429, 5xx, connection) leaves the row pending with the outbox's
backoff (``connector_calls.backlog``) and the control returns.

=========  ===================================  =================================================
control    lifecycle                            call record / command
=========  ===================================  =================================================
answer     offered → work_in_progress           ringing → answered (a transfer's target starts a
                                                new leg); CONNECT the caller to the agent's
                                                softphone (none when a cold transfer already
                                                rings it)
hold       work_in_progress → on_hold           → held; HOLD (music)
resume     on_hold → work_in_progress           → resumed; RESUME (connect again)
transfer   to an agent: offered to them; to a   (held → resumed first) → transferred; TRANSFER
           queue: queued there; to a number:    cold (at once) or warm (the caller hears music
           wrap-up (the call leaves us)         until the target answers)
hang_up    → wrap_up (its timer starts)         HANG_UP (Twilio's ``completed`` callback follows)
dial       a new outbound voice interaction,    → ringing once the CTI placed it; a failed dial
           work in progress with the agent      closes it with ``missed_call_code``
           (needs their free voice capacity)
=========  ===================================  =================================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from omnisdk.adapters import ChannelAdapter
from omnisdk.connectors import (
    CALL_TRANSITIONS,
    CallAction,
    CallCommand,
    CallState,
    CTIConnector,
    OutboundCall,
    PlacedCall,
)
from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.inbox.processor import Processor
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.operations import Lifecycle
from omnisdk.lifecycle.transitions import created, get_interaction, move
from omnisdk.model import Channel, Direction, Interaction, check_e164
from omnisdk.model import InteractionState as S
from omnisdk.outbound.connector_calls import op_of, queue_command, queue_dial
from omnisdk.outbound.errors import OutboundError
from omnisdk.outbound.http import is_retryable
from omnisdk.outbound.outbox import OutboxWorker
from omnisdk.store.rows import OutboxRow
from omnisdk.voice.calls import CallRefused, call_of, complete_transfer, outbound_key, with_call

log = logging.getLogger("omnisdk.voice")


def _advance(call: dict[str, Any], *states: CallState) -> dict[str, Any]:
    """The call record after ``states``, each checked against :data:`CALL_TRANSITIONS`.

    Raises:
        CallRefused: an illegal step (counter ``calls.illegal``).
    """
    current = CallState(call["state"]) if call.get("state") else None
    for state in states:
        if state not in CALL_TRANSITIONS.get(current, frozenset()):
            raise CallRefused(f"call {call.get('call_id')}: {current.value if current else '(start)'} → "
                              f"{state.value} is not a legal transition", "calls.illegal")
        current = state
    return {**call, "state": current.value if current else None}


class CallControls:
    """The call controls of one runtime (see the module docstring).

    Raises (from every control): :class:`~omnisdk.errors.NotFoundError` (unknown interaction,
    agent or account; an interaction that is no call), :class:`~omnisdk.errors.StateError`
    (an illegal move or call step), ``CapacityError``, ``ValueError`` (a bad argument, before
    any I/O), :class:`~omnisdk.outbound.errors.OutboundError` (the CTI refused the command;
    the lifecycle change stays) and ``NotImplementedError`` (the connector has no call control).
    """

    def __init__(self, processor: Processor, lifecycle: Lifecycle,
                 adapters: Mapping[tuple[str, str], ChannelAdapter], outbox: OutboxWorker | None = None) -> None:
        self.processor = processor
        self.lifecycle = lifecycle
        self.adapters = adapters
        self.outbox = outbox if outbox is not None else OutboxWorker(processor.store, adapters)
        """The worker that sends the commands (the runtime's)."""
        self.outbox.on_connector_call_failed = self._connector_call_failed

    # --- helpers -------------------------------------------------------------------------

    def connector(self, source: str) -> CTIConnector:
        """The CTI connector of account ``source`` (``/cti_twilio/acme``).

        Raises:
            NotFoundError: no CTI connector account has that source.
        """
        for adapter in self.adapters.values():
            if adapter.source == source and isinstance(adapter, CTIConnector):
                return adapter
        raise NotFoundError(f"no CTI connector account {source}")

    def connector_for(self, plugin: str, account: str) -> CTIConnector:
        """The CTI connector of ``[accounts.<plugin>.<account>]``.

        Raises:
            NotFoundError: no such account, or it is no CTI connector.
        """
        adapter = self.adapters.get((plugin, account))
        if not isinstance(adapter, CTIConnector):
            raise NotFoundError(f"no CTI connector account {plugin}/{account}")
        return adapter

    @staticmethod
    def _call(inter: Interaction) -> dict[str, Any]:
        call = call_of(inter)
        if inter.channel != Channel.VOICE or not call.get("call_id"):
            raise StateError(f"interaction {inter.id} is not a call (or its call is not placed yet)")
        return call

    def _command(self, ctx: Ctx, inter: Interaction, call: dict[str, Any], action: CallAction,
                 **fields: Any) -> tuple[Interaction, CallCommand]:
        seq = int(call.get("seq", 0)) + 1
        command = CallCommand(action=action, call_id=str(call["call_id"]), interaction_id=inter.id,
                              key=f"{inter.id}:{action.value}:{seq}", seq=seq,
                              report=call.get("state") != CallState.TRANSFERRED.value, **fields)
        call = {**call, "seq": seq}
        return with_call(ctx, inter, **call), command

    async def _run(self, fn: Callable[[Ctx], tuple[Interaction, CallCommand | None]]) -> Interaction:
        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter, command = fn(ctx)
            if command is not None:  # durable: written with the decision (NotFoundError rolls both back)
                queue_command(ctx, self.connector(inter.source), command)
            return inter, command

        inter, command = await self.processor.operate(op)
        if command is not None:
            result = (await self.outbox.run_pass()).get(command.key)  # absent: the worker has it already
            if isinstance(result, (OutboundError, NotImplementedError)) and not is_retryable(result):
                log.error("%s: %s of call %s (interaction %s) failed: %s", inter.source, command.action.value,
                          command.call_id, inter.id, result)
                raise result
        return inter

    # --- the controls --------------------------------------------------------------------

    async def answer(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """The offered agent answers the call (see the module docstring)."""

        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter = get_interaction(ctx, interaction_id)
            call = self._call(inter)
            if call.get("state") == CallState.TRANSFERRED.value:  # the target's leg begins
                call = {**call, "leg": int(call.get("leg", 1)) + 1, "state": None}
                call = _advance(call, CallState.RINGING, CallState.ANSWERED)
            else:
                call = _advance(call, CallState.ANSWERED)
            inter = self.lifecycle.actions.accept(ctx, interaction_id, agent)
            ringing_already = call.get("connected_to") == inter.agent
            call = {**call, "agent": inter.agent, "connected_to": inter.agent}
            inter, command = self._command(ctx, inter, call, CallAction.CONNECT, agent=inter.agent)
            return inter, None if ringing_already else command

        return await self._run(op)

    async def hold(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """Put the caller on hold (music)."""

        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter = get_interaction(ctx, interaction_id)
            if call_of(inter).get("pending_transfer"):  # hold music would take the caller out of the conference
                raise StateError(f"interaction {interaction_id}: a warm transfer to a number is under way")
            call = _advance(self._call(inter), CallState.HELD)
            inter = self.lifecycle.actions.hold(ctx, interaction_id, agent)
            return self._command(ctx, inter, {**call, "connected_to": None}, CallAction.HOLD)

        return await self._run(op)

    async def resume(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """Take the caller off hold: connected to the agent again."""

        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter = get_interaction(ctx, interaction_id)
            call = _advance(self._call(inter), CallState.RESUMED)
            inter = self.lifecycle.actions.resume(ctx, interaction_id, agent)
            call = {**call, "connected_to": inter.agent}
            return self._command(ctx, inter, call, CallAction.RESUME, agent=inter.agent)

        return await self._run(op)

    async def transfer(self, interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
                       to_number: str | None = None, mode: str = "cold", agent: str | None = None) -> Interaction:
        """Transfer the call to an agent, a queue or a number, ``mode`` ``cold`` or ``warm``.

        A **warm transfer to a number** is a consultation: the CTI puts the caller and the agent
        in one conference and dials the number into it; the interaction stays in work with the
        agent, the call record keeps it as ``pending_transfer`` (the call state does not move
        yet).  When the number answers (the CTI's ``call.transferred`` event,
        :mod:`omnisdk.voice.calls`) or the agent hangs up first (:meth:`hang_up`), the call
        becomes ``transferred``, the agent leaves the conference (a LEAVE command) and the
        interaction goes to wrap-up; the caller stays with the number.

        Raises:
            PhoneNumberError: (a ValueError, HTTP 400) a number that is not E.164.
            ValueError: not exactly one target, an unknown mode.  StateError: an illegal call
                step, or a warm transfer to a number already under way.
        """
        if sum(t is not None for t in (to_agent, to_queue, to_number)) != 1:
            raise ValueError("a transfer needs exactly one of to_agent, to_queue or to_number")
        if mode not in ("cold", "warm"):
            raise ValueError("mode must be cold or warm")
        number = check_e164(to_number) if to_number is not None else None
        if number is not None and mode == "warm":
            return await self._consult(interaction_id, number, agent)

        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter = get_interaction(ctx, interaction_id)
            call = self._call(inter)
            if call.get("pending_transfer"):
                raise StateError(f"interaction {interaction_id}: a warm transfer to a number is under way")
            steps = [CallState.RESUMED] if call.get("state") == CallState.HELD.value else []
            call = _advance(call, *steps, CallState.TRANSFERRED)
            target = f"agent:{to_agent}" if to_agent else f"queue:{to_queue}" if to_queue else f"number:{number}"
            call["transfers"] = [*call.get("transfers", []), {"to": target, "mode": mode, "at": ctx.iso}]
            if number is not None:  # the call leaves us: the agent wraps up (its timer starts)
                inter = self.lifecycle.actions.wrap_up(ctx, interaction_id, agent)
            else:
                inter = self.lifecycle.actions.transfer(ctx, interaction_id, to_agent=to_agent, to_queue=to_queue,
                                                        agent=agent)
            call["connected_to"] = to_agent if (to_agent and mode == "cold") else None
            return self._command(ctx, inter, call, CallAction.TRANSFER, agent=to_agent, queue=to_queue,
                                 number=number, mode=mode)

        return await self._run(op)

    async def _consult(self, interaction_id: str, number: str, agent: str | None) -> Interaction:
        """A warm transfer to ``number`` (see :meth:`transfer`): the caller, the agent and the
        number in one conference; the interaction stays in work until the number answers."""

        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter = get_interaction(ctx, interaction_id)
            call = self._call(inter)
            if inter.state is not S.WORK_IN_PROGRESS or inter.agent is None:
                raise StateError(f"interaction {interaction_id} is {inter.state}: a warm transfer to a number "
                                 "needs the agent on the call (resume it first)")
            if agent is not None and agent != inter.agent:
                raise StateError(f"interaction {interaction_id} is held by another agent")
            if call.get("pending_transfer"):
                raise StateError(f"interaction {interaction_id}: a warm transfer to a number is under way")
            _advance(call, CallState.TRANSFERRED)  # checked now, taken when the number answers
            call["pending_transfer"] = {"to": f"number:{number}", "mode": "warm", "agent": inter.agent, "at": ctx.iso}
            return self._command(ctx, inter, call, CallAction.TRANSFER, number=number, mode="warm",
                                 consulting=inter.agent)

        return await self._run(op)

    async def hang_up(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """End the call; the interaction goes to wrap-up (its timer starts).  During a warm
        transfer to a number the agent only leaves: the transfer completes (``transferred``),
        the caller stays with the number (LEAVE instead of HANG_UP)."""

        def op(ctx: Ctx) -> tuple[Interaction, CallCommand | None]:
            inter = get_interaction(ctx, interaction_id)
            call = self._call(inter)
            pending = call.get("pending_transfer")
            if pending:
                call = complete_transfer(call, ctx.iso)
                inter = self.lifecycle.actions.wrap_up(ctx, interaction_id, agent)
                return self._command(ctx, inter, {**call, "connected_to": None}, CallAction.LEAVE,
                                     agent=str(pending["agent"]))
            inter = self.lifecycle.actions.wrap_up(ctx, interaction_id, agent)
            return self._command(ctx, inter, {**call, "connected_to": None}, CallAction.HANG_UP)

        return await self._run(op)

    async def dial(self, *, agent: str, plugin: str, account: str, to: str, from_: str | None = None,
                   timeout: int = 30) -> Interaction:
        """Click-to-dial: a new outbound voice interaction for ``agent``, and the call placed.

        The create-call request is an outbox row (op ``dial``, key ``dial:{interaction id}``,
        made once) written **in the transaction that opens the interaction**; the control then
        makes its first attempt.  Placed: the call id is kept on the interaction.  The CTI down
        (429, 5xx, connection): the interaction is returned as it is (no call id yet) and the
        outbox retries with its backoff, with the same key; the call's status callbacks, which
        name our interaction, bind its call id.  Refused for good (at once, or after the last
        retry): the interaction is closed with ``missed_call_code``.

        Raises:
            NotFoundError: unknown agent or account.  ValueError: a number that is not E.164, a
                caller id the account does not own (before any I/O).  CapacityError: the agent
                has no free voice capacity.  OutboundError: the CTI refused the call (the
                interaction is closed with ``missed_call_code``).
        """
        connector = self.connector_for(plugin, account)
        if agent not in self.lifecycle.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        caller_id = from_ or connector.default_business()
        if caller_id is None or caller_id not in connector.business_addresses():
            raise ValueError("from must be one of the account's numbers")
        interaction_id = new_id()
        call = OutboundCall(to=to, agent=agent, timeout=timeout, interaction_id=interaction_id,
                            **{"from": caller_id})  # ValueError (not E.164) before anything is written
        connector.check_call(call)  # ValueError: what the CTI would refuse without I/O, before anything is written

        def open_call(ctx: Ctx) -> Interaction:
            inter = Interaction(
                id=interaction_id, channel=Channel.VOICE, direction=Direction.OUTBOUND, state=S.NEW,
                conversation_key=outbound_key(connector.source, interaction_id), source=connector.source,
                customer=call.to, business=call.from_, created_at=ctx.now, updated_at=ctx.now,
                context={"call": {"call_id": None, "state": None, "direction": "outbound", "agent": agent,
                                  "transfers": [], "recordings": [], "seq": 0}})
            created(ctx, inter, agent, "outbound call")
            self.lifecycle.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
            inter = move(ctx, inter, S.OFFERED, agent=agent, offered_at=ctx.now, offer_seq=1)
            inter = move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=agent)
            queue_dial(ctx, connector, call)  # durable: the create-call request, in this transaction
            return inter

        inter = await self.processor.operate(open_call)
        key = f"dial:{interaction_id}"
        result = (await self.outbox.run_pass()).get(key)  # the first attempt (absent: the worker has it)
        if isinstance(result, PlacedCall):
            return await self.processor.operate(lambda ctx: self._placed(ctx, interaction_id, result))
        if isinstance(result, Exception) and not is_retryable(result):
            log.error("%s: dial of interaction %s failed: %s", connector.source, interaction_id,
                      type(result).__name__)  # the row failed: _connector_call_failed closed the interaction
            raise result
        return inter  # the CTI is down: the dial waits in the outbox (its callbacks bind the call id)

    def _placed(self, ctx: Ctx, interaction_id: str, placed: PlacedCall) -> Interaction:
        """Keep the placed call's id on the interaction (its ringing callback may have come first)."""
        inter = get_interaction(ctx, interaction_id)
        call_record = call_of(inter)
        if call_record.get("call_id") not in (None, placed.call_id):
            return inter
        changes: dict[str, Any] = {"call_id": placed.call_id}
        if call_record.get("state") is None:
            changes["state"] = CallState.RINGING.value
        return with_call(ctx, inter, **changes)

    async def _connector_call_failed(self, row: OutboxRow, result: object) -> None:
        """The outbox's callback for a connector call that failed for good: a click-to-dial's
        interaction is closed with ``missed_call_code`` (unless it moved on already)."""
        if op_of(row) != "dial" or not row.interaction_id:
            return
        iid, reason = row.interaction_id, type(result).__name__

        def close(ctx: Ctx) -> Interaction | None:
            inter = ctx.get(iid)
            if inter is None or inter.state in (S.WRAP_UP, S.CLOSED) or call_of(inter).get("call_id"):
                return inter
            return self.lifecycle.actions.close(ctx, iid, self.lifecycle.settings.missed_call_code,
                                                note=f"dial failed: {reason}")

        await self.processor.operate(close)

    def softphone_token(self, agent: str, *, plugin: str, account: str) -> dict[str, Any]:
        """``{"token", "identity", "expires_in"}``: ``agent``'s softphone access token.

        Raises:
            NotFoundError: unknown agent or account.  NotImplementedError: the connector
                issues none.
        """
        connector = self.connector_for(plugin, account)
        if agent not in self.lifecycle.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        ttl = int(getattr(connector.settings, "token_ttl", 600))
        return {"token": connector.softphone_token(agent, ttl=ttl), "identity": agent, "expires_in": ttl}
