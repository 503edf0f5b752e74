"""Events out, the writing half: each core event becomes a bus outbox row **in the transaction
of the change that caused it**, so an event is published (by :mod:`omnisdk.bus.events_out`)
if and only if its change committed.

:class:`EventsOutbox` is hooked where the outgoing webhooks queue their deliveries
(:mod:`omnisdk.outbound.subscriptions`): the processor calls :meth:`EventsOutbox.before_commit`
with each transaction's contexts (their ``emitted`` events: the inbox event applied, then the
interaction, case and agent events it caused), and the outbox worker calls
:meth:`EventsOutbox.write` with the ``io.omnisdk.outbound.*`` events of the transaction that
records a send's outcome.  Nothing is shaped again: the row's payload is the event in the
CloudEvents JSON format as :func:`omnisdk.events.dumps` writes it (the document
``cloudevents.core`` writes, ``tests/test_events.py``), the one outgoing webhooks deliver.

Each row is keyed by the ``Nats-Msg-Id`` :func:`omnisdk.bus.subjects.message_id` (the event's
``source`` and ``id``, both stable), so an event queued twice (a send recorded again after a
crash) is one row.  Counters (``omnisdk stats``): ``bus.events.queued`` (rows written),
``bus.events.backlog`` (rows waiting for their PubAck; the publisher takes them off),
``bus.events.unpublishable`` (an event whose type cannot be a NATS subject: logged, not
queued).  This module needs no NATS client: it only writes rows.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence

from omnisdk.bus.subjects import message_id
from omnisdk.events import Event, dumps
from omnisdk.lifecycle.context import Ctx
from omnisdk.store.protocols import Transaction
from omnisdk.store.rows import BusEventRow

log = logging.getLogger("omnisdk.bus.events")

_SUBJECT_TYPE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
"""A CloudEvents type usable as the last tokens of a NATS subject: dot-separated tokens without
spaces or wildcards (NATS subjects: https://docs.nats.io/nats-concepts/subjects)."""
MAX_TYPE_CHARS = 200


def publishable_type(event_type: str) -> bool:
    """``event_type`` can be the end of a subject (every type of ``docs/events.md`` can)."""
    return len(event_type) <= MAX_TYPE_CHARS and _SUBJECT_TYPE.fullmatch(event_type) is not None


class EventsOutbox:
    """Writes core events as bus outbox rows before each commit.

    Args:
        clock: epoch seconds, for the rows the outbox worker's events make (the runtime passes
            the processor's clock); rows of processor transactions take their context's time.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def __bool__(self) -> bool:
        return True  # the processor builds core events only when a hook wants them

    def before_commit(self, tx: Transaction, contexts: Sequence[Ctx]) -> None:
        """Queue every event of ``contexts`` (oldest first), in ``tx``."""
        if contexts:
            self.write(tx, (e for ctx in contexts for e in ctx.emitted), contexts[0].ts)

    def write(self, tx: Transaction, events: Iterable[Event], now: float | None = None) -> int:
        """Queue ``events`` in ``tx``, in their order; returns how many rows were written
        (an event already queued is not queued again).  ``now``: epoch seconds (default: the
        clock)."""
        at = self.clock() if now is None else now
        rows: list[BusEventRow] = []
        for event in events:
            if not publishable_type(event.type):
                log.warning("event %s of type %r not published: the type cannot be a NATS subject",
                            event.id, event.type[:80])
                tx.count("bus.events.unpublishable")
                continue
            rows.append(BusEventRow(msg_id=message_id(event.source, event.id), event_type=event.type,
                                    payload=dumps(event), created_at=at))
        if not rows:
            return 0
        queued = tx.enqueue_bus_events(rows)
        if queued:
            tx.count("bus.events.queued", queued)
            tx.count("bus.events.backlog", queued)
        return queued


__all__ = ["MAX_TYPE_CHARS", "EventsOutbox", "publishable_type"]
