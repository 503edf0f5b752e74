"""Threading: which interaction a customer message belongs to.

One active interaction per conversation key (channel + business address + customer address,
or a key a plugin chooses through ``omnisdk_thread``).  A message with no active interaction
opens a new one, which the router then queues or offers; otherwise it is appended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from omnisdk.events import (
    TYPE_INTERACTION_CREATED,
    TYPE_INTERACTION_OFFERED,
    TYPE_INTERACTION_QUEUED,
    Event,
)
from omnisdk.lifecycle import transition
from omnisdk.model import Direction, Interaction, InteractionState, Message, RoutingSource
from omnisdk.model.addresses import conversation_key
from omnisdk.plugins import PluginHost
from omnisdk.routing import Router
from omnisdk.store.base import Transaction


@dataclass(slots=True)
class Threaded:
    """The outcome of threading one message."""

    interaction: Interaction
    created: bool
    emitted: list[Event] = field(default_factory=list)


def interaction_event(kind: str, interaction: Interaction, cause: Event | None = None) -> Event:
    """A core ``io.omnisdk.interaction.*`` event about ``interaction``."""
    return Event(
        id=f"{interaction.id}:{kind}:{interaction.updated_at.timestamp():.6f}",
        source="/omnisdk/core",
        type=kind,
        data=interaction.model_dump(mode="json"),
        time=interaction.updated_at.isoformat().replace("+00:00", "Z"),
        subject=interaction.id,
        partitionkey=interaction.conversation_key,
        correlationid=interaction.id,
        causationid=cause.id if cause else None,
        traceparent=cause.traceparent if cause else None,
    )


def thread_message(
    tx: Transaction,
    host: PluginHost,
    router: Router,
    event: Event,
    message: Message,
    now: datetime,
) -> Threaded:
    """Append ``message`` to its conversation's active interaction, or open and route one."""
    default = conversation_key(message.channel.value, message.business, message.customer)
    key = host.thread(message, default)
    tx.upsert_contact(message.channel.value, message.customer, message.customer_name, event.time or "")
    current = tx.active_interaction(key)
    emitted: list[Event] = []
    created = current is None
    if current is None:
        current = Interaction(
            id=uuid.uuid4().hex,
            channel=message.channel,
            direction=Direction.INBOUND,
            state=InteractionState.NEW,
            conversation_key=key,
            source=event.source,
            customer=message.customer,
            business=message.business,
            customer_name=message.customer_name,
            routing_source=RoutingSource.INTERNAL,
            created_at=now,
            updated_at=now,
        )
        emitted.append(interaction_event(TYPE_INTERACTION_CREATED, current, event))
        current = route(tx, router, current, now, emitted, event)
    current = current.model_copy(
        update={
            "message_count": current.message_count + 1,
            "updated_at": now,
            "customer_name": message.customer_name or current.customer_name,
        }
    )
    tx.save_interaction(current)
    return Threaded(current, created, emitted)


def route(
    tx: Transaction,
    router: Router,
    interaction: Interaction,
    now: datetime,
    emitted: list[Event],
    cause: Event | None = None,
) -> Interaction:
    """Queue ``interaction`` and offer it to an agent with free capacity, if there is one."""
    queue = router.queue_for(interaction)
    if interaction.state is not InteractionState.QUEUED:
        interaction = transition(interaction, InteractionState.QUEUED, now)
    interaction = interaction.model_copy(update={"queue": queue.name})
    agent = router.agent_for(tx, interaction, queue)
    if agent is None:
        emitted.append(interaction_event(TYPE_INTERACTION_QUEUED, interaction, cause))
        return interaction
    interaction = transition(interaction, InteractionState.OFFERED, now).model_copy(update={"agent": agent.id})
    emitted.append(interaction_event(TYPE_INTERACTION_OFFERED, interaction, cause))
    return interaction
