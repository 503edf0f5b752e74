"""Outgoing-webhook subscriptions: who wants which events, and the deliveries an operation
queues for them.

A subscription names CloudEvents types (``docs/events.md``): exact ones
(``io.omnisdk.interaction.closed``), a prefix ending in ``.*`` (``io.omnisdk.case.*``) or ``*``
for all.  The events are the ones the core emits with each committed operation — customers'
messages and statuses as received, interactions' lifecycle, cases, agents — and each matching
one becomes a :class:`~omnisdk.store.rows.DeliveryRow` **in the operation's own
transaction** (:class:`Subscriptions` is the processor's ``before_commit`` hook), so an event is
delivered at least once if and only if its change committed.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence

from omnisdk.events import Event, dumps
from omnisdk.ids import new_id
from omnisdk.lifecycle.context import Ctx
from omnisdk.store.base import Store, Transaction
from omnisdk.store.rows import DeliveryRow, SubscriptionRow

SECRET_PREFIX = "whsec_"
MAX_TYPES = 100


def check_event_types(types: Sequence[str]) -> tuple[str, ...]:
    """The event types of a subscription, sorted.

    Raises:
        ValueError: none, too many, or one that is not a type, a ``.*`` prefix or ``*``.
    """
    if not types or len(types) > MAX_TYPES:
        raise ValueError(f"a subscription names 1 to {MAX_TYPES} event types")
    for t in types:
        stem = t[:-2] if t.endswith(".*") else t
        if t != "*" and (not stem or len(t) > 200 or not all(p and p.replace("_", "").isalnum()
                                                             for p in stem.split("."))):
            raise ValueError(f"not an event type, a prefix ending in .* or *: {t!r}")
    return tuple(sorted(set(types)))


def matches(types: Iterable[str], event_type: str) -> bool:
    """``event_type`` is one of ``types`` (exact, ``prefix.*`` or ``*``)."""
    for t in types:
        if t == "*" or t == event_type or (t.endswith(".*") and event_type.startswith(t[:-1])):
            return True
    return False


def new_subscription(*, url: str, event_types: Sequence[str], created_at: str,
                     description: str | None = None) -> SubscriptionRow:
    """A new subscription with a fresh Standard Webhooks secret (``whsec_`` + base64 of 32
    random bytes).

    Raises:
        ValueError: bad event types (:func:`check_event_types`).
    """
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return SubscriptionRow(id=new_id(), url=url, event_types=check_event_types(event_types), secret=secret,
                           created_at=created_at, description=description)


class Subscriptions:
    """The subscriptions of one core process, kept in memory (the API reloads them after each
    change) and turned into deliveries before each commit.  A disabled subscription's events
    are queued too (held until it is enabled again: nothing is lost while it is off).

    Args:
        store: where they are kept.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.current: tuple[SubscriptionRow, ...] = ()

    async def reload(self) -> None:
        """Read the subscriptions again (after the API changed one, and at start-up)."""
        self.current = tuple(await self.store.transact(lambda tx: tx.list_subscriptions()))

    def __bool__(self) -> bool:
        return bool(self.current)

    def before_commit(self, tx: Transaction, contexts: Sequence[Ctx]) -> None:
        """Queue a delivery of each event of ``contexts`` to each subscription that wants it."""
        subs = self.current
        if not subs:
            return
        rows: list[DeliveryRow] = []
        for ctx in contexts:
            for event in ctx.emitted:
                payload: bytes | None = None
                for sub in subs:
                    if matches(sub.event_types, event.type):
                        payload = payload or dumps(event)
                        rows.append(_delivery(sub, event, payload, ctx.iso))
        if rows:
            tx.enqueue_deliveries(rows)


def _delivery(sub: SubscriptionRow, event: Event, payload: bytes, at: str) -> DeliveryRow:
    return DeliveryRow(id="msg_" + new_id(), subscription_id=sub.id, event_id=f"{event.source}#{event.id}",
                       event_type=event.type, payload=payload, created_at=at)


__all__ = ["SECRET_PREFIX", "Subscriptions", "check_event_types", "matches", "new_subscription"]
