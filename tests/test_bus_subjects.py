"""The bus's subject scheme and message ids (``omnisdk.bus.subjects``) and ``[bus]`` checks."""

from __future__ import annotations

import zlib

import pytest
from pydantic import ValidationError

from omnisdk.bus.settings import BusSettings
from omnisdk.bus.subjects import events_subject, inbox_subject, message_id, partition_of


def test_one_conversation_always_takes_one_subject() -> None:
    key = "whatsapp/main:whatsapp:+15550001:+447700900123"
    subjects = {inbox_subject("omnisdk.inbox", key, 16) for _ in range(3)}
    assert subjects == {f"omnisdk.inbox.{zlib.crc32(key.encode()) % 16}"}


def test_partitions_spread_conversations() -> None:
    used = {partition_of(f"sms/main:sms:+1555:+1555{n:04d}", 16) for n in range(200)}
    assert len(used) == 16
    assert partition_of(None, 16) == partition_of("", 16) == 0


def test_message_id_is_fixed_length_and_source_scoped() -> None:
    a = message_id("omnisdk://whatsapp/main", "wamid.X")
    assert len(a) == 64 and a == message_id("omnisdk://whatsapp/main", "wamid.X")
    assert a != message_id("omnisdk://whatsapp/other", "wamid.X")
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert message_id("ab", "c") != message_id("a", "bc")


def test_events_subject_keeps_the_type_dots() -> None:
    assert events_subject("omnisdk.events", "io.omnisdk.interaction.created") == \
        "omnisdk.events.io.omnisdk.interaction.created"


def test_bus_settings() -> None:
    assert not BusSettings().enabled
    bus = BusSettings(url=" nats://a:4222 , nats://b:4222 ")
    assert bus.servers == ["nats://a:4222", "nats://b:4222"]
    for bad in ("http://a:4222", "a:4222", " , "):
        with pytest.raises(ValidationError):
            BusSettings(url=bad)
    with pytest.raises(ValidationError):
        BusSettings(url="nats://a:4222", partitions=0)
    assert "creds" not in repr(BusSettings(url="nats://a:4222", credentials="/run/secrets/creds"))
