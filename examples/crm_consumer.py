"""A CRM integration's starting point: read omnisdk's core events from NATS JetStream.

omnisdk (with ``[bus] url`` set) publishes every core event to the stream ``OMNISDK_EVENTS``
on the subject ``omnisdk.events.{type}``, e.g. ``omnisdk.events.io.omnisdk.interaction.closed``
(docs/scale-out.md, "Events out").  This consumer:

- makes (or reuses) a **durable pull consumer** on that stream, filtered by a subject wildcard
  (``--subject``, default every ``io.omnisdk.*`` event): it resumes where it stopped after a
  restart, and several copies of this process with the same ``--durable`` share the work;
- reads each message's body as a CloudEvent (structured JSON mode, ``cloudevents.core``);
- **dedupes** by the CloudEvents (``source``, ``id``): delivery is at least once, so an event
  may come twice (a redelivery after a missing ack, a publish repeated after the duplicate
  window).  Here the seen ids are kept in memory; a real integration keeps them with its own
  writes (a unique key in its database), so that "handled" and "seen" commit together;
- **acks after handling**: an event whose handling raises is not acked, and JetStream
  delivers it again after ``--ack-wait`` seconds;
- prints each new event, one line each (``--json``: the whole CloudEvent as one JSON line).

    pip install nats-py cloudevents
    python examples/crm_consumer.py --server nats://127.0.0.1:4222 \\
        --subject 'omnisdk.events.io.omnisdk.interaction.>' --durable crm

``--count N`` exits after N new events, ``--timeout S`` after S seconds without one (both for
scripts and tests; by default it runs until interrupted).  Exit status 0, or 1 when NATS or
the stream cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import OrderedDict
from typing import Any

import nats
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


class SeenIds:
    """The (``source``, ``id``) of the last ``size`` events handled: a redelivery is skipped."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._ids

    def add(self, key: tuple[str, str]) -> None:
        self._ids[key] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)


def handle(event: CloudEvent, *, as_json: bool) -> None:
    """What a CRM would do with the event (create a ticket, update a contact …): print it."""
    attributes = event.get_attributes()
    if as_json:
        doc: dict[str, Any] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in attributes.items()}
        doc["data"] = event.get_data()
        print(json.dumps(doc, sort_keys=True), flush=True)
        return
    data = event.get_data()
    summary = (data.get("state") or data.get("text") or data.get("status") or "") if isinstance(data, dict) else ""
    print(f"{attributes.get('time', '')} {attributes['type']} id={attributes['id']} "
          f"subject={attributes.get('subject', '-')} {summary}".rstrip(), flush=True)


async def consume(args: argparse.Namespace) -> int:
    try:
        nc = await nats.connect(args.server.split(","), connect_timeout=5, allow_reconnect=True,
                                max_reconnect_attempts=-1 if args.timeout is None else 3)
    except Exception as exc:  # noqa: BLE001 - nats-py raises several unrelated classes
        print(f"cannot reach NATS at {args.server}: {type(exc).__name__}", file=sys.stderr)
        return 1
    js = nc.jetstream()
    fmt = JSONFormat()
    seen = SeenIds()
    handled = duplicates = 0
    try:
        config = ConsumerConfig(durable_name=args.durable, filter_subject=args.subject, ack_policy=AckPolicy.EXPLICIT,
                                deliver_policy=DeliverPolicy.ALL, ack_wait=args.ack_wait, max_ack_pending=1000)
        try:
            sub = await js.pull_subscribe(args.subject, durable=args.durable, stream=args.stream, config=config)
        except Exception as exc:  # noqa: BLE001
            print(f"cannot consume from stream {args.stream}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        idle_since = time.monotonic()
        while args.count is None or handled < args.count:
            if args.timeout is not None and time.monotonic() - idle_since > args.timeout:
                break
            try:
                msgs = await sub.fetch(64, timeout=1.0)
            except TimeoutError:  # nothing new within the second (nats-py raises both kinds)
                continue
            for msg in msgs:
                try:
                    event = fmt.read(CloudEvent, msg.data)
                except Exception as exc:  # noqa: BLE001 - not a CloudEvent: never retried
                    print(f"skipping a message that is no CloudEvent on {msg.subject}: {exc}", file=sys.stderr)
                    await msg.term()
                    continue
                key = (event.get_source(), event.get_id())
                if key in seen:
                    duplicates += 1
                    await msg.ack()
                    continue
                handle(event, as_json=args.json)  # raises: no ack, JetStream redelivers it
                seen.add(key)
                await msg.ack()
                handled += 1
                idle_since = time.monotonic()
                if args.count is not None and handled >= args.count:
                    break
    finally:
        print(f"handled {handled} events, skipped {duplicates} duplicates", file=sys.stderr)
        await nc.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print omnisdk's core events from NATS JetStream (a CRM's starting point).")
    p.add_argument("--server", default="nats://127.0.0.1:4222", help="NATS URL(s), comma-separated")
    p.add_argument("--stream", default="OMNISDK_EVENTS", help="[bus] events_stream")
    p.add_argument("--subject", default="omnisdk.events.io.omnisdk.>",
                   help="subject filter, NATS wildcards ([bus] events_subject + '.' + a type or a wildcard)")
    p.add_argument("--durable", default="crm", help="durable consumer name: resumes after a restart")
    p.add_argument("--ack-wait", type=float, default=30.0, help="seconds before an unacked event is redelivered")
    p.add_argument("--count", type=int, default=None, help="exit after this many new events")
    p.add_argument("--timeout", type=float, default=None, help="exit after this many seconds without a new event")
    p.add_argument("--json", action="store_true", help="print each event as one JSON line")
    args = p.parse_args(argv)
    try:
        return asyncio.run(consume(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
