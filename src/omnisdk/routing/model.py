"""Queues and agents (``[[routing.queues]]``, ``[[routing.agents]]``, or the agent API).

Capacity, after ServiceNow AWA, Genesys and TaskRouter: an agent has a maximum number of
concurrent interactions per channel **and** a universal cap in units, where each channel's
item costs a configured size (a call 1.0, a chat 0.25 …).  Free slots on a channel are the
smaller of the two limits.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnisdk.model.addresses import Channel, ChannelName
from omnisdk.model.interactions import RoutingSource


class Presence(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class Strategy(StrEnum):
    """How a queue chooses among agents with free capacity."""

    MOST_AVAILABLE = "most_available"
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"


DEFAULT_ITEM_SIZE: dict[str, float] = {
    Channel.VOICE: 1.0,
    Channel.EMAIL: 0.5,
}
"""Units one item of a channel costs against an agent's universal cap (others: 0.25)."""


class Queue(BaseModel):
    """A routing target with its routing conditions.

    Queues are evaluated in configuration order; the first whose conditions all hold takes
    the interaction (a plugin may choose instead: ``omnisdk_select_queue``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    channels: list[ChannelName] = Field(default_factory=list, description="Empty: every channel.")
    languages: list[str] = Field(default_factory=list, description="Empty: any language.")
    keywords: list[str] = Field(default_factory=list, description="Any of these in the first message (case-insensitive).")
    attributes: dict[str, str] = Field(default_factory=dict, description="Interaction attributes that must match.")
    skills: dict[str, int] = Field(default_factory=dict, description="Required skill → minimum proficiency (1–5).")
    priority: int = Field(0, description="Higher is served first when agents free up.")
    strategy: Strategy = Strategy.MOST_AVAILABLE
    offer_timeout: float = Field(30.0, gt=0, description="Seconds an agent has to accept an offer.")
    reoffer_after: float = Field(
        60.0, gt=0, description="Seconds an agent who rejected or missed an offer is skipped for it."
    )
    overflow_to: str | None = Field(None, description="Queue to move waiting interactions to.")
    overflow_after: float | None = Field(None, gt=0, description="Seconds of waiting before overflow.")
    routing_source: RoutingSource = Field(RoutingSource.INTERNAL, description="external: a CCaaS plugin routes.")
    connector: str | None = Field(None, description="CCaaS plugin name, for routing_source external.")
    virtual_agent: str | None = Field(None, description="Bot that answers first (omnisdk_virtual_agent_turn).")

    @field_validator("skills", mode="before")
    @classmethod
    def _skills(cls, v: Any) -> Any:
        return {s: 1 for s in v} if isinstance(v, list) else v

    @property
    def _primary_languages(self) -> frozenset[str]:
        return frozenset(x.split("-")[0] for x in self.languages)

    def accepts(self, channel: str) -> bool:
        return not self.channels or channel in self.channels

    def matches(self, channel: str, language: str | None, text: str | None, attributes: dict[str, str],
                *, lowered: bool = False) -> bool:
        """True when every routing condition of the queue holds (``lowered``: ``text`` is
        already lower-case)."""
        if self.channels and channel not in self.channels:
            return False
        if self.languages and (language is None or language.split("-")[0] not in self._primary_languages):
            return False
        if self.keywords:
            low = (text or "") if lowered else (text or "").lower()
            if not any(k.lower() in low for k in self.keywords):
                return False
        return all(attributes.get(k) == v for k, v in self.attributes.items())


class Agent(BaseModel):
    """An agent: presence, skills with proficiency, capacity per channel and a universal cap."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    presence: Presence = Presence.AVAILABLE
    skills: dict[str, int] = Field(default_factory=dict, description="Skill → proficiency (1–5).")
    queues: list[str] = Field(default_factory=list, description="Queue names; empty = every queue.")
    capacity: dict[ChannelName, int] = Field(
        default_factory=dict, description="Max concurrent interactions per channel (absent = none)."
    )
    max_units: float | None = Field(None, gt=0, description="Universal cap in units (None: no cap).")

    @field_validator("skills", mode="before")
    @classmethod
    def _skills(cls, v: Any) -> Any:
        return {s: 1 for s in v} if isinstance(v, list) else v

    def serves(self, queue: Queue) -> bool:
        """Member of the queue (or of every queue) with every required skill at its level."""
        if self.queues and queue.name not in self.queues:
            return False
        return all(self.skills.get(s, 0) >= level for s, level in queue.skills.items())

    def free(self, channel: str, load: dict[str, int], item_size: dict[str, float] | None = None) -> int:
        """Items of ``channel`` the agent can still take, given ``load`` ``{channel: count}``."""
        per_channel = self.capacity.get(channel, 0) - load.get(channel, 0)
        if per_channel <= 0:
            return 0
        if self.max_units is None:
            return per_channel
        sizes = item_size or DEFAULT_ITEM_SIZE
        used = sum(n * size_of(c, sizes) for c, n in load.items())
        return max(0, min(per_channel, math.floor((self.max_units - used) / size_of(channel, sizes) + 1e-9)))


def size_of(channel: str, sizes: dict[str, float]) -> float:
    """Units one item of ``channel`` costs: ``sizes``, else the default (voice 1.0, email 0.5,
    any other channel 0.25)."""
    return sizes.get(channel, DEFAULT_ITEM_SIZE.get(channel, 0.25))
