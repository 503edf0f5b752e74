"""The per-operation context: the transaction, the time, and the events to emit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from omnisdk.events import Event
from omnisdk.store.base import Transaction


@dataclass(slots=True)
class Ctx:
    """One operation: its store transaction, its UTC ``now``, the events it causes, and the
    event that caused it (for ``causationid``)."""

    tx: Transaction
    now: datetime
    emitted: list[Event] = field(default_factory=list)
    cause: Event | None = None
    outbox: int = 0

    @property
    def ts(self) -> float:
        """``now`` as epoch seconds."""
        return self.now.timestamp()

    @property
    def iso(self) -> str:
        return self.now.isoformat().replace("+00:00", "Z")
