"""The customer closed the conversation on the provider's side (``io.omnisdk.conversation.closed``).

Some channels let the customer end a conversation explicitly (Apple Messages for Business: the
customer deletes the conversation, and Apple sends a ``close`` message).  The processor then
closes the conversation's active interaction with the wrap-up code ``Closed by customer``
(:attr:`omnisdk.model.WrapUpCode.CLOSED_BY_CUSTOMER`, always among the configured codes), so no
agent keeps working on a conversation the customer has left.  A close for a conversation with
no active interaction changes nothing (counter ``conversations.closed_none``); the event is
still kept in the inbox and passed to observers.

The conversation is the default key of the event's ``data`` (``conversation_key(source,
channel, business, customer)``), the key every messaging plugin puts in ``partitionkey``.
"""

from __future__ import annotations

from omnisdk import events as ev
from omnisdk.catalog import ConversationClosedData
from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import WrapUpCode
from omnisdk.model.addresses import conversation_key


def apply_conversation_closed(ctx: Ctx, actions: AgentActions, event: ev.Event) -> None:
    """Close the active interaction of the conversation ``event`` names (see the module
    docstring).

    Raises:
        pydantic.ValidationError: ``data`` is not a :class:`ConversationClosedData` (the
            processor keeps the event with its error, counted ``events.failed``).
    """
    data = ConversationClosedData.model_validate(event.data)
    key = conversation_key(event.source, data.channel, data.business, data.customer)
    current = ctx.tx.active_interaction(key)
    if current is None:
        ctx.tx.count("conversations.closed_none")
        return
    actions.close(ctx, current.id, WrapUpCode.CLOSED_BY_CUSTOMER.value, note="closed by the customer")
    ctx.tx.count("conversations.closed_by_customer")
