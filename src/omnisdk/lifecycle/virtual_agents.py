"""Virtual-agent turns: a bot plugin answers a customer message, and may escalate.

An interaction routed to a queue with ``virtual_agent`` is owned by that bot
(``agent = "bot:<name>"``, ``work_in_progress``, no capacity held).  For each customer message
the ``omnisdk_virtual_agent_turn`` hook returns a :class:`~omnisdk.lifecycle.bots.VirtualAgentTurn`:
its reply is queued in the outbox (key ``bot:<interaction id>:<message count>``); on escalation
the interaction goes back to ``queued`` with the bot's context and is routed to people.
"""

from __future__ import annotations

from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.transitions import move
from omnisdk.model import Interaction, Message
from omnisdk.model import InteractionState as S
from omnisdk.outbound.enqueue import enqueue_text
from omnisdk.outbound.notices import Notice
from omnisdk.plugins import PluginHost
from omnisdk.routing.dispatch import Dispatch


class VirtualAgents:
    """Runs bot turns (see the module docstring)."""

    def __init__(self, host: PluginHost, dispatch: Dispatch) -> None:
        self.host = host
        self.dispatch = dispatch

    def turn(self, ctx: Ctx, inter: Interaction, message: Message) -> Interaction:
        """The bot's turn for ``message``; returns the interaction after it (unchanged when no
        bot plugin answers)."""
        history = [m.to_dict() for m in ctx.tx.messages_of(inter.id)]  # the hook's documented shape
        turn = self.host.omnisdk_virtual_agent_turn(inter, message, history)
        if turn is None:
            return inter
        if turn.reply:
            enqueue_text(ctx, inter, turn.reply, f"bot:{inter.id}:{inter.message_count}", automatic=True,
                         notice=Notice.BOT_REPLY)
        if not turn.escalate:
            return inter
        context = {**inter.context, **turn.context, "escalated": True, "bot": inter.virtual_agent}
        inter = move(ctx, inter, S.QUEUED, note=f"escalated by {inter.virtual_agent}", agent=None,
                     virtual_agent=None, context=context, queued_at=ctx.now,
                     queue=turn.queue or inter.queue)
        return self.dispatch.route(ctx, inter)
