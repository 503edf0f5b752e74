"""Hook specifications: every hook a plugin may implement, typed and documented.

Project name ``omnisdk``; every hook is prefixed ``omnisdk_``.  Implement them in a module
registered under the entry-point group ``omnisdk``::

    from omnisdk.hookspecs import hookimpl

    @hookimpl
    def omnisdk_adapters():
        return [WhatsAppAdapter]

Decision hooks are ``firstresult``: the first non-None result wins, later plugins are not
called.  Observer hooks (:data:`OBSERVER_HOOKS`) are called for every plugin, in pluggy's
order; one plugin raising does not stop the others (the core logs and goes on), and their
implementations cannot be wrappers.  The core calls hooks only through
:class:`omnisdk.plugins.PluginHost`, whose method for each hook has the hook's name, never
``pm.hook`` raw.  ``docs/plugin-contract.md``'s hook table is generated from this module
(``python -m omnisdk.catalog hooks docs/plugin-contract.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from omnisdk.adapters import ChannelAdapter
    from omnisdk.events import Event
    from omnisdk.lifecycle.bots import VirtualAgentTurn
    from omnisdk.model import Interaction, Message
    from omnisdk.model.directory import DirectoryUser
    from omnisdk.routing.model import Agent, Queue

PROJECT = "omnisdk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

OBSERVER_HOOKS = frozenset({
    "omnisdk_routing_attributes",
    "omnisdk_event",
    "omnisdk_external_route",
    "omnisdk_external_transfer",
    "omnisdk_external_wrap_up",
})
"""Hooks the core calls implementation by implementation, each isolated (one raising is logged
and the next is called), in pluggy's call order.  An implementation of one of them cannot be a
wrapper (``wrapper=True`` / ``hookwrapper=True``): the host refuses such a plugin."""


@hookspec
def omnisdk_adapters() -> Sequence[type[ChannelAdapter]]:
    """Return the channel adapter classes this plugin provides (``ChannelAdapter`` subclasses).

    Called: at registration (to check them), when the host lists adapters, by ``omnisdk plugins``.

    Each class's ``name`` must be unique across installed plugins; it is the URL segment of
    ``/webhooks/{name}/{account}`` and the table name in the configuration.
    """


@hookspec(firstresult=True)
def omnisdk_thread(message: Message, default_key: str) -> str | None:
    """Choose the conversation key a customer message threads into.

    Called: for each customer message, when the processor applies it.

    ``default_key`` is ``provider/account:channel:business:customer``.  Return another key to thread
    differently (an email plugin threading on References), or None to keep looking.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def omnisdk_select_queue(interaction: Interaction, queues: Sequence[Queue]) -> str | None:
    """Choose the queue name for a new interaction, or None to let the core decide.

    Called: when an interaction that has no queue yet is routed (a new inbound interaction, or
    an outbound one being re-routed), with the queues in evaluation order.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def omnisdk_select_agent(
    interaction: Interaction, queue: Queue, candidates: Sequence[Agent]
) -> str | None:
    """Choose the agent id among ``candidates`` (each has free capacity on the channel).

    Called: each time the core looks for an agent (new interaction, drain, re-route) and neither
    the parked owner nor affinity decided, if at least one agent is free in the queue's pool.

    Return None to let the core's strategy decide.  A returned id not among the candidates is
    ignored (capacity is never exceeded).

    Stops at first non-None result.
    """


@hookspec
def omnisdk_routing_attributes(interaction: Interaction, message: Message) -> dict[str, str] | None:
    """Attributes for routing a new interaction, from its first message: a language detector,
    a CRM lookup (VIP tier, account id), an intent classifier.

    Called: once per new inbound interaction, with its first message, before the queue is
    chosen; on the processor's thread: keep it fast (no network).

    Queue conditions match the result (``languages`` on the ``language`` key, ``attributes`` on
    the rest).  Every plugin is called, in pluggy's order; results are merged, and on the same
    key the plugin called first wins (``tryfirst`` beats the others).  A plugin that raises is
    logged and skipped."""


@hookspec
def omnisdk_event(event: Event) -> None:
    """Observe every event once it is applied: inbound facts (durable in the inbox) and the
    core's own events (``io.omnisdk.interaction.*``, ``io.omnisdk.outbound.*``).

    Called: after the event's transaction commits, for each event, on the event loop.

    Delivery to observers is at-most-once (a crash between the commit
    and the call skips it); the durable record is the store.  Must not block."""


@hookspec(firstresult=True)
def omnisdk_virtual_agent_turn(
    interaction: Interaction, message: Message, history: Sequence[dict]
) -> VirtualAgentTurn | None:
    """Let a bot answer a customer message of an interaction it owns
    (``interaction.virtual_agent`` names it; queues with ``virtual_agent`` hand new work to it).

    Called: for each customer message to an interaction a bot owns, the message that opened it
    included (with an empty ``history``).

    Return a :class:`omnisdk.lifecycle.bots.VirtualAgentTurn`: a reply to send, and/or
    ``escalate=True`` to hand the interaction — with ``context`` and its whole history — to a
    live agent through the queue (or ``queue``).  ``history`` is the interaction's messages,
    oldest first.  Return None if this plugin does not run that bot.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def omnisdk_summarize(interaction: Interaction, messages: Sequence[dict]) -> str | None:
    """Summarize an interaction's thread for an agent (any channel; an email thread's quotes
    are already cut from each message's ``text``).

    Called: on demand, by ``omnisdk summary`` and ``GET /v1/interactions/{id}/summary``, outside
    any transaction and in a worker thread (``asyncio.to_thread``): a plugin may block on I/O
    (an LLM call) without stopping the gateway.

    ``messages`` are the interaction's messages, oldest first (``direction``, ``kind``,
    ``body`` with ``text``, ``created_at``).  Return the summary as plain text, or None to let
    the next plugin, and finally the core's local extractive summary
    (:func:`omnisdk.summaries.extractive_summary`), answer.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def omnisdk_lookup_requester(channel: str, address: str) -> Sequence[DirectoryUser] | None:
    """Look up who writes from ``address`` on ``channel`` in a CRM or user directory (an E.164
    number on sms): the requester of a messaging profile (docs/sms.md).

    Called: when a customer message opens an interaction on a channel with messaging profiles
    (sms), and when an agent starts one there, inside the store transaction that threads it:
    answer from memory or a cache, never block on a slow call.

    Return the :class:`omnisdk.model.directory.DirectoryUser` records whose phones include the
    address (an empty list: nobody), or None to let the next plugin, and finally the
    directory imported with ``omnisdk import directory``, answer.  Two or more users are a
    conflict an agent resolves, never a merge.  An implementation that raises, or answers
    anything else, is logged and the imported directory answers (the message is threaded).

    Stops at first non-None result.
    """


@hookspec
def omnisdk_external_route(interaction: Interaction, queue: Queue) -> None:
    """An interaction entered a queue whose ``routing_source`` is ``external``: the CCaaS
    plugin named by ``queue.connector`` routes it and reports offers, accepts and its end back
    as ``io.omnisdk.routing.*`` events (or through the agent API).  The core does not assign it.

    Called: after the transaction commits, on the event loop: must not block (schedule I/O as
    a task).

    A :class:`omnisdk.connectors.CCaaSConnector` needs none of these hooks: the core writes
    its calls to the outbox in the decision's transaction
    (:mod:`omnisdk.outbound.connector_calls`).  These notifications stay for other plugins,
    at most once."""


@hookspec
def omnisdk_external_transfer(
    interaction: Interaction,
    to_agent: str | None,
    to_queue: str | None,
    queue: Queue | None,
    target_queue: Queue | None,
) -> None:
    """An externally routed interaction was transferred (sync it to the CCaaS).

    Called: after the transfer's transaction commits, on the event loop.

    ``interaction`` is as it was before the transfer; ``queue`` is the queue it was in (its
    ``connector`` routes it); ``target_queue`` is the :class:`Queue` named by ``to_queue``.
    When ``target_queue`` is not routed by the same connector, routing control leaves the
    CCaaS (the core, or another connector's ``omnisdk_external_route``, takes it).
    Implementations may accept a subset of the arguments."""


@hookspec
def omnisdk_external_wrap_up(interaction: Interaction, code: str, queue: Queue | None) -> None:
    """An externally routed interaction was closed by the core with a wrap-up code (sync it to
    the CCaaS); routing control returns to the core for the conversation's next interaction.

    Called: after the close commits, on the event loop; not when the close came from the CCaaS
    itself (``io.omnisdk.routing.ended``).

    ``queue`` is the interaction's queue."""
