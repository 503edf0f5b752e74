"""The live feed's reads on PostgreSQL (:class:`~omnisdk.store.protocols.FeedStore`): the
interaction history (``interaction_log.seq``) and the messages (``messages.seq``), both in
insertion order."""

from __future__ import annotations

import orjson
import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.rows import FeedRow

_BIG = 1 << 62


class PostgresFeed(PostgresAtomic):
    """The feed part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def feed_head(self) -> tuple[int, int]:
        try:
            state, message = self.run("SELECT (SELECT COALESCE(MAX(seq), 0) FROM interaction_log),"
                                      " (SELECT COALESCE(MAX(seq), 0) FROM messages)").fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return int(state), int(message)

    def feed_after(self, state_after: int, message_after: int, *, state_upto: int | None = None,
                   message_upto: int | None = None, limit: int = 1000) -> list[FeedRow]:
        try:
            states = self.run(
                "SELECT seq, interaction_id, at, from_state, to_state, agent, queue, note FROM interaction_log"
                " WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                (state_after, state_upto if state_upto is not None else _BIG, limit)).fetchall()
            messages = self.run(
                "SELECT m.seq, m.interaction_id, m.message_id, m.direction, m.kind, m.body, m.created_at,"
                " i.agent, i.queue FROM messages m LEFT JOIN interactions i ON i.id = m.interaction_id"
                " WHERE m.seq > %s AND m.seq <= %s AND m.interaction_id IS NOT NULL AND m.body IS NOT NULL"
                " ORDER BY m.seq LIMIT %s",
                (message_after, message_upto if message_upto is not None else _BIG, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        out = [FeedRow("state", seq, iid, agent, queue,
                       {"interaction_id": iid, "at": at, "from_state": src, "to_state": dst, "agent": agent,
                        "queue": queue, "note": note})
               for seq, iid, at, src, dst, agent, queue, note in states]
        for seq, iid, mid, direction, kind, body, at, agent, queue in messages:
            text = orjson.loads(body).get("text") if body else None
            out.append(FeedRow("message", seq, iid, agent, queue,
                               {"interaction_id": iid, "message_id": mid, "direction": direction, "kind": kind,
                                "text": text if isinstance(text, str) else None, "at": at}))
        return out


__all__ = ["PostgresFeed"]
