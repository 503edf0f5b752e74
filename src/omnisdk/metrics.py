"""One runtime's Prometheus instruments, in a registry of its own.

Every :class:`~omnisdk.runtime.Runtime` has a :class:`RuntimeMetrics` (``runtime.metrics``)
whose :attr:`~RuntimeMetrics.registry` is a fresh :class:`prometheus_client.CollectorRegistry`,
never the process-wide default one: several runtimes in one process (tests, an embedding
application) each count their own.  ``GET /metrics`` (:mod:`omnisdk.gateway.metrics`) renders it.

What is counted where:

- webhook outcomes: :class:`WebhookCounts`, plain integers the gateway adds to on its hot path
  (no lock, no label lookup), exported at scrape time;
- the processor's inbox batch latency and the timers' lag: two histograms the processor
  observes (:mod:`omnisdk.inbox.processor`), once per batch and once per fired timer;
- what the store and the routing engine hold now (backlogs: the inbox's, the outbox's and
  events out's; interactions by state, agents' occupancy): read once per scrape into a :class:`StateSnapshot`, which :class:`StateCollector`
  exports.  Nothing on the hot path keeps those gauges up to date.

Every name starts with ``omnisdk_``; times are seconds.  docs/operations.md lists them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the inbox batch latency histogram's buckets."""
TIMER_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86400.0)
"""Upper bounds (seconds) of the timer lag histogram's buckets: the timer loop looks every
second, so lags up to about 1 s are the normal case; longer ones follow downtime or a store
that keeps the processor waiting."""

ACCEPTED = "accepted"
"""Webhook outcome: acknowledged (2xx) with at least one new event, or with none to store."""
DUPLICATE = "duplicate"
"""Webhook outcome: acknowledged (2xx), every event of it already in the inbox (a redelivery)."""
REJECTED = "rejected"
"""Webhook outcome: refused with a 4xx; the reason label is the answer's ``error`` code."""
UNAVAILABLE = "unavailable"
"""Webhook outcome: 503 (the store could not commit, or too many bodies arriving); the
provider retries."""
OTHER_PLUGIN = "unknown"
"""The plugin label of a webhook to a path naming no configured plugin (the path segment
itself is never a label: anyone can make up new ones)."""


class WebhookCounts:
    """Webhook requests answered, by ``(plugin, outcome, reason)``; ``reason`` is ``""`` for
    the acknowledged outcomes.  Only the event loop adds to it (no lock)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}

    def add(self, plugin: str, outcome: str, reason: str = "") -> None:
        key = (plugin, outcome, reason)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1


class _WebhookCollector(Collector):
    def __init__(self, counts: WebhookCounts) -> None:
        self._counts = counts

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            "omnisdk_webhooks", "Webhook requests answered, by plugin, outcome (accepted, duplicate, "
            "rejected, unavailable) and reason (the error code of a refusal).",
            labels=["plugin", "outcome", "reason"])

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for (plugin, outcome, reason), n in sorted(self._counts.counts.items()):
            family.add_metric([plugin, outcome, reason], n)
        yield family


@dataclass(frozen=True)
class AgentOccupancy:
    """One agent's capacity and what it holds now, as the routing engine counts: ``capacity``
    and ``held`` are ``{channel: items}``; ``max_units`` the universal cap (None: no cap) and
    ``used_units`` the units the held items cost against it."""

    agent: str
    capacity: dict[str, int]
    held: dict[str, int]
    max_units: float | None
    used_units: float


@dataclass(frozen=True)
class StateSnapshot:
    """What one scrape read from the store and the routing engine, in one store transaction.

    A field is None when this process cannot know it (an ingress has no cursor, interactions
    or engine; a scrape whose store read failed has ``store_up`` False and nothing else).  ``inbox_oldest_age_seconds`` is how long ago (seconds, by the processor's
    clock) the oldest unprocessed inbox event was received, 0 when there is none.
    ``events_out_backlog`` counts the core events waiting in the bus outbox for their publish
    (events out), and ``events_out_oldest_age_seconds`` is how long ago (seconds, by the
    processor's clock) the oldest of them was queued, 0 when none waits.
    ``outbound`` holds the store's ``outbound.*`` counters (``sent``, ``retried``, ``failed``)
    without the prefix; ``interactions`` is ``{state: count}`` over every state but closed.
    """

    store_up: bool | None = None
    inbox_backlog: int | None = None
    inbox_oldest_age_seconds: float | None = None
    outbox_pending: int | None = None
    events_out_backlog: int | None = None
    events_out_oldest_age_seconds: float | None = None
    outbound: dict[str, int] | None = None
    interactions: dict[str, int] | None = None
    agents: list[AgentOccupancy] | None = None


_OUTBOUND = (("sent", "omnisdk_outbox_sent", "Sends the provider accepted (since the store was created)."),
             ("failed", "omnisdk_outbox_failed",
              "Sends that failed for good: a permanent error, or every attempt used (since the store was created)."),
             ("retried", "omnisdk_outbox_retries",
              "Send attempts that failed transiently and were rescheduled (since the store was created)."))


class StateCollector(Collector):
    """Exports :attr:`snapshot` (set by the scrape that reads it, just before rendering);
    nothing before the first scrape."""

    def __init__(self) -> None:
        self.snapshot: StateSnapshot | None = None

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        if snap is None:
            return
        if snap.store_up is not None:
            yield GaugeMetricFamily("omnisdk_store_up", "1 when the scrape could read the store, else 0.",
                                    value=int(snap.store_up))
        if snap.inbox_backlog is not None:
            yield GaugeMetricFamily("omnisdk_inbox_backlog", "Inbox events the processor has not taken yet.",
                                    value=snap.inbox_backlog)
        if snap.inbox_oldest_age_seconds is not None:
            yield GaugeMetricFamily(
                "omnisdk_inbox_oldest_age_seconds",
                "Seconds since the oldest unprocessed inbox event was received (0: no backlog).",
                value=snap.inbox_oldest_age_seconds)
        if snap.outbox_pending is not None:
            yield GaugeMetricFamily("omnisdk_outbox_pending", "Sends waiting for their first or next attempt.",
                                    value=snap.outbox_pending)
        if snap.events_out_backlog is not None:
            yield GaugeMetricFamily("omnisdk_events_out_backlog",
                                    "Core events in the bus outbox waiting for their publish to NATS (events out).",
                                    value=snap.events_out_backlog)
        if snap.events_out_oldest_age_seconds is not None:
            yield GaugeMetricFamily(
                "omnisdk_events_out_oldest_age_seconds",
                "Seconds since the oldest core event waiting for its publish was queued (0: none waits).",
                value=snap.events_out_oldest_age_seconds)
        if snap.outbound is not None:
            for key, name, doc in _OUTBOUND:
                yield CounterMetricFamily(name, doc, value=snap.outbound.get(key, 0))
        if snap.interactions is not None:
            family = GaugeMetricFamily("omnisdk_interactions", "Interactions in each state but closed.",
                                       labels=["state"])
            for state, n in snap.interactions.items():
                family.add_metric([state], n)
            yield family
        if snap.agents is not None:
            yield from _agent_families(snap.agents)


def _agent_families(agents: list[AgentOccupancy]) -> Iterator[Metric]:
    capacity = GaugeMetricFamily("omnisdk_agent_capacity_items",
                                 "Items of a channel the agent may hold at once (its capacity).",
                                 labels=["agent", "channel"])
    held = GaugeMetricFamily("omnisdk_agent_held_items",
                             "Items of a channel the agent holds now (offered, working, wrap-up).",
                             labels=["agent", "channel"])
    max_units = GaugeMetricFamily("omnisdk_agent_max_units", "The agent's universal cap in units (agents with one).",
                                  labels=["agent"])
    used_units = GaugeMetricFamily("omnisdk_agent_used_units", "Units the agent's held items cost against its cap.",
                                   labels=["agent"])
    for a in agents:
        for channel in sorted(set(a.capacity) | set(a.held)):
            capacity.add_metric([a.agent, channel], a.capacity.get(channel, 0))
            held.add_metric([a.agent, channel], a.held.get(channel, 0))
        if a.max_units is not None:
            max_units.add_metric([a.agent], a.max_units)
            used_units.add_metric([a.agent], a.used_units)
    yield from (capacity, held, max_units, used_units)


@dataclass
class RuntimeMetrics:
    """A runtime's registry and the instruments in it (see the module)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    webhooks: WebhookCounts = field(default_factory=WebhookCounts)
    state: StateCollector = field(default_factory=StateCollector)

    def __post_init__(self) -> None:
        self.batch_seconds = Histogram(
            "omnisdk_processor_batch_seconds",
            "Seconds from handing one inbox batch to the store until its commit returned (batches of at least one event).",
            buckets=BATCH_BUCKETS, registry=self.registry)
        self.timer_lag_seconds = Histogram(
            "omnisdk_timer_lag_seconds", "Seconds between a durable timer's due time and when it fired.",
            buckets=TIMER_LAG_BUCKETS, registry=self.registry)
        self.registry.register(_WebhookCollector(self.webhooks))
        self.registry.register(self.state)


__all__ = ["ACCEPTED", "DUPLICATE", "OTHER_PLUGIN", "REJECTED", "UNAVAILABLE", "AgentOccupancy", "RuntimeMetrics",
           "StateCollector", "StateSnapshot", "WebhookCounts"]
