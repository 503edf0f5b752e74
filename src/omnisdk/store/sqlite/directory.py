"""Agents and queues as configured and changed through the API (:class:`~omnisdk.store.protocols.DirectoryStore`).
"""

from __future__ import annotations

import sqlite3

from omnisdk.routing.model import Agent, Queue
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteDirectory(SQLiteAtomic):
    """The directory part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_agent(self, agent: Agent) -> None:
        if not isinstance(agent, Agent):
            raise TypeError(f"save_agent takes an Agent, not {type(agent).__name__}")
        try:
            self.c.execute("INSERT INTO agents (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                           (agent.id, agent.model_dump_json()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_agents(self) -> list[Agent]:
        try:
            return [Agent.model_validate_json(d) for (d,) in self.c.execute("SELECT doc FROM agents ORDER BY id")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def save_queue(self, queue: Queue) -> None:
        if not isinstance(queue, Queue):
            raise TypeError(f"save_queue takes a Queue, not {type(queue).__name__}")
        try:
            self.c.execute("INSERT INTO queues (name, doc) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                           (queue.name, queue.model_dump_json()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_queues(self) -> list[Queue]:
        try:
            return [Queue.model_validate_json(d) for (d,) in self.c.execute("SELECT doc FROM queues ORDER BY rowid")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
