"""The column lists and row readers both SQL stores share: the tables of the API keys, the
outgoing webhooks, the bus outbox and the messaging profiles have the same columns in SQLite and PostgreSQL
(their migrations keep them so), so a result row turns into its typed row (:mod:`omnisdk.store.rows`)
the same way in both.  JSON lists are stored as text; SQLite's 0/1 and PostgreSQL's booleans
both read as ``bool``.  :func:`newest_of_addresses` is the lookup of a contact's interactions
both make, around their own SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

import orjson

from omnisdk.model import Interaction
from omnisdk.store.rows import (
    ApiKeyRow,
    BusEventRow,
    DeliveryRow,
    DirectoryUser,
    InteractionSummary,
    MessagingProfile,
    SubscriptionRow,
)

API_KEY_COLUMNS = "id, name, role, scopes, secret_hash, created_at, agent, queues, revoked_at"
SUBSCRIPTION_COLUMNS = "id, url, event_types, secret, created_at, description, state, disabled_reason, failures"
DELIVERY_COLUMNS = ("id, subscription_id, event_id, event_type, payload, created_at, state, attempts, next_attempt_at,"
                    " last_status, last_error, delivered_at")
BUS_EVENT_COLUMNS = "seq, msg_id, event_type, payload, created_at, attempts, next_attempt_at, state, last_error"
BUS_BACKLOG = "SELECT count(*), min(created_at) FROM bus_outbox WHERE state = 'pending'"
"""The bus outbox's backlog: pending rows and the oldest one's ``created_at`` (NULL: none)."""
SELECT_PROFILE = ("SELECT id, channel, address, created_at, user_id, active, conflict, deactivated_at,"
                  " verified_by FROM messaging_profiles")


def api_key(row: tuple[Any, ...]) -> ApiKeyRow:
    """A row of :data:`API_KEY_COLUMNS`."""
    key_id, name, role, scopes, secret_hash, created_at, agent, queues, revoked_at = row
    return ApiKeyRow(id=key_id, name=name, role=role, scopes=tuple(orjson.loads(scopes)), secret_hash=secret_hash,
                     created_at=created_at, agent=agent,
                     queues=tuple(orjson.loads(queues)) if queues is not None else None, revoked_at=revoked_at)


def bus_event(r: tuple[Any, ...]) -> BusEventRow:
    """A row of :data:`BUS_EVENT_COLUMNS` (``payload`` as bytes whatever the driver hands back)."""
    seq, msg_id, event_type, payload, created_at, attempts, next_attempt_at, state, last_error = r
    return BusEventRow(msg_id=msg_id, event_type=event_type, payload=bytes(payload), created_at=created_at, seq=seq,
                       attempts=attempts, next_attempt_at=next_attempt_at, state=state, last_error=last_error)


def subscription(r: tuple[Any, ...]) -> SubscriptionRow:
    """A row of :data:`SUBSCRIPTION_COLUMNS`."""
    return SubscriptionRow(id=r[0], url=r[1], event_types=tuple(orjson.loads(r[2])), secret=r[3], created_at=r[4],
                           description=r[5], state=r[6], disabled_reason=r[7], failures=r[8])


def delivery(r: tuple[Any, ...]) -> DeliveryRow:
    """A row of :data:`DELIVERY_COLUMNS`."""
    return DeliveryRow(id=r[0], subscription_id=r[1], event_id=r[2], event_type=r[3], payload=bytes(r[4]),
                       created_at=r[5], state=r[6], attempts=r[7], next_attempt_at=r[8], last_status=r[9],
                       last_error=r[10], delivered_at=r[11])


def directory_user(row: tuple[Any, ...]) -> DirectoryUser:
    """A row of ``id, name, phones, emails`` of ``directory_users``."""
    return DirectoryUser(row[0], row[1], tuple(orjson.loads(row[2])), tuple(orjson.loads(row[3])))


def messaging_profile(row: tuple[Any, ...]) -> MessagingProfile:
    """A row of :data:`SELECT_PROFILE`."""
    return MessagingProfile(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], row[8])


R = TypeVar("R")

INTERACTION_SUMMARY_COLUMNS = "id, channel, state, created_at, wrap_up_code, case_id"
"""The ``interactions`` columns of an :class:`InteractionSummary` (migration 16 added the last
two), in its fields' order: a summary is read without the interaction's document."""


def newest_of_addresses(addresses: Sequence[tuple[str, str]], limit: int,
                        fetch: Callable[[str, str, int], Iterable[tuple[Any, ...]]],
                        read: Callable[[tuple[Any, ...]], R]) -> list[R]:
    """The newest ``limit`` interactions with any of these ``(channel, customer)`` addresses,
    newest (highest id) first, each made by ``read`` from its row.

    ``fetch(channel, customer, limit)`` is the store's query of one address: its newest
    ``limit`` rows of the ``interactions`` table, the id first (one index lookup each: customer,
    channel, id).  It raises the store's own errors, which pass through unchanged.
    """
    rows: list[tuple[Any, ...]] = []
    for channel, customer in addresses:
        rows += fetch(channel, customer, limit)
    rows.sort(key=itemgetter(0), reverse=True)
    return [read(row) for row in rows[:limit]]


def summary_of_row(row: tuple[Any, ...]) -> InteractionSummary:
    """An :class:`InteractionSummary` of a row of :data:`INTERACTION_SUMMARY_COLUMNS`
    (``created_at`` as the column holds it: ``datetime.isoformat`` of the UTC time).  Reading
    columns is a fraction of parsing each past interaction's document, which the caller's
    context of every incoming call did for up to 20 of them."""
    return InteractionSummary(*row)


def interaction_of_row(row: tuple[Any, ...]) -> Interaction:
    """The interaction of an ``(id, doc)`` row (its document, validated)."""
    return Interaction.model_validate_json(row[1])
