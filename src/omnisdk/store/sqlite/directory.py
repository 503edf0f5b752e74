"""Agents and queues as configured and changed through the API (:class:`~omnisdk.store.protocols.DirectoryStore`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from omnisdk.routing.model import Agent, Queue
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteDirectory(SQLiteAtomic):
    """The directory part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_agent(self, agent: Agent | dict[str, Any]) -> None:
        doc = agent.model_dump(mode="json") if isinstance(agent, Agent) else agent
        try:
            self.c.execute("INSERT INTO agents (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                           (doc["id"], orjson.dumps(doc).decode()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_agents(self) -> list[Agent]:
        try:
            return [Agent.model_validate_json(d) for (d,) in self.c.execute("SELECT doc FROM agents ORDER BY id")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def save_queue(self, queue: Queue | dict[str, Any]) -> None:
        doc = queue.model_dump(mode="json") if isinstance(queue, Queue) else queue
        try:
            self.c.execute("INSERT INTO queues (name, doc) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                           (doc["name"], orjson.dumps(doc).decode()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_queues(self) -> list[Queue]:
        try:
            return [Queue.model_validate_json(d) for (d,) in self.c.execute("SELECT doc FROM queues ORDER BY rowid")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
