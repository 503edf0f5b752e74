"""Routing: queues with conditions, agents with skills and capacity, and the engine."""

from omnisdk.routing.engine import CapacityError, RoutingEngine
from omnisdk.routing.model import Agent, Presence, Queue, Strategy

__all__ = ["Agent", "CapacityError", "Presence", "Queue", "RoutingEngine", "Strategy"]
