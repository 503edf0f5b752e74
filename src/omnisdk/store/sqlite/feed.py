"""The live feed's reads (:class:`~omnisdk.store.protocols.FeedStore`): the interaction history
(``interaction_log.seq``) and the messages (their ``rowid``, in insertion order)."""

from __future__ import annotations

import sqlite3

import orjson

from omnisdk.store.rows import FeedRow
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed

_BIG = 1 << 62


class SQLiteFeed(SQLiteAtomic):
    """The feed part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def feed_head(self) -> tuple[int, int]:
        try:
            (state,) = self.c.execute("SELECT COALESCE(MAX(seq), 0) FROM interaction_log").fetchone()
            (message,) = self.c.execute("SELECT COALESCE(MAX(rowid), 0) FROM messages").fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return int(state), int(message)

    def feed_after(self, state_after: int, message_after: int, *, state_upto: int | None = None,
                   message_upto: int | None = None, limit: int = 1000) -> list[FeedRow]:
        try:
            states = self.c.execute(
                "SELECT seq, interaction_id, at, from_state, to_state, agent, queue, note FROM interaction_log"
                " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                (state_after, state_upto if state_upto is not None else _BIG, limit)).fetchall()
            messages = self.c.execute(
                "SELECT m.rowid, m.interaction_id, m.message_id, m.direction, m.kind, m.body, m.created_at,"
                " i.agent, i.queue FROM messages m LEFT JOIN interactions i ON i.id = m.interaction_id"
                " WHERE m.rowid > ? AND m.rowid <= ? AND m.interaction_id IS NOT NULL AND m.body IS NOT NULL"
                " ORDER BY m.rowid LIMIT ?",
                (message_after, message_upto if message_upto is not None else _BIG, limit)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        out = [FeedRow("state", seq, iid, agent, queue,
                       {"interaction_id": iid, "at": at, "from_state": src, "to_state": dst, "agent": agent,
                        "queue": queue, "note": note})
               for seq, iid, at, src, dst, agent, queue, note in states]
        for rowid, iid, mid, direction, kind, body, at, agent, queue in messages:
            text = orjson.loads(body).get("text") if body else None
            out.append(FeedRow("message", rowid, iid, agent, queue,
                               {"interaction_id": iid, "message_id": mid, "direction": direction, "kind": kind,
                                "text": text if isinstance(text, str) else None, "at": at}))
        return out
