"""Queues and agents as configured (``[[routing.queues]]``, ``[[routing.agents]]``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from omnisdk.model.addresses import Channel


class Presence(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class Queue(BaseModel):
    """A routing target.  ``channels`` empty means every channel."""

    model_config = ConfigDict(extra="forbid")

    name: str
    channels: list[Channel] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list, description="Skills an agent needs for this queue.")

    def accepts(self, channel: Channel) -> bool:
        return not self.channels or channel in self.channels


class Agent(BaseModel):
    """An agent: presence, skills and capacity (max concurrent interactions per channel)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    presence: Presence = Presence.AVAILABLE
    skills: list[str] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list, description="Queue names; empty = every queue.")
    capacity: dict[Channel, int] = Field(
        default_factory=dict, description="Max concurrent interactions per channel (0 or absent = none)."
    )

    def serves(self, queue: Queue) -> bool:
        return (not self.queues or queue.name in self.queues) and set(queue.skills) <= set(self.skills)

    def free(self, channel: Channel, load: dict[str, int]) -> int:
        """Free capacity on ``channel`` given the agent's current load ``{channel: count}``."""
        return self.capacity.get(channel, 0) - load.get(channel.value, 0)
