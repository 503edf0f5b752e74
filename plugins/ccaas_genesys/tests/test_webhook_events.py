"""Genesys Cloud's detail events on our webhook: signature, translation, and refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from genesys_rig import CONVERSATION, settings
from omnisdk_ccaas_genesys import GenesysCloudConnector

from omnisdk import events as ev
from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.testkit.runtime import KitRuntime

URL = "https://omnisdk.example.com/webhooks/ccaas_genesys/acme"


def request(c: GenesysCloudConnector, body: bytes, *, signed: bool = True) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if signed:
        headers.update({k.lower(): v for k, v in c.sign(URL, body, "application/json").items()})
    return WebhookRequest("POST", URL, headers, body, query={}, received_at="2026-12-03T10:00:00Z")


def edited(rec: recordings.Recording, **changes: object) -> bytes:
    doc = json.loads(rec.body)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = doc
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return json.dumps(doc).encode()


def test_the_recorded_email_conversation(connector: GenesysCloudConnector, recs: dict[str, recordings.Recording]) -> None:
    kinds = []
    for name in ("email_1_user_start", "email_2_acd_end", "email_3_user_end", "email_4_wrapup"):
        (event,) = connector.parse(request(connector, recs[name].body))
        assert event.subject == "0190b3c4d5e6f70000000000000e4a11"
        kinds.append((event.type, (event.data or {}).get("agent"), (event.data or {}).get("wrap_up_code")))
    assert kinds == [(ev.TYPE_ROUTING_ASSIGNED, "alice", None), (ev.TYPE_ROUTING_ACCEPTED, "alice", None),
                     (ev.TYPE_PROVIDER_NOTICE, None, None), (ev.TYPE_ROUTING_ENDED, None, "Issue resolved")]
    (assigned,) = connector.parse(request(connector, recs["email_1_user_start"].body))
    assert assigned.data["external_id"] == CONVERSATION and assigned.time == "2025-12-03T09:51:00.123Z"


def test_signature_checks(connector: GenesysCloudConnector, recs: dict[str, recordings.Recording]) -> None:
    body = recs["email_1_user_start"].body
    with pytest.raises(SignatureError, match="missing"):
        connector.verify(request(connector, body, signed=False))
    forged = request(connector, body)
    forged.headers["x-hub-signature-256"] = "sha256=" + "A" * 43 + "="
    with pytest.raises(SignatureError, match="does not match"):
        connector.verify(forged)
    other = GenesysCloudConnector("acme", settings(webhook_secret="another-webhook-secret-0099"))
    with pytest.raises(SignatureError):
        connector.verify(request(other, body))
    connector.verify(request(connector, body))


def test_a_conversation_we_did_not_route_is_refused(connector: GenesysCloudConnector,
                                                      recs: dict[str, recordings.Recording]) -> None:
    rec = recs["email_1_user_start"]
    for body in (edited(rec, attributes=None), edited(rec, attributes__omnisdk_interaction_id=""),
                 edited(rec, eventBody__conversationId="0f0f0f0f-0000-4000-8000-000000000000"),
                 edited(rec, topicName="v2.users.0b3e5f7a.activity"), edited(rec, eventBody__eventTime="yesterday")):
        with pytest.raises(PayloadError):
            connector.parse(request(connector, body))


def test_other_kinds_are_notices(connector: GenesysCloudConnector, recs: dict[str, recordings.Recording]) -> None:
    body = edited(recs["email_3_user_end"], topicName=f"v2.detail.events.conversation.{CONVERSATION}.customer.end")
    (event,) = connector.parse(request(connector, body))
    assert event.type == ev.TYPE_PROVIDER_NOTICE and event.data["kind"] == "genesys.customer.end"


def test_an_unknown_interaction_is_refused_and_counted(tmp_path: Path, recs: dict[str, recordings.Recording]) -> None:
    """A signed event naming an interaction we do not have: 2xx (durable), never a phantom."""

    async def go() -> tuple[int, list[object], int]:
        queues = [{"name": "billing", "routing_source": "external", "connector": "ccaas_genesys"}]
        async with KitRuntime(lambda: GenesysCloudConnector("acme", settings()), tmp_path, URL, queues=queues) as rt:
            resp = await rt.deliver_body(recs["email_1_user_start"].body, "application/json")
            inters = await rt.runtime.interactions()
            failed = await rt.runtime.store.transact(lambda tx: tx.counters().get("events.failed", 0))
            return resp.status_code, inters, failed

    status, inters, failed = asyncio.run(go())
    assert 200 <= status < 300 and inters == [] and failed == 1
