"""Durable timers: what happens when each kind fires, looked up in a table.

The processor claims due timer rows and hands each to :meth:`Timers.fire` (exactly once: the
claim and the effect commit together).  A timer whose interaction is gone or closed does
nothing; otherwise its handler re-checks the state it guards and acts:

=================  ========================================================================
kind               when it fires (if the interaction is still in the guarded state)
=================  ========================================================================
``offer``          the agent did not accept in time (same offer) → back to the queue,
                   offered elsewhere (:meth:`AgentActions.reject`, note "offer timed out")
``reoffer``        the queue's ``reoffer_after`` passed → decliners may be offered it again
``wrap_up``        no wrap-up code in time → closed with the default code
``inactivity``     parked with no customer reply → closed "Closed due to customer inactivity"
``overflow``       waited too long in a queue → moved to the overflow queue
``reminder``       an outbound interaction the customer has not answered → a reminder is sent
``action:<name>``  a messaging action (:class:`~omnisdk.lifecycle.settings.MessagingAction`)
=================  ========================================================================

A kind with no handler (a row written by another release, an action no longer configured) is
logged and counted as ``timers.unknown``; it never stops the timer pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from omnisdk import events as ev
from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.messaging_actions import ACTION_PREFIX, action_applies
from omnisdk.lifecycle.settings import ActionKind, LifecycleSettings, MessagingAction
from omnisdk.lifecycle.transitions import emit
from omnisdk.model import Interaction, RoutingSource, WrapUpCode
from omnisdk.model import InteractionState as S
from omnisdk.outbound.enqueue import enqueue_text
from omnisdk.outbound.notices import Notice
from omnisdk.routing.dispatch import Dispatch
from omnisdk.store.base import TimerRow

log = logging.getLogger("omnisdk.lifecycle.timers")

TimerHandler = Callable[[Ctx, Interaction, TimerRow], None]
"""``handler(ctx, interaction, timer)``: the effect of one fired timer on its (active) interaction."""
ActionHandler = Callable[[Ctx, Interaction, MessagingAction], None]
"""``handler(ctx, interaction, action)``: what a fired messaging action does to its interaction."""


class Timers:
    """The timer table (:attr:`handlers` by kind, :attr:`prefixed` by kind prefix) and
    :meth:`fire`."""

    def __init__(self, settings: LifecycleSettings, dispatch: Dispatch, actions: AgentActions) -> None:
        self.settings = settings
        self.dispatch = dispatch
        self.actions = actions
        self.handlers: dict[str, TimerHandler] = {
            "offer": self._offer,
            "reoffer": self._reoffer,
            "wrap_up": self._wrap_up,
            "inactivity": self._inactivity,
            "overflow": self._overflow,
            "reminder": self._reminder,
        }
        """Timer kind → handler."""
        self.prefixed: dict[str, TimerHandler] = {ACTION_PREFIX: self._messaging_action}
        """Kind prefix → handler, for kinds that carry a name (``action:<name>``)."""
        self.action_handlers: dict[ActionKind, ActionHandler] = {
            ActionKind.NOTIFY_CUSTOMER: self._notify_customer,
            ActionKind.REASSIGN: self._reassign,
            ActionKind.SET_STATE: self._set_state,
        }
        """Messaging-action kind → what it does beyond its ``io.omnisdk.interaction.action``
        event (``notify_agent`` is the event alone)."""

    def handler_for(self, kind: str) -> TimerHandler | None:
        """The handler of timer ``kind`` (exact kind first, then prefix), or None."""
        handler = self.handlers.get(kind)
        if handler is not None:
            return handler
        for prefix, prefixed in self.prefixed.items():
            if kind.startswith(prefix):
                return prefixed
        return None

    def fire(self, ctx: Ctx, timer: TimerRow) -> None:
        """Run one due timer (exactly once: it was claimed in this transaction).  An unknown kind
        is logged and counted (``timers.unknown``), never raised."""
        handler = self.handler_for(timer.kind)
        if handler is None:
            self._unknown(ctx, timer)
            return
        inter = ctx.get(timer.interaction_id) if timer.interaction_id else None
        if inter is None or inter.state is S.CLOSED:
            return
        handler(ctx, inter, timer)

    @staticmethod
    def _unknown(ctx: Ctx, timer: TimerRow) -> None:
        log.warning("timer %s has kind %r, which nothing handles; ignored", timer.key, timer.kind)
        ctx.tx.count("timers.unknown")

    # --- the handlers -------------------------------------------------------------------

    def _offer(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        if inter.state is S.OFFERED and inter.offer_seq == timer.data.get("seq"):
            self.actions.reject(ctx, inter.id, note="offer timed out")

    def _reoffer(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        if not inter.declined_by:
            return
        inter = inter.model_copy(update={"declined_by": []})
        ctx.put(inter)
        queue = self.dispatch.queue(inter.queue)
        if inter.state is S.QUEUED and queue is not None and inter.routing_source is RoutingSource.INTERNAL:
            self.dispatch.try_assign(ctx, inter, queue)

    def _wrap_up(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        if inter.state is S.WRAP_UP:
            self.actions.close(ctx, inter.id, self.settings.default_wrap_up_code, note="wrap-up timeout")

    def _inactivity(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        if inter.state is S.ON_HOLD:
            self.actions.close(ctx, inter.id, WrapUpCode.CLOSED_INACTIVITY.value, note="customer inactive")

    def _overflow(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        if inter.state is S.QUEUED and inter.queue == timer.data.get("queue"):
            self.dispatch.overflow(ctx, inter)

    def _reminder(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        if inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD) and inter.last_customer_message_at is None:
            enqueue_text(ctx, inter, self.settings.reminder_text, timer.key, automatic=True, notice=Notice.REMINDER)

    def _messaging_action(self, ctx: Ctx, inter: Interaction, timer: TimerRow) -> None:
        name = timer.kind.removeprefix(ACTION_PREFIX)
        named = [a for a in self.settings.actions if a.name == name]
        if not named:  # configured when it was armed, not any more
            self._unknown(ctx, timer)
            return
        for action in named:
            if action_applies(action, inter):
                self._run_action(ctx, inter, action)

    def _run_action(self, ctx: Ctx, inter: Interaction, action: MessagingAction) -> None:
        detail = f"{action.name}: {action.action}" + (f": {action.text}" if action.text else "")
        emit(ctx, ev.TYPE_INTERACTION_ACTION, inter, detail)  # notify_agent is this event alone
        run = self.action_handlers.get(action.action)
        if run is not None:
            run(ctx, inter, action)

    def _notify_customer(self, ctx: Ctx, inter: Interaction, action: MessagingAction) -> None:
        enqueue_text(ctx, inter, action.text or "", f"{ACTION_PREFIX}{action.name}:{inter.id}:{ctx.ts:.0f}",
                     automatic=True, notice=Notice.ACTION_PROMPT)

    def _reassign(self, ctx: Ctx, inter: Interaction, action: MessagingAction) -> None:
        if inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD, S.OFFERED):
            self.actions.transfer(ctx, inter.id, to_queue=inter.queue or next(iter(self.dispatch.engine.queues)))

    def _set_state(self, ctx: Ctx, inter: Interaction, action: MessagingAction) -> None:
        if action.state is S.ON_HOLD and inter.state is S.WORK_IN_PROGRESS:
            self.actions.hold(ctx, inter.id)
        elif action.state is S.WRAP_UP and inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD):
            self.actions.wrap_up(ctx, inter.id)
