"""The bus's subject scheme and message ids: pure functions, no connection.

- :func:`inbox_subject`: ``{prefix}.{n}`` with ``n = crc32(partitionkey) mod partitions``
  (zlib's CRC-32, stable across processes and Python versions, unlike ``hash()``);
- :func:`message_id`: the ``Nats-Msg-Id`` header, from CloudEvents ``source`` + ``id``, so a
  provider's redelivery inside the stream's duplicate window is dropped by the server;
- :func:`events_subject`: ``{prefix}.{type}`` for events out.
"""

from __future__ import annotations

import hashlib
import zlib


def partition_of(partitionkey: str | None, partitions: int) -> int:
    """The partition (0 … partitions-1) of a CloudEvents ``partitionkey``; 0 without one."""
    if not partitionkey:
        return 0
    return zlib.crc32(partitionkey.encode("utf-8", "surrogatepass")) % partitions


def inbox_subject(prefix: str, partitionkey: str | None, partitions: int) -> str:
    """``{prefix}.{partition}``: one conversation's events always take the same subject."""
    return f"{prefix}.{partition_of(partitionkey, partitions)}"


def message_id(source: str, event_id: str) -> str:
    """The ``Nats-Msg-Id`` of a CloudEvent: a SHA-256 of ``source`` NUL ``id`` (hex, 64
    characters), fixed-length whatever the provider's ids."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass") + b"\0"
                            + event_id.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def events_subject(prefix: str, event_type: str) -> str:
    """``{prefix}.{type}``: e.g. ``omnisdk.events.io.omnisdk.interaction.created``."""
    return f"{prefix}.{event_type}"
