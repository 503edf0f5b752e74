"""The live feed behind ``GET /v1/events``: one reader of the store, fanned out to every
connected agent.

Every ``interval`` seconds while someone listens, one store read fetches the state changes and
messages committed since the last read (:meth:`~omnisdk.store.protocols.FeedStore.feed_after`)
and hands each one to the subscribers allowed to see it (:func:`omnisdk.access.policy.may_see`).
A state change is what the history keeps: offers, accepts, holds, transfers, wrap-up, closing,
and what timers did (an offer timing out, a wrap-up code applied) with the history's note.

Positions are a :class:`Cursor` — (last state change, last message) — sent as the SSE event id
``"<state>.<message>"``.  A subscriber that reconnects with ``Last-Event-ID`` first gets what it
missed, read from the store (the history and the messages are never pruned, so nothing is lost
however long it was away), up to ``replay_limit`` events; beyond that it gets a ``reset`` event
(reload the lists, then listen).  A subscriber that falls ``queue_size`` events behind is cut
off with ``reset`` too, never slowing the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnisdk.store.rows import FeedRow

if TYPE_CHECKING:
    from omnisdk.store.base import Store

log = logging.getLogger("omnisdk.gateway.live")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the feed: the last state change and the last message seen."""

    state: int
    message: int

    def __str__(self) -> str:
        return f"{self.state}.{self.message}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Raises ValueError: not an event id this feed gave out."""
        state, sep, message = text.strip().partition(".")
        if not sep or not state.isdigit() or not message.isdigit() or len(text) > 40:
            raise ValueError("Last-Event-ID is not an id this stream gave out")
        return cls(int(state), int(message))

    def after(self, row: FeedRow) -> Cursor:
        return Cursor(row.seq, self.message) if row.kind == "state" else Cursor(self.state, row.seq)


RESET = object()
"""Put in a subscriber's queue when it must reload instead of resuming."""


class _Subscriber:
    __slots__ = ("queue", "sees")

    def __init__(self, sees: Callable[[FeedRow], bool], size: int) -> None:
        self.sees = sees
        self.queue: asyncio.Queue[FeedRow | object] = asyncio.Queue(size)


class LiveFeed:
    """The feed of one gateway process.

    Args:
        store: the runtime's store.
        interval: seconds between two reads while someone listens.
        replay_limit: most events replayed to a reconnecting subscriber.
        queue_size: most events waiting for one subscriber.
    """

    def __init__(self, store: Store, *, interval: float = 0.02, replay_limit: int = 10_000,
                 queue_size: int = 10_000) -> None:
        self.store = store
        self.interval = interval
        self.replay_limit = replay_limit
        self.queue_size = queue_size
        self.position: Cursor | None = None
        self._subscribers: set[_Subscriber] = set()
        self._task: asyncio.Task[None] | None = None

    async def head(self) -> Cursor:
        """The feed's position now."""
        state, message = await self.store.transact(lambda tx: tx.feed_head())
        return Cursor(state, message)

    async def subscribe(self, sees: Callable[[FeedRow], bool],
                        since: Cursor | None = None) -> AsyncIterator[Cursor | tuple[Cursor, FeedRow] | object]:
        """First the :class:`Cursor` the subscription starts from; then ``(position after the
        event, event)`` for every event ``sees`` accepts, from ``since`` (None: from now), then
        live; :data:`RESET` when the subscriber must reload."""
        if self._task is None or self._task.done():  # nobody listened: the position is stale
            self.position = await self.head()
        assert self.position is not None
        sub = _Subscriber(sees, self.queue_size)
        start = self.position  # live rows from here on go to sub.queue: nothing falls between
        self._subscribers.add(sub)
        self._ensure_reader()
        try:
            seen = since or start  # per kind: what the subscriber has already had
            yield seen
            if since is not None and (since.state < start.state or since.message < start.message):
                rows = await self.store.transact(lambda tx: tx.feed_after(
                    seen.state, seen.message, state_upto=start.state, message_upto=start.message,
                    limit=self.replay_limit + 1))
                if sum(1 for r in rows if r.kind == "state") > self.replay_limit or \
                        sum(1 for r in rows if r.kind == "message") > self.replay_limit:
                    yield RESET
                    return
                cursor = seen
                for row in rows:
                    cursor = cursor.after(row)
                    if sees(row):
                        yield cursor, row
            while True:
                item = await sub.queue.get()
                if item is RESET:
                    yield RESET
                    return
                assert isinstance(item, tuple)
                cursor, row = item
                if row.seq > (seen.state if row.kind == "state" else seen.message):
                    yield Cursor(max(cursor.state, seen.state), max(cursor.message, seen.message)), row
        finally:
            self._subscribers.discard(sub)

    def _ensure_reader(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._read(), name="omnisdk-live-feed")

    async def _read(self) -> None:
        while self._subscribers:
            try:
                await self._tick()
            except Exception:  # a store hiccup: try again next tick, never kill the feed
                log.exception("live feed read failed")
            await asyncio.sleep(self.interval)

    async def _tick(self) -> None:
        assert self.position is not None
        here = self.position
        rows = await self.store.transact(lambda tx: tx.feed_after(here.state, here.message, limit=1000))
        cursor = here
        for row in rows:
            cursor = cursor.after(row)
            for sub in list(self._subscribers):
                if not sub.sees(row):
                    continue
                try:
                    sub.queue.put_nowait((cursor, row))
                except asyncio.QueueFull:
                    self._subscribers.discard(sub)
                    with contextlib.suppress(asyncio.QueueFull):
                        sub.queue.get_nowait()
                        sub.queue.put_nowait(RESET)
        self.position = cursor

    async def close(self) -> None:
        """Stop reading (the gateway shuts down)."""
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


__all__ = ["RESET", "Cursor", "LiveFeed"]
