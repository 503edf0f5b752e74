"""Lifecycle scenarios on recorded Twilio messaging webhooks.

Each test runs the real gateway (ASGI) and the real sms plugin: recorded form bodies are signed
with the adapter's ``sign()`` (``X-Twilio-Signature`` over the public URL and the sorted form
parameters) and POSTed to ``/webhooks/sms/acme``; agents work through the runtime's Python API;
sends go to a respx-mocked Messages API; durable timers fire on an injected clock.  Agents:
alice (sms 1), bob (sms 2): with most free capacity first, bob gets the first offer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from omnisdk.model import InteractionState as S
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_sms import TwilioSmsAdapter

PUBLIC = "https://hooks.example.com"
WEBHOOK = "/webhooks/sms/acme"
FORM = "application/x-www-form-urlencoded"
SETTINGS = TwilioSmsAdapter.example_settings()
API = "https://api.twilio.com"
MESSAGES = f"/2010-04-01/Accounts/{SETTINGS['account_sid']}/Messages.json"
CUSTOMER = "+12065550142"  # From of inbound_sms.form, To of the status_*.form callbacks
BUSINESS = "+14155550100"  # the recordings' Twilio number
INBOUND_SID = "SM25b73341926eace5a6cc9906e519f19e"
REPLY_SID = "SMe408ce93b706564c33351e479226d335"  # the outbound message the status callbacks track
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def next_sms(recs, n: int) -> bytes:
    """inbound_sms.form again as the customer's next message: a provider's next message has a
    new id, so only the SID (MessageSid, SmsSid, SmsMessageSid) changes; every other byte is
    as recorded."""
    body = recs["inbound_sms"].body
    assert body.count(INBOUND_SID.encode()) == 3
    return body.replace(INBOUND_SID.encode(), f"SM{n:032x}".encode())


class Rig(KitRuntime):
    """The test kit's runtime (driven by hand, on a manual clock) + a mocked Messages API."""

    def __init__(self, tmp_path) -> None:
        super().__init__(
            lambda: TwilioSmsAdapter("acme", SETTINGS), tmp_path,
            PUBLIC + WEBHOOK, [{"name": "support"}],
            agents=[{"id": "alice", "capacity": {"sms": 1}}, {"id": "bob", "capacity": {"sms": 2}}],
            lifecycle={"wrap_up_timeout": 5, "inactivity_timeout": 60},
            clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)), loops=False,
        )
        self.answer_sids: list[str] = []  # SIDs the Messages API answers with, then sandbox SIDs

    async def __aenter__(self) -> Rig:
        await super().__aenter__()
        self.rt = self.runtime
        self.mock = respx.mock(base_url=API, assert_all_called=False)
        self.mock.start()
        self.api = self.mock.post(MESSAGES).mock(side_effect=self._created)
        return self

    async def __aexit__(self, *exc) -> None:
        self.mock.stop()
        await super().__aexit__(*exc)

    def _created(self, request: httpx.Request) -> httpx.Response:
        body = TwilioSmsAdapter.sandbox_reply(len(self.api.calls))
        if self.answer_sids:
            body["sid"] = self.answer_sids.pop(0)
        return httpx.Response(201, json=body)

    async def post(self, body: bytes) -> httpx.Response:
        """POST a form signed as Twilio signs it, then process the inbox."""
        resp = await self.deliver_body(body, FORM)
        assert resp.status_code == 200, resp.text
        return resp

    async def customer(self, body: bytes, customer: str = CUSTOMER):
        await self.post(body)
        [inter] = [i for i in await self.rt.interactions(active_only=True) if i.customer == customer]
        return inter

    async def sent(self) -> list[dict[str, list[str]]]:
        """Send what the outbox holds; every form the Messages API received so far."""
        await self.flush_outbox()
        return [parse_qs(c.request.content.decode()) for c in self.api.calls]

    def load(self, agent: str) -> int:
        return self.rt.engine.load.get(agent, {}).get("sms", 0)


@pytest.fixture
async def rig(tmp_path):
    async with Rig(tmp_path) as r:
        yield r


async def test_open_accept_reply_statuses_and_close(rig, recs):
    resp = await rig.post(recs["inbound_sms"].body)
    assert resp.content == EMPTY_TWIML  # Twilio must not auto-reply
    [inter] = await rig.rt.interactions()
    assert inter.state is S.OFFERED and inter.agent == "bob"
    assert (inter.customer, inter.business, inter.channel) == (CUSTOMER, BUSINESS, "sms")
    await rig.rt.accept(inter.id, "bob")

    rig.answer_sids.append(REPLY_SID)  # Twilio names the created message; the callbacks track it
    await rig.rt.reply(inter.id, "Yes, order #4711 arrives today.")
    [form] = await rig.sent()
    assert form == {"To": [CUSTOMER], "From": [BUSINESS], "Body": ["Yes, order #4711 arrives today."]}

    async def reply_status() -> str:
        [m] = [m for m in (await rig.rt.interaction(inter.id))[2] if m["direction"] == "outbound"]
        assert m["message_id"] == REPLY_SID
        return m["status"]

    assert await reply_status() == "queued"
    for name, expected in [("status_sent", "sent"), ("status_delivered", "delivered"),
                           ("status_queued", "delivered"), ("status_sent", "delivered"),
                           ("status_read", "read")]:
        await rig.post(recs[name].body)
        assert await reply_status() == expected, name
    stats = await rig.rt.stats()
    assert stats["statuses.applied"] == 3 and stats["statuses.ignored_backwards"] == 1
    assert stats["events.deduplicated"] == 1  # status_sent twice: Twilio's retry

    closed = await rig.rt.close_interaction(inter.id, "Issue resolved", agent="bob")
    assert closed.state is S.CLOSED and closed.wrap_up_code == "Issue resolved" and rig.load("bob") == 0
    _, history, messages = await rig.rt.interaction(inter.id)
    assert [h["to_state"] for h in history] == [
        "new", "queued", "offered", "work_in_progress", "wrap_up", "closed"]
    assert [m["body"]["text"] for m in messages if m["direction"] == "inbound"] == [
        "Hi, is order #4711 still arriving today? Reply here + thanks!"]


async def test_a_second_sms_joins_the_working_interaction(rig, recs):
    inter = await rig.customer(recs["inbound_sms"].body)
    await rig.rt.accept(inter.id)
    again = await rig.customer(next_sms(recs, 2))
    assert again.id == inter.id and again.message_count == 2
    assert again.state is S.WORK_IN_PROGRESS and again.agent == "bob" and rig.load("bob") == 1
    await rig.customer(next_sms(recs, 2))  # redelivered by Twilio: not a third message
    assert (await rig.rt.interaction(inter.id))[0].message_count == 2
    stop = await rig.customer(recs["inbound_opt_out_stop"].body)  # the same customer, as recorded
    assert stop.id == inter.id and stop.message_count == 3
    last = (await rig.rt.interaction(inter.id))[2][-1]
    assert last["body"]["text"] == "STOP" and last["body"]["extra"]["OptOutType"] == "STOP"


async def test_parked_reply_returns_to_its_owner(rig, recs):
    inter = await rig.customer(recs["inbound_sms"].body)
    await rig.rt.accept(inter.id)
    parked = await rig.rt.hold(inter.id)
    assert parked.state is S.ON_HOLD and parked.agent == "bob" and rig.load("bob") == 0
    back = await rig.customer(next_sms(recs, 2))
    assert back.id == inter.id and back.state is S.WORK_IN_PROGRESS and back.agent == "bob"
    assert rig.load("bob") == 1
    assert (await rig.rt.interaction(inter.id))[1][-1]["note"] == "customer replied; back to its owner"


async def test_parked_reply_with_the_owner_away_is_rerouted(rig, recs):
    inter = await rig.customer(recs["inbound_sms"].body)
    await rig.rt.accept(inter.id, "bob")
    await rig.rt.hold(inter.id, "bob")
    await rig.rt.set_presence("bob", "away")
    moved = await rig.customer(next_sms(recs, 2))
    assert moved.id == inter.id and moved.state is S.OFFERED and moved.agent == "alice"
    assert rig.load("alice") == 1 and rig.load("bob") == 0
    _, history, _ = await rig.rt.interaction(inter.id)
    assert history[-2]["note"] == "customer replied; owner unavailable"
    assert [h["to_state"] for h in history][-3:] == ["on_hold", "queued", "offered"]


async def test_full_capacity_queues_and_a_close_drains_the_backlog(rig, recs):
    await rig.rt.set_presence("bob", "away")  # alice alone, with one sms slot
    first = await rig.customer(recs["inbound_sms"].body)
    mms = await rig.customer(recs["inbound_mms"].body, "+13125550167")
    assert (first.state, first.agent) == (S.OFFERED, "alice")
    assert mms.state is S.QUEUED and mms.agent is None and rig.load("alice") == 1
    await rig.rt.accept(first.id)
    await rig.rt.wrap_up(first.id)
    assert (await rig.rt.interaction(mms.id))[0].state is S.QUEUED  # wrap-up still holds capacity
    await rig.tick(6)  # the wrap-up timer closes it with the default code
    assert (await rig.rt.interaction(first.id))[0].wrap_up_code == "Issue resolved"
    drained, _, messages = await rig.rt.interaction(mms.id)
    assert drained.state is S.OFFERED and drained.agent == "alice" and rig.load("alice") == 1
    assert messages[0]["body"]["text"] == "Here is the damaged box and my contact card"
    assert [a["media_type"] for a in messages[0]["body"]["attachments"]] == ["image", "document"]


# --- consent: STOP, START ---------------------------------------------------------------------

async def test_stop_refuses_every_later_send_until_start_and_survives_a_restart(tmp_path, recs):
    import re
    import shutil

    from omnisdk.errors import OptedOutError
    from omnisdk_sms.translate import consent

    async with Rig(tmp_path) as rig:
        assert (await rig.deliver_body(recs["inbound_sms"].body, FORM)).status_code == 200
        (inter,) = await rig.rt.interactions()
        inter = await rig.rt.accept(inter.id, inter.agent)
        assert (await rig.deliver_body(recs["inbound_opt_out_stop"].body, FORM)).status_code == 200
        assert await rig.rt.opted_out("sms", CUSTOMER)
        with pytest.raises(OptedOutError, match="opted out"):
            await rig.rt.reply(inter.id, "Are you sure?")
        assert (await rig.rt.stats())["consent.opt_out"] == 1
        first_db = rig.db
    again = Rig(tmp_path)
    shutil.copyfile(first_db, again.db)  # the same store, after a restart
    async with again as rig:
        assert await rig.rt.opted_out("sms", CUSTOMER)
        # the customer's next message is START: the recording with a new SID and that body
        body = re.sub(rb"Body=[^&]*", b"Body=start", next_sms(recs, 7))
        assert (await rig.deliver_body(body, FORM)).status_code == 200
        assert not await rig.rt.opted_out("sms", CUSTOMER)
    assert consent({"Body": " Unsubscribe "}) == "opt_out" and consent({"Body": "stop please"}) is None
    assert consent({"Body": "STOP", "OptOutType": "HELP"}) == "help"
