"""Counters of the inbox bus, in the process that moves the events (no store needed).

A gateway (``serve --role gateway``) has no store to keep ``omnisdk stats`` counters in, so
both sides of the bus count in a :class:`BusCounts` too, exposed on ``GET /metrics`` as
``omnisdk_bus_events_total{counter="…"}``:

- gateway: ``bus.publish.acked`` (PubAcks of new messages), ``bus.publish.duplicates``
  (PubAcks JetStream flagged duplicate: a redelivery inside the duplicate window),
  ``bus.publish.failed`` (events of webhooks answered 503: NATS down or no PubAck in time);
- core: ``bus.inbox.consumed`` (messages fetched), ``bus.inbox.redelivered`` (of which
  JetStream delivered before), ``bus.inbox.committed`` (events appended as new),
  ``bus.inbox.deduplicated`` (absorbed by the store's dedupe), ``bus.inbox.commit_failed``
  (batch commits that failed and were retried), ``bus.inbox.malformed`` (messages that are not
  a CloudEvent: acked and dropped, logged).

The core also writes its ``bus.inbox.*`` counters to the store (``omnisdk stats``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class BusCounts(Collector):
    """Named counters (``bus.publish.acked`` …) and their Prometheus family."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        self.values[name] += n

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily("omnisdk_bus_events", "Inbox bus counters (see omnisdk.bus.counts).",
                                  labels=["counter"])

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("omnisdk_bus_events", "Inbox bus counters (see omnisdk.bus.counts).",
                                     labels=["counter"])
        for name, value in sorted(self.values.items()):
            family.add_metric([name], value)
        yield family
