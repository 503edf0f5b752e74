"""The gateway's inbox: publish each CloudEvent to JetStream, return after every PubAck.

A gateway process (``omnisdk serve --role gateway``) opens no store.  Its runtime's ``store``
is a :class:`BusInbox`: the object :func:`omnisdk.inbox.commit.commit_inbox` appends to, so the
webhook pipeline (verify, parse, ownership check, commit, acknowledge) and the pull-based
transports (IMAP …) run unchanged; only the commit step publishes instead of writing a file.

Message format (documented in ``docs/scale-out.md``): CloudEvents **structured JSON mode**, one
event per NATS message:

- subject ``{inbox_subject}.{partition}`` (:func:`omnisdk.bus.subjects.inbox_subject`: the
  ``partitionkey`` CRC-32 bucket, so one conversation stays on one subject, in order);
- payload: the CloudEvents JSON document (:func:`omnisdk.events.dumps`, the bytes the store
  keeps);
- headers: ``Nats-Msg-Id`` (:func:`omnisdk.bus.subjects.message_id`, from ``source`` + ``id``:
  JetStream drops a second copy inside ``[bus] duplicate_window``), ``Content-Type:
  application/cloudevents+json`` and ``Omnisdk-Received-At`` (RFC 3339 UTC, when the gateway
  received the webhook: the inbox row's ``received_at``).

The promise: :meth:`BusInbox.append_inbox` returns only once JetStream acknowledged (PubAck)
every event of the call, so the gateway's 2xx follows the PubAcks.  When NATS is not connected,
or a PubAck does not come within ``[bus] publish_timeout`` seconds, it raises
:class:`BusUnavailableError` (HTTP 503 with ``Retry-After``, reason ``bus_unavailable``): the
provider retries, and a copy JetStream did store after all is dropped by the duplicate window
or the core store's dedupe.  The NATS client reconnects by itself (forever, 0.5 s apart), so
the gateway answers 2xx again once the server is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from omnisdk.bus.connection import Bus, BusError, connect
from omnisdk.bus.counts import BusCounts
from omnisdk.bus.settings import BusSettings
from omnisdk.bus.subjects import inbox_subject, message_id
from omnisdk.errors import WebhookError
from omnisdk.events import Event, dumps
from omnisdk.store.base import received_times
from omnisdk.store.rows import InboxResult

log = logging.getLogger("omnisdk.bus")

CONTENT_TYPE = "application/cloudevents+json"
RECEIVED_AT_HEADER = "Omnisdk-Received-At"
"""The header carrying the gateway's receive time (RFC 3339, UTC)."""


class BusUnavailableError(WebhookError):
    """NATS is not connected, or JetStream did not acknowledge a publish in time (HTTP 503,
    reason ``bus_unavailable``, with ``Retry-After``).  The message never names a server's
    credentials."""

    status = 503
    reason = "bus_unavailable"


def message_headers(event: Event, received_at: str) -> dict[str, str]:
    """The NATS headers of one inbox message (see the module)."""
    return {"Nats-Msg-Id": message_id(event.source, event.id), "Content-Type": CONTENT_TYPE,
            RECEIVED_AT_HEADER: received_at}


class BusInbox:
    """The inbox of a gateway: the subset of :class:`omnisdk.store.Store` the inbound paths use
    (``open``, ``close``, ``append_inbox``, ``count_later``, ``on_inbox``, ``location``), over
    JetStream.  It has no :meth:`transact`: a gateway serves no agent API.

    Args:
        settings: ``[bus]`` (its ``url`` must be set).
        counts: where ``bus.publish.*`` and ``count_later`` counters go.
    """

    on_inbox = None

    def __init__(self, settings: BusSettings, counts: BusCounts | None = None) -> None:
        if not settings.enabled:
            raise ValueError("a gateway needs [bus] url")
        self.settings = settings
        self.counts = counts if counts is not None else BusCounts()
        self.bus: Bus | None = None
        self.location = f"JetStream stream {settings.inbox_stream} at {', '.join(settings.servers)}"

    @property
    def connected(self) -> bool:
        """True while the NATS client is connected (False while it reconnects)."""
        return self.bus is not None and self.bus.nc.is_connected

    async def open(self) -> None:
        """Connect and declare the streams.

        Raises:
            BusError: NATS did not answer within ``[bus] connect_timeout`` s, or refused the
                stream declaration.
        """
        self.bus = await connect(self.settings, disconnected_cb=self._disconnected,
                                 reconnected_cb=self._reconnected, error_cb=self._error)

    async def close(self) -> None:
        bus, self.bus = self.bus, None
        if bus is not None:
            await bus.close()

    async def _disconnected(self) -> None:
        if self.bus is not None:  # not our own close
            log.warning("NATS disconnected: webhooks answer 503 until it is back")

    async def _reconnected(self) -> None:
        log.warning("NATS reconnected")

    async def _error(self, exc: Exception) -> None:
        log.info("NATS client: %s", type(exc).__name__)

    def count_later(self, name: str, n: int = 1) -> None:
        self.counts.add(name, n)

    async def append_inbox(self, events: Sequence[Event], received_at: str | Sequence[str]) -> InboxResult:
        """Publish ``events`` (all at once) and return after every PubAck; ``duplicates`` are
        the PubAcks JetStream flagged as inside its duplicate window.  ``received_at``: one
        time for all, or one per event (:func:`omnisdk.store.base.received_times`).

        Raises:
            ValueError: a list of times whose length is not the events' (nothing published).
            BusUnavailableError: not connected, or a publish failed or timed out (some events
                may have been stored: the retry is deduplicated).
            TypeError: an event's data is not JSON-serializable (nothing published).
        """
        bus = self.bus
        if bus is None or not bus.nc.is_connected:
            self.counts.add("bus.publish.failed", len(events))
            raise BusUnavailableError("the event bus is not connected; retry later")
        settings = self.settings
        messages = [(inbox_subject(settings.inbox_subject, e.partitionkey, settings.partitions), dumps(e),
                     message_headers(e, at))
                    for e, at in zip(events, received_times(events, received_at), strict=True)]  # TypeError before any publish
        js = bus.js
        timeout = settings.publish_timeout
        if len(messages) == 1:
            subject, body, headers = messages[0]
            try:
                acks: list[Any] = [await self._publish(js, subject, body, headers, timeout)]
            except BusUnavailableError:
                self.counts.add("bus.publish.failed", 1)
                raise
        else:
            acks = await asyncio.gather(*(self._publish(js, s, b, h, timeout) for s, b, h in messages),
                                        return_exceptions=True)
        failed = sum(1 for a in acks if isinstance(a, BaseException))
        if failed:
            self.counts.add("bus.publish.failed", len(events))
            raise BusUnavailableError(f"{failed} of {len(events)} events were not acknowledged by the bus; "
                                      "retry later")
        dup = sum(1 for a in acks if a.duplicate)
        if dup:
            self.counts.add("bus.publish.duplicates", dup)
        self.counts.add("bus.publish.acked", len(acks) - dup)
        return InboxResult(len(acks) - dup, dup)

    @staticmethod
    async def _publish(js: Any, subject: str, body: bytes, headers: dict[str, str], timeout: float) -> Any:
        try:
            return await js.publish(subject, body, timeout=timeout, headers=headers)
        except Exception as exc:  # noqa: BLE001 - timeout, no responders, API error, connection closed
            log.info("publish to %s failed: %s", subject, type(exc).__name__)
            raise BusUnavailableError("the event bus did not acknowledge the event") from None


__all__ = ["CONTENT_TYPE", "RECEIVED_AT_HEADER", "BusError", "BusInbox", "BusUnavailableError", "message_headers"]
