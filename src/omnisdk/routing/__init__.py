"""Routing: queues, agents with per-channel capacity, and the assignment strategy."""

from omnisdk.routing.model import Agent, Presence, Queue
from omnisdk.routing.router import Router

__all__ = ["Agent", "Presence", "Queue", "Router"]
