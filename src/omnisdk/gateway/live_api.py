"""``GET /v1/events``: the live updates of an authenticated agent or supervisor, as
server-sent events (sse-starlette).

Events (``event:`` name, ``data:`` JSON):

- ``ready`` — first, with the stream's position as its ``id`` (so a reconnect resumes from
  here even if nothing happened yet); data ``{}``;
- ``interaction.state`` — a state change: ``interaction_id``, ``from_state``, ``to_state``,
  ``agent``, ``queue``, ``note`` (what a timer did, a transfer's reason …), ``at`` (RFC 3339 UTC);
  an offer is ``to_state: "offered"`` with the offered ``agent``;
- ``message.added`` — a message stored on an interaction: ``interaction_id``, ``message_id``,
  ``direction`` (inbound/outbound), ``kind``, ``text`` (null for media), ``at``;
- ``reset`` — the stream cannot resume (too far behind): reload the lists, then reconnect
  without ``Last-Event-ID``; the stream ends.

Each event's ``id`` is its position; a client that reconnects with ``Last-Event-ID`` (browsers'
``EventSource`` does it by itself) gets every event it missed, then the live ones
(:mod:`omnisdk.gateway.live_feed`).  Who sees what: an agent their queues' events and their
own work's; a supervisor their queues'; an admin everything (:func:`omnisdk.access.policy.may_see`);
``queue`` narrows it to one queue.  A comment line is sent every 15 s to keep proxies from
closing an idle stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from omnisdk.access.policy import may_see
from omnisdk.access.principals import Principal, Scope
from omnisdk.gateway.auth import need
from omnisdk.gateway.live_feed import RESET, Cursor, LiveFeed
from omnisdk.store.rows import FeedRow

router = APIRouter(tags=["live"])

EVENT_NAMES = {"state": "interaction.state", "message": "message.added"}
PING_SECONDS = 15


@router.get("/events", response_class=EventSourceResponse, responses={
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "A stream of server-sent events: ready, interaction.state, message.added, reset."},
    400: {"description": "A Last-Event-ID this stream did not give out."}})
async def events(
    request: Request,
    principal: Annotated[Principal, need(Scope.INTERACTIONS_READ)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40, description=(
        "Resume after this event (the id of the last one received).")), ] = None,
    queue: Annotated[str | None, Query(max_length=200, description="Only this queue's events.")] = None,
) -> Any:
    """Live updates: offers, state changes (timers' included) and messages of the work this
    caller may see, resumable with ``Last-Event-ID``."""
    since = Cursor.parse(last_event_id) if last_event_id else None  # ValueError: 400
    runtime = request.app.state.runtime
    feed: LiveFeed = request.app.state.live

    def sees(row: FeedRow) -> bool:
        return (queue is None or row.queue == queue) and may_see(principal, row.agent, row.queue,
                                                                 runtime.engine.agents)

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for item in feed.subscribe(sees, since):
            if isinstance(item, Cursor):
                yield {"event": "ready", "id": str(item), "data": "{}"}
            elif item is RESET:
                yield {"event": "reset", "data": "{}"}
                return
            else:
                cursor, row = item  # type: ignore[misc]
                yield {"event": EVENT_NAMES[row.kind], "id": str(cursor), "data": orjson.dumps(row.data).decode()}

    return EventSourceResponse(stream(), ping=PING_SECONDS, headers={"cache-control": "no-store"})


__all__ = ["router"]
