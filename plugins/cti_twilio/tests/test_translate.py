"""Parsing of Twilio's voice webhooks (recordings written from Twilio's docs: recordings/SOURCES.md)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from omnisdk_cti_twilio import twiml

from omnisdk.catalog import CallEventData, CallRecordingData
from omnisdk.errors import PayloadError, SignatureError

INBOUND = "CA5f2d1e0b7a3c4e6f8091a2b3c4d5e6f7"
OUTBOUND = "CA8e1f2a3b4c5d6e7f8091a2b3c4d5e6a1"


def test_incoming_call_is_ringing_and_answered_with_enqueue(connector, recs, webhook):
    req = webhook(recs["inbound_1_ringing"].body)
    connector.verify(req)
    [event] = connector.parse(req)
    assert event.type == "io.omnisdk.call.ringing" and event.id == f"{INBOUND}:ringing"
    data = CallEventData.model_validate(event.data)
    assert (data.from_, data.to, data.direction.value, data.business) == (
        "+12065550142", "+14155550100", "inbound", "+14155550100")
    assert data.at == "2026-12-01T09:12:00Z"  # no Timestamp on the incoming-call request: the receipt
    reply = connector.acknowledge([event])
    assert reply.content_type == "text/xml"
    assert reply.body == twiml.enqueue("omnisdk")
    assert b"<Enqueue>omnisdk</Enqueue>" in reply.body


@pytest.mark.parametrize(("name", "reason"), [
    ("inbound_2_completed", "completed"), ("unanswered_busy_2_ended", "busy"),
    ("unanswered_no_answer_2_ended", "no-answer"), ("unanswered_canceled_2_ended", "canceled"),
    ("unanswered_failed_2_ended", "failed")])
def test_terminal_statuses_end_the_call_with_the_status_as_reason(connector, recs, webhook, name, reason):
    [event] = connector.parse(webhook(recs[name].body))
    assert event.type == "io.omnisdk.call.ended" and event.data["reason"] == reason
    assert connector.acknowledge([event]).body == twiml.empty()


def test_a_placed_call_initiated_ringing_answered_completed(connector, recs, webhook):
    assert connector.parse(webhook(recs["outbound_1_initiated"].body)) == []  # no call state
    kinds = [connector.parse(webhook(recs[n].body))[0] for n in ("outbound_2_ringing", "outbound_3_answered",
                                                                   "outbound_4_completed")]
    assert [e.type.rsplit(".", 1)[1] for e in kinds] == ["ringing", "answered", "ended"]
    assert {e.data["business"] for e in kinds} == {"+14155550100"}  # our number is From of a placed call
    assert kinds[1].time == "2026-12-01T10:02:09Z"  # Timestamp: Tue, 01 Dec 2026 10:02:09 +0000


def test_our_interaction_and_agent_come_from_the_signed_callback_url(connector, recs, webhook):
    iid = "0190aa55c0ffee0000000000000ca11e"
    url = f"{connector.settings.webhook_url}?omnisdk_interaction={iid}&omnisdk_agent=alice"
    req = webhook(recs["outbound_3_answered"].body, url=url, query=dict(parse_qsl(url.split("?")[1])))
    connector.verify(req)
    [event] = connector.parse(req)
    assert (event.data["interaction_id"], event.data["agent"]) == (iid, "alice")
    reply = connector.acknowledge([event])
    assert b"<Dial><Client>alice</Client></Dial>" in reply.body
    # the query is part of what Twilio signs: changing it breaks the signature
    forged = webhook(recs["outbound_3_answered"].body, url=url)
    forged = type(forged)("POST", url.replace("alice", "mallory"), forged.headers, forged.body)
    with pytest.raises(SignatureError):
        connector.verify(forged)


def test_a_bad_interaction_id_in_the_query_is_refused(connector, recs, webhook):
    with pytest.raises(PayloadError):
        connector.parse(webhook(recs["outbound_3_answered"].body, query={"omnisdk_interaction": "../x"}))


def test_recording_callback(connector, recs, webhook):
    [event] = connector.parse(webhook(recs["inbound_3_recording"].body))
    data = CallRecordingData.model_validate(event.data)
    assert event.type == "io.omnisdk.call.recording"
    assert (data.call_id, data.status, data.duration) == (INBOUND, "completed", 87.0)
    assert data.url.startswith("https://api.twilio.com/2010-04-01/Accounts/AC0c7080998b40962e7432c4f40b521f25/Recordings/RE")
    assert data.at == "2026-12-01T09:13:12Z"


@pytest.mark.parametrize(("change", "value"), [
    ("CallStatus", "exploded"), ("Direction", "sideways"), ("CallSid", "CA123"), ("From", "client:alice"),
    ("Timestamp", "yesterday")])
def test_undocumented_or_malformed_values_are_payload_errors(connector, recs, webhook, change, value):
    pairs = [(k, value if k == change else v) for k, v in parse_qsl(recs["inbound_2_completed"].body.decode())]
    with pytest.raises(PayloadError):
        connector.parse(webhook(urlencode(pairs).encode()))


def test_the_agents_child_leg_is_not_stored(connector, recs, webhook):
    pairs = [(k, "outbound-dial" if k == "Direction" else v) for k, v in parse_qsl(recs["inbound_2_completed"].body.decode())]
    assert connector.parse(webhook(urlencode(pairs).encode())) == []
