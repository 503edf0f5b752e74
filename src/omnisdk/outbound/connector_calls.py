"""Durable connector calls: CCaaS route, transfer, wrap-up, park and disconnect, and the CTI's
call commands, as outbox rows written in the transaction of the decision that causes them.

**Where they live.**  In the existing ``outbox`` table, as a row *kind* marked by its payload
(``{"connector_call": {...}, "interaction_id"}``), exactly as read receipts are
(``{"read_receipt": ...}``).  No sibling table and no store migration: the outbox already has
what a durable call needs (a per-interaction unique idempotency key fixed at enqueue, ``pending``
/ ``sending`` / ``sent`` / ``failed`` states, attempts, ``next_attempt_at``, crash recovery by
:meth:`~omnisdk.store.protocols.OutboxStore.requeue_stale_sending`), on both stores.  The row's
``plugin`` / ``account`` are the connector account's.

**The payload** (``connector_call``): ``op`` is one of

==========  ===========================================  ====================================
op          fields                                       connector method
==========  ===========================================  ====================================
route       ``interaction``, ``queue``                   ``CCaaSConnector.route``
transfer    ``interaction``, ``to_agent``, ``to_queue``  ``CCaaSConnector.transfer``
disconnect  ``interaction``                              ``CCaaSConnector.disconnect``
close       ``interaction``, ``code``                    ``wrap_up`` (an OmniError such as an
                                                         unmapped code is logged) then
                                                         ``disconnect``, in one row so they
                                                         keep their order
park        ``interaction``                              ``CCaaSConnector.park`` (queued only
                                                         when the connector overrides it)
unpark      ``interaction``                              ``CCaaSConnector.unpark`` (likewise)
control     ``command`` (a :class:`CallCommand`)         ``CTIConnector.control``
dial        ``call`` (an :class:`OutboundCall`, by       ``CTIConnector.place_call``
            alias: ``from``)                             (click-to-dial; the attempt's result
                                                         is the :class:`PlacedCall`, its call
                                                         id kept as the row's provider id)
==========  ===========================================  ====================================

``interaction`` is the interaction as the decision left it (JSON, ``Interaction.model_dump``).

**The idempotency reference** is the row's key, fixed before the first attempt
(``{op}:{interaction id}:{n}``, ``n`` from the store sequence ``connector_call:{interaction id}``,
written in the same transaction; a call command's own ``key``; a dial's ``dial:{interaction id}``).  During an attempt it is
:data:`omnisdk.connectors.CALL_KEY`, which :meth:`omnisdk.connectors.CCaaSConnector.api` sends as
the request's idempotency key when the connector passes none: the connector methods plugins
implement keep their signatures.  A crash after the commit and before the call leaves the row
``pending`` (sent after restart); a crash after the call and before its record leaves it
``sending``, requeued on restart and sent again **with the same key** (a provider honouring the
key does it once).

**Retries** are the outbox's: a retryable failure (:func:`omnisdk.outbound.http.is_retryable`:
429, 5xx, connection, timeout) goes back to ``pending`` with the outbox's doubling backoff;
anything else (a :class:`~omnisdk.connectors.MappingError`, a 4xx, a connector bug) fails the
row at once, logged and counted.

**A call that fails for good** (not retryable, or out of attempts) is handed to the worker's
``on_connector_call_failed`` callback after its record is committed: the call controls close
an outbound call's interaction whose dial failed (:mod:`omnisdk.voice.controls`).

**Counters** (``omnisdk stats``, ``GET /v1/stats``): ``connector_calls.queued``, ``.sent``,
``.retried``, ``.failed``, and the gauge ``connector_calls.backlog`` (queued and not yet sent or
failed: a CCaaS outage shows here).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from omnisdk.adapters import ChannelAdapter
from omnisdk.connectors import (
    BRIDGE_NAME,
    CALL_KEY,
    CallCommand,
    CCaaSConnector,
    ConnectorBridge,
    CTIConnector,
    OutboundCall,
    PlacedCall,
)
from omnisdk.errors import OmniError
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction
from omnisdk.store.rows import OutboxRow

if TYPE_CHECKING:
    from omnisdk.plugins import PluginHost
    from omnisdk.routing.model import Queue

log = logging.getLogger("omnisdk.connectors")

KIND = "connector_call"
"""The payload field that marks an outbox row as a connector call."""
CALLED = object()
"""What an attempt returns when the connector call went through."""
OPS = frozenset({"route", "transfer", "disconnect", "close", "park", "unpark", "control", "dial"})
FIRST_ATTEMPT_BY_CALLER = frozenset({"control", "dial"})
"""Ops whose first attempt the call controls make themselves (the worker is not woken for them)."""


def op_of(row: OutboxRow) -> str | None:
    """The ``op`` of a connector-call row (None for another row)."""
    call = row.payload.get(KIND)
    return str(call.get("op")) if isinstance(call, dict) and call.get("op") else None


def is_connector_call(row: OutboxRow) -> bool:
    """True when ``row`` is a connector call (not a message to a customer)."""
    return KIND in row.payload


def _bridge(host: PluginHost) -> ConnectorBridge | None:
    bridge = host.pm.get_plugin(BRIDGE_NAME)
    return bridge if isinstance(bridge, ConnectorBridge) else None


def routing_connector(host: PluginHost, queue: Queue | None) -> tuple[str, str] | None:
    """``(plugin, account)`` of the CCaaS connector account that routes ``queue`` (its
    ``connector`` resolved as the bridge resolves it: a bare plugin name only when that plugin
    has one account), or None."""
    bridge = _bridge(host)
    connector = bridge.connector_for(queue) if bridge is not None else None
    return None if connector is None else (connector.name, connector.account)


def enqueue_call(ctx: Ctx, plugin: str, account: str, interaction_id: str, op: str, fields: dict[str, Any],
                 key: str | None = None) -> bool:
    """Write one connector call to the outbox in ``ctx``'s transaction (sent after the commit).

    ``key``: the idempotency reference (default ``{op}:{interaction_id}:{n}``, see the module
    docstring).  Returns True when a row was added (False: ``key`` was queued already).

    Raises:
        ValueError: an unknown ``op``.  IdempotencyConflict: ``key`` was queued with other fields.
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {sorted(OPS)}")
    if key is None:
        key = f"{op}:{interaction_id}:{ctx.tx.next_number(f'{KIND}:{interaction_id}')}"
    payload: dict[str, Any] = {KIND: {"op": op, **fields}, "interaction_id": interaction_id}
    added = ctx.tx.enqueue_outbox(idempotency_key=key, plugin=plugin, account=account, interaction_id=interaction_id,
                                  payload=payload, now=ctx.ts)
    if added:
        if op not in FIRST_ATTEMPT_BY_CALLER:  # a call command's or dial's first attempt is the control's own
            ctx.outbox += 1  # wake the worker after the commit
        ctx.tx.count("connector_calls.queued")
        ctx.tx.count("connector_calls.backlog")
    return bool(added)


def _ccaas(ctx: Ctx, host: PluginHost, routing: Queue | None, op: str, interaction: Interaction,
           **fields: Any) -> bool:
    bridge = _bridge(host)
    connector = bridge.connector_for(routing) if bridge is not None else None
    if connector is None:
        return False
    return enqueue_call(ctx, connector.name, connector.account, interaction.id, op,
                        {"interaction": interaction.model_dump(mode="json"), **fields})


def queue_route(ctx: Ctx, host: PluginHost, interaction: Interaction, queue: Queue) -> bool:
    """Queue ``route`` to the CCaaS routing ``queue`` (nothing when no connector routes it)."""
    return _ccaas(ctx, host, queue, "route", interaction, queue=queue.name)


def queue_transfer(ctx: Ctx, host: PluginHost, interaction: Interaction, to_agent: str | None,
                   to_queue: str | None, queue: Queue | None, target_queue: Queue | None) -> bool:
    """Queue a transfer: ``transfer`` when the target stays with the connector of ``queue``,
    else ``disconnect`` (routing control leaves it)."""
    bridge = _bridge(host)
    connector = bridge.connector_for(queue) if bridge is not None else None
    if connector is None or bridge is None:
        return False
    if to_queue is not None and bridge.connector_for(target_queue) is not connector:
        return _ccaas(ctx, host, queue, "disconnect", interaction)
    return _ccaas(ctx, host, queue, "transfer", interaction, to_agent=to_agent, to_queue=to_queue)


def queue_park(ctx: Ctx, host: PluginHost, interaction: Interaction, queue: Queue | None, *,
               unpark: bool = False) -> bool:
    """Queue ``park`` (or ``unpark``) to the CCaaS of ``queue``, when that connector parks
    (:attr:`~omnisdk.connectors.CCaaSConnector.parks`); nothing otherwise."""
    bridge = _bridge(host)
    connector = bridge.connector_for(queue) if bridge is not None else None
    if connector is None or not connector.parks:
        return False
    return _ccaas(ctx, host, queue, "unpark" if unpark else "park", interaction)


def queue_close(ctx: Ctx, host: PluginHost, interaction: Interaction, code: str, queue: Queue | None) -> bool:
    """Queue ``close`` (wrap-up code, then disconnect) to the CCaaS of ``queue``."""
    return _ccaas(ctx, host, queue, "close", interaction, code=code)


def queue_command(ctx: Ctx, connector: CTIConnector, command: CallCommand) -> bool:
    """Queue a CTI call command under its own ``key`` (its first attempt is the caller's)."""
    return enqueue_call(ctx, connector.name, connector.account, command.interaction_id, "control",
                        {"command": command.model_dump(mode="json")}, key=command.key)


def queue_command_for(ctx: Ctx, source: str, command: CallCommand) -> bool:
    """Queue a CTI call command of account ``source`` (``/cti_twilio/acme``) that no control
    attempts itself (one a call event causes): the worker is woken after the commit."""
    plugin, _, account = source.strip("/").partition("/")
    added = enqueue_call(ctx, plugin, account, command.interaction_id, "control",
                         {"command": command.model_dump(mode="json")}, key=command.key)
    if added:
        ctx.outbox += 1
    return added


def queue_dial(ctx: Ctx, connector: CTIConnector, call: OutboundCall) -> bool:
    """Queue click-to-dial (``place_call``) under ``dial:{interaction id}`` (made once, here).

    Raises:
        ValueError: ``call`` names no interaction.
    """
    if not call.interaction_id:
        raise ValueError("a queued dial needs the interaction it belongs to")
    return enqueue_call(ctx, connector.name, connector.account, call.interaction_id, "dial",
                        {"call": call.model_dump(mode="json", by_alias=True)}, key=f"dial:{call.interaction_id}")


async def _ccaas_call(connector: CCaaSConnector, op: str, call: dict[str, Any]) -> None:
    inter = Interaction.model_validate(call["interaction"])
    if op == "route":
        await connector.route(inter, str(call["queue"]))
    elif op == "transfer":
        await connector.transfer(inter, to_agent=call.get("to_agent"), to_queue=call.get("to_queue"))
    elif op == "disconnect":
        await connector.disconnect(inter)
    elif op == "close":
        try:
            await connector.wrap_up(inter, str(call["code"]))
        except OmniError as exc:  # an unmapped code must not keep the conversation open
            log.error("%s/%s: wrap_up of interaction %s failed (not retried): %s: %s", connector.name,
                      connector.account, inter.id, type(exc).__name__, exc)
        await connector.disconnect(inter)
    elif op == "park":
        await connector.park(inter)
    else:
        await connector.unpark(inter)


async def attempt(adapter: ChannelAdapter | None, row: OutboxRow) -> object:
    """One attempt at a connector-call row: :data:`CALLED` (a dial: the :class:`PlacedCall`),
    or the exception (never raises)."""
    call = row.payload[KIND]
    op = call.get("op")
    token = CALL_KEY.set(row.idempotency_key)
    try:
        if op in FIRST_ATTEMPT_BY_CALLER:
            if not isinstance(adapter, CTIConnector):
                return LookupError(f"no CTI connector {row.plugin}/{row.account}")
            if op == "dial":
                return await adapter.place_call(OutboundCall.model_validate(call["call"]))
            await adapter.control(CallCommand.model_validate(call["command"]))
        else:
            if not isinstance(adapter, CCaaSConnector):
                return LookupError(f"no CCaaS connector {row.plugin}/{row.account}")
            if op not in OPS:
                return ValueError(f"unknown connector call {op!r}")
            await _ccaas_call(adapter, str(op), call)
        return CALLED
    except Exception as exc:  # typed (OutboundError, MappingError …) or a connector bug: the row records it
        if not isinstance(exc, (OmniError, ValueError, NotImplementedError)):
            log.exception("%s/%s: %s crashed (a connector bug)", row.plugin, row.account, op)
        return exc
    finally:
        CALL_KEY.reset(token)


def succeeded(result: object) -> bool:
    """True when an attempt's result is a success (:data:`CALLED` or a :class:`PlacedCall`)."""
    return result is CALLED or isinstance(result, PlacedCall)


def describe(row: OutboxRow) -> str:
    """``{op} of interaction {id}`` for logs (no payload, no credential)."""
    return f"{row.payload[KIND].get('op')} of interaction {row.interaction_id}"
