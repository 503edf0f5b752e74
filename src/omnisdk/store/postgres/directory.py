"""Agents and queues saved through the API, on PostgreSQL (:class:`~omnisdk.store.protocols.DirectoryStore`).
Queues keep the order they were first saved in (``seq``, as SQLite's ``rowid``)."""

from __future__ import annotations

import psycopg

from omnisdk.routing.model import Agent, Queue
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed


class PostgresDirectory(PostgresAtomic):
    """The directory part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def save_agent(self, agent: Agent) -> None:
        if not isinstance(agent, Agent):
            raise TypeError(f"save_agent takes an Agent, not {type(agent).__name__}")
        try:
            self.write("INSERT INTO agents (id, doc) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                       (agent.id, agent.model_dump_json()))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def list_agents(self) -> list[Agent]:
        try:
            return [Agent.model_validate_json(d) for (d,) in self.run("SELECT doc FROM agents ORDER BY id").fetchall()]
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def save_queue(self, queue: Queue) -> None:
        if not isinstance(queue, Queue):
            raise TypeError(f"save_queue takes a Queue, not {type(queue).__name__}")
        try:
            self.write("INSERT INTO queues (name, doc) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                       (queue.name, queue.model_dump_json()))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def list_queues(self) -> list[Queue]:
        try:
            return [Queue.model_validate_json(d) for (d,) in self.run("SELECT doc FROM queues ORDER BY seq").fetchall()]
        except psycopg.Error as exc:
            raise _failed(exc) from exc


__all__ = ["PostgresDirectory"]
