"""Issue 11, item 3: a Genesys event names its conversation, which must be the one the
interaction is bound to (else refused and counted, nothing changes), and an event older than
``max_event_age`` is refused (the signature covers no timestamp)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genesys_rig import CONVERSATION, settings
from omnisdk_ccaas_genesys import GenesysCloudConnector
from omnisdk_ccaas_genesys.events import StaleEventError, check_age

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.model import InteractionState as S
from omnisdk.model.addresses import conversation_key
from omnisdk.testkit.runtime import KitRuntime

URL = "https://omnisdk.example.com/webhooks/ccaas_genesys/acme"
OTHER = "0f0f0f0f-1111-4222-8333-444455556666"
SENT_MS = 1764755460123  # email_1_user_start's eventTime: 2025-12-03T09:51:00.123Z


def at(iso: str) -> WebhookRequest:
    return WebhookRequest("POST", URL, {}, b"", query={}, received_at=iso)


def test_check_age_refuses_old_and_future_events_only_when_a_limit_is_set():
    check_age(SENT_MS, "2025-12-03T10:51:00Z", 3600)  # 59:59.877 old: in time
    with pytest.raises(StaleEventError, match="3601 s old") as old:
        check_age(SENT_MS, "2025-12-03T10:51:01.200Z", 3600)
    assert old.value.status == 400 and old.value.reason == "stale_event"
    with pytest.raises(StaleEventError, match="in the future"):
        check_age(SENT_MS, "2025-12-03T09:40:00Z", 3600)
    check_age(SENT_MS, "2031-06-07T08:09:10Z", 0)
    check_age(SENT_MS, "2031-06-07T08:09:10Z", None)


def test_parse_applies_max_event_age_to_the_recorded_event(recs: dict[str, recordings.Recording]):
    connector = GenesysCloudConnector("acme", settings(max_event_age=600))
    body = recs["email_1_user_start"].body
    req = WebhookRequest("POST", URL, {}, body, query={}, received_at="2025-12-03T09:55:00Z")
    (event,) = connector.parse(req)
    assert event.data["external_id"] == CONVERSATION
    late = WebhookRequest("POST", URL, {}, body, query={}, received_at="2025-12-03T10:01:01Z")
    with pytest.raises(StaleEventError):
        connector.parse(late)
    assert GenesysCloudConnector("acme", settings()).settings.max_event_age == 0  # the kit's example
    assert GenesysCloudConnector.Settings.model_fields["max_event_age"].default == 3600.0


def test_every_routing_event_names_its_conversation(connector: GenesysCloudConnector,
                                                    recs: dict[str, recordings.Recording]):
    for name in ("email_1_user_start", "email_2_acd_end", "email_4_wrapup"):
        (event,) = connector.parse(WebhookRequest("POST", URL, {}, recs[name].body, query={},
                                                  received_at="2026-12-03T10:00:00Z"))
        assert event.data["external_id"] == CONVERSATION, name


def other_conversation(body: bytes, iid: str) -> bytes:
    doc = json.loads(body)
    doc["topicName"] = doc["topicName"].replace(CONVERSATION, OTHER)
    doc["eventBody"]["conversationId"] = OTHER
    doc["attributes"]["omnisdk_interaction_id"] = iid
    return json.dumps(doc).encode()


async def test_an_event_of_another_conversation_is_refused_counted_and_changes_nothing(
        tmp_path: Path, recs: dict[str, recordings.Recording]):
    queues = [{"name": "billing", "routing_source": "external", "connector": "ccaas_genesys"}]
    make = lambda: GenesysCloudConnector("acme", settings(api_base_url="http://127.0.0.1:9"))  # noqa: E731
    async with KitRuntime(make, tmp_path, URL, queues=queues) as rt:
        key = conversation_key("/testkit-chat/acme", "chat", "testkit-business", "+15550100002")
        await rt.inject(Event(id="m1", source="/testkit-chat/acme", type=TYPE_MESSAGE_RECEIVED,
                              time="2026-12-03T09:50:00Z", partitionkey=key,
                              data={"message_id": "m1", "channel": "chat", "customer": "+15550100002",
                                    "business": "testkit-business", "kind": "text", "text": "Invoice 4471"}))
        [inter] = await rt.runtime.interactions()
        ours = lambda name: recs[name].body.replace(b"0190b3c4d5e6f70000000000000e4a11", inter.id.encode())  # noqa: E731

        assert (await rt.deliver_body(ours("email_1_user_start"), "application/json")).status_code == 200
        [offered] = await rt.runtime.interactions()
        assert offered.state is S.OFFERED and offered.context["external_id"] == CONVERSATION

        # signed by the right account, our interaction id, another conversation: refused
        for name in ("email_2_acd_end", "email_4_wrapup"):
            resp = await rt.deliver_body(other_conversation(recs[name].body, inter.id), "application/json")
            assert resp.status_code == 200  # durable and kept with its reason; not applied
        [after] = await rt.runtime.interactions()
        assert after == offered
        counters = await rt.runtime.store.transact(lambda tx: tx.counters())
        assert counters["routing.mismatch"] == 2 and counters["events.failed"] == 2

        # the conversation's own event still applies
        await rt.deliver_body(ours("email_2_acd_end"), "application/json")
        [accepted] = await rt.runtime.interactions()
        assert accepted.state is S.WORK_IN_PROGRESS

        # an interaction we do not have: refused and counted, never a phantom
        await rt.deliver_body(recs["email_4_wrapup"].body.replace(b"0190b3c4d5e6f70000000000000e4a11",
                                                                     b"0" * 32), "application/json")
        counters = await rt.runtime.store.transact(lambda tx: tx.counters())
        assert counters["routing.unknown"] == 1 and len(await rt.runtime.interactions()) == 1


async def test_a_stale_event_is_a_400_and_nothing_is_stored(tmp_path: Path, recs: dict[str, recordings.Recording]):
    queues = [{"name": "billing", "routing_source": "external", "connector": "ccaas_genesys"}]
    make = lambda: GenesysCloudConnector("acme", settings(max_event_age=3600))  # noqa: E731
    async with KitRuntime(make, tmp_path, URL, queues=queues) as rt:
        assert datetime.now(UTC).year >= 2026  # the recording (2025-12-03) is older than an hour
        resp = await rt.deliver_body(recs["email_1_user_start"].body, "application/json")
        assert resp.status_code == 400 and "stale_event" in resp.text
        counters = await rt.runtime.store.transact(lambda tx: tx.counters())
        assert counters.get("events.failed", 0) == 0 and counters.get("inbox.events", 0) == 0
