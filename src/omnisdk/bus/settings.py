"""``[bus]``: NATS JetStream, the inbox bus between stateless gateways and the core, and the
stream core events leave the process on.

Nothing here connects: :mod:`omnisdk.bus.connection` does, with these settings.  Without a
``[bus]`` section (``url`` unset) omnisdk runs as before: gateways append to the store's inbox
themselves, and events stay in the process (the ``omnisdk_event`` hook).

Subjects (the scheme ``docs/scale-out.md`` documents):

- inbox: ``{inbox_subject}.{partition}``, ``partition`` in ``0 … partitions-1``, the CloudEvents
  ``partitionkey`` hashed (:func:`omnisdk.bus.subjects.inbox_subject`), so that one
  conversation's events keep their order on one subject;
- events out: ``{events_subject}.{type}``, the CloudEvents ``type`` with its dots
  (``omnisdk.events.io.omnisdk.interaction.created``), so a consumer filters with NATS wildcards.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class BusSettings(BaseModel):
    """``[bus]``: NATS JetStream.  ``url`` unset means no bus (the default).

    Refused at load: a ``url`` whose scheme is not ``nats://``, ``tls://`` (or ``ws(s)://``),
    ``partitions`` outside 1–1024, a ``duplicate_window`` of 0 or less, empty names.
    """

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        None, description="NATS server URL(s), comma-separated (nats://127.0.0.1:4222); unset: no bus.")
    credentials: str | None = Field(
        None, repr=False, description="Path of a NATS .creds file (JWT + NKey), if the server needs one.")
    connect_timeout: float = Field(2.0, gt=0, description="Seconds to wait for the server at start-up.")
    publish_timeout: float = Field(
        2.0, gt=0, description="Seconds a gateway waits for JetStream's PubAck before answering 503.")
    inbox_stream: str = Field("OMNISDK_INBOX", min_length=1, description="The inbox stream's name.")
    inbox_subject: str = Field("omnisdk.inbox", min_length=1, description="The inbox subjects' prefix.")
    partitions: int = Field(
        16, ge=1, le=1024, description="Inbox subjects (partitionkey hash buckets); fixed for a stream's life.")
    inbox_durable: str = Field(
        "omnisdk-core", min_length=1, pattern=r"^[A-Za-z0-9_-]+$",
        description="The core's durable pull consumer on the inbox stream (one name per routing domain).")
    inbox_batch: int = Field(
        256, ge=1, le=10_000, description="Inbox messages the core fetches, commits and acks at a time.")
    duplicate_window: float = Field(
        120.0, gt=0, description="Seconds JetStream drops a second message with the same Nats-Msg-Id.")
    events_stream: str = Field("OMNISDK_EVENTS", min_length=1, description="The events-out stream's name.")
    events_subject: str = Field("omnisdk.events", min_length=1, description="The events-out subjects' prefix.")
    events_out: bool = Field(
        True, description="Publish core events to the events stream (transactional outbox) when url is set.")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts:
            raise ValueError("bus.url is empty: leave it unset for no bus")
        for part in parts:
            scheme = part.split("://", 1)[0] if "://" in part else ""
            if scheme not in ("nats", "tls", "ws", "wss"):
                raise ValueError("bus.url must be nats://host:port (or tls://, ws://, wss://)")
        return ",".join(parts)

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @property
    def servers(self) -> list[str]:
        return self.url.split(",") if self.url else []
