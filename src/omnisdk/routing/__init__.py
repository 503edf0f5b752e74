"""Routing: queues with conditions, agents with skills and capacity, the engine, and dispatch.

:class:`omnisdk.routing.dispatch.Dispatch` applies the engine's decisions to interactions
(import it from its module: it builds on the lifecycle's primitives, and the store imports
this package for the agent and queue models).
"""

from omnisdk.routing.engine import CapacityError, RoutingEngine
from omnisdk.routing.model import Agent, Presence, Queue, Strategy

__all__ = ["Agent", "CapacityError", "Presence", "Queue", "RoutingEngine", "Strategy"]
