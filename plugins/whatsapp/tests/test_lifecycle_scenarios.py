"""Lifecycle scenarios on recorded WhatsApp Cloud API webhooks.

Each test runs the real gateway (ASGI) and the real WhatsApp plugin: recorded bodies are signed
with the adapter's ``sign()`` and POSTed to ``/webhooks/whatsapp/acme``; agents work through the
runtime's Python API; sends go to a respx-mocked Graph API; durable timers fire on an injected
clock.  Agents: alice (whatsapp 1), bob (whatsapp 2): with most free capacity first, bob gets
the first offer.  Carol serves only the ``billing`` queue.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
import respx

from omnisdk.hookspecs import hookimpl
from omnisdk.model import InteractionState as S
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

WEBHOOK = "/webhooks/whatsapp/acme"
GRAPH = "https://graph.facebook.com"
SEND_PATH = "/v21.0/1122334455667/messages"  # phone_number_id of the recordings' metadata
CUSTOMER_WA_ID = "972987654321"  # "from" of the recorded messages, "recipient_id" of the statuses
RECORDED_WAMID = "wamid.xyzxyz"  # the id the recorded messages *and* statuses carry


class Observer:
    def __init__(self) -> None:
        self.types: list[str] = []

    @hookimpl
    def omnisdk_event(self, event):
        self.types.append(event.type)


def recorded(recordings, name: str, *, wamid: str | None = None) -> bytes:
    """A recorded body; with ``wamid``, the same message under a new id (a provider's next
    message has a new id: the recordings all reuse ``wamid.xyzxyz``, which the inbox would
    deduplicate as a redelivery).  Every other field stays as recorded."""
    body = recordings[name].body
    if wamid is None:
        return body
    doc = orjson.loads(body)
    for change in doc["entry"][0]["changes"]:
        for m in change["value"].get("messages", []):
            m["id"] = wamid
    return orjson.dumps(doc)


class Rig(KitRuntime):
    """The test kit's runtime (driven by hand, on a manual clock) + a mocked Graph API."""

    def __init__(self, tmp_path, lifecycle=None) -> None:
        super().__init__(
            lambda: WhatsAppAdapter("acme", WhatsAppSettings(**WhatsAppAdapter.example_settings())), tmp_path,
            "https://cx.example.test" + WEBHOOK,
            [{"name": "support"}, {"name": "billing", "skills": ["billing"]}],
            agents=[
                {"id": "alice", "capacity": {"whatsapp": 1}, "queues": ["support"]},
                {"id": "bob", "capacity": {"whatsapp": 2}, "queues": ["support"]},
                {"id": "carol", "capacity": {"whatsapp": 1}, "skills": ["billing"], "queues": ["billing"]},
            ],
            lifecycle=lifecycle, clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)), loops=False,
        )
        self.answer_ids: list[str] = []  # message ids the Graph API answers with, then sandbox ids

    async def __aenter__(self) -> Rig:
        await super().__aenter__()
        self.rt = self.runtime
        self.mock = respx.mock(base_url=GRAPH, assert_all_called=False)
        self.mock.start()
        self.graph = self.mock.post(SEND_PATH).mock(side_effect=self._graph_answer)
        return self

    async def __aexit__(self, *exc) -> None:
        self.mock.stop()
        await super().__aexit__(*exc)

    def _graph_answer(self, request: httpx.Request) -> httpx.Response:
        if orjson.loads(request.content).get("status") == "read":  # mark-as-read: Meta answers success only
            return httpx.Response(200, json={"success": True})
        body = WhatsAppAdapter.sandbox_reply(len(self.graph.calls))
        if self.answer_ids:
            body["messages"][0]["id"] = self.answer_ids.pop(0)
        return httpx.Response(200, json=body)

    async def post(self, body: bytes) -> None:
        """POST a body signed as Meta signs it, then process the inbox."""
        resp = await self.deliver_body(body, "application/json")
        assert resp.status_code == 200, resp.text

    async def customer(self, body: bytes):
        await self.post(body)
        [inter] = [i for i in await self.rt.interactions(active_only=True) if i.customer == f"+{CUSTOMER_WA_ID}"]
        return inter

    async def sent(self) -> list[dict]:
        """Send what the outbox holds; every message body the Graph API received so far (read
        receipts apart: :meth:`receipts`)."""
        await self.flush_outbox()
        return [b for b in self._bodies() if b.get("status") != "read"]

    async def receipts(self) -> list[str]:
        """Send what the outbox holds; the message ids marked read so far, in order."""
        await self.flush_outbox()
        return [b["message_id"] for b in self._bodies() if b.get("status") == "read"]

    def _bodies(self) -> list[dict]:
        return [orjson.loads(c.request.content) for c in self.graph.calls]

    async def states(self, iid: str) -> list[str]:
        return [h["to_state"] for h in (await self.rt.interaction(iid))[1]]

    def load(self, agent: str) -> int:
        return self.rt.engine.load.get(agent, {}).get("whatsapp", 0)


@pytest.fixture
async def rig(tmp_path):
    async with Rig(tmp_path) as r:
        yield r


async def test_text_opens_offer_accept_reply_then_an_image_joins_it(rig, recordings):
    observer = Observer()
    assert rig.rt.host.register(observer, "observer")
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.scenario-text-1"))
    assert inter.state is S.OFFERED and inter.agent == "bob"  # 2 free beats alice's 1
    assert inter.customer_name == "Test Name" and inter.business == "1122334455667"
    inter = await rig.rt.accept(inter.id, "bob")
    assert inter.state is S.WORK_IN_PROGRESS and rig.load("bob") == 1

    await rig.rt.reply(inter.id, "Hello Test Name, how can I help?")
    [sent] = await rig.sent()
    assert sent == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER_WA_ID,
                    "type": "text", "text": {"body": "Hello Test Name, how can I help?", "preview_url": False}}
    assert rig.graph.calls.last.request.headers["authorization"] == "Bearer example-access-token"

    again = await rig.customer(recorded(recordings, "message/image", wamid="wamid.scenario-image-2"))
    assert again.id == inter.id and again.message_count == 2
    assert again.state is S.WORK_IN_PROGRESS and again.agent == "bob" and rig.load("bob") == 1
    _, history, messages = await rig.rt.interaction(inter.id)
    assert [h["to_state"] for h in history] == ["new", "queued", "offered", "work_in_progress"]
    inbound = [m for m in messages if m["direction"] == "inbound"]
    assert [m["message_id"] for m in inbound] == ["wamid.scenario-text-1", "wamid.scenario-image-2"]
    assert inbound[0]["body"]["text"] == "Body Text" and inbound[1]["body"]["attachments"][0]["media_id"] == "65463453"
    assert "io.omnisdk.interaction.message_added" in observer.types


async def test_the_customer_sees_blue_ticks_when_the_agent_accepts_and_replies(rig, recordings):
    """Mark-as-read (POST /{phone_number_id}/messages with status "read", Meta's
    guides/mark-message-as-read) goes through the outbox on accept, and again on a reply only
    when the customer wrote since; it is no outbound message of the interaction."""
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.ticks-1"))
    assert await rig.receipts() == []  # an offer nobody accepted: not read yet
    await rig.rt.accept(inter.id, "bob")
    assert await rig.receipts() == ["wamid.ticks-1"]
    receipt = next(orjson.loads(c.request.content) for c in rig.graph.calls)
    assert receipt == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ticks-1"}
    await rig.rt.reply(inter.id, "On it.")
    assert await rig.receipts() == ["wamid.ticks-1"]  # nothing new to mark
    await rig.customer(recorded(recordings, "message/image", wamid="wamid.ticks-2"))
    await rig.rt.reply(inter.id, "Thanks for the photo.")
    assert await rig.receipts() == ["wamid.ticks-1", "wamid.ticks-2"]
    assert [m["text"]["body"] for m in await rig.sent()] == ["On it.", "Thanks for the photo."]
    _, _, messages = await rig.rt.interaction(inter.id)
    assert [m["body"].get("text") for m in messages if m["direction"] == "outbound"] == ["On it.", "Thanks for the photo."]
    assert (await rig.rt.stats())["outbound.read_receipts"] == 2


async def test_no_read_receipts_when_the_lifecycle_says_so(tmp_path, recordings):
    async with Rig(tmp_path, lifecycle={"read_receipts": False}) as rig:
        inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.noticks-1"))
        await rig.rt.accept(inter.id, "bob")
        await rig.rt.reply(inter.id, "Hello")
        assert await rig.receipts() == [] and len(await rig.sent()) == 1


async def test_the_same_recorded_message_twice_is_one_message(rig, recordings):
    body = recorded(recordings, "message/text")  # as recorded, id and all
    inter = await rig.customer(body)
    await rig.customer(body)  # Meta retries: the same bytes again
    assert (await rig.rt.interaction(inter.id))[0].message_count == 1
    assert (await rig.rt.stats())["events.deduplicated"] == 1


async def test_parked_reply_returns_to_its_owner(rig, recordings):
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.park-1"))
    await rig.rt.accept(inter.id)
    parked = await rig.rt.hold(inter.id)
    assert parked.state is S.ON_HOLD and parked.agent == "bob" and rig.load("bob") == 0
    back = await rig.customer(recorded(recordings, "message/chosen_location", wamid="wamid.park-2"))
    assert back.id == inter.id and back.state is S.WORK_IN_PROGRESS and back.agent == "bob"
    assert rig.load("bob") == 1 and back.message_count == 2
    assert (await rig.rt.interaction(inter.id))[1][-1]["note"] == "customer replied; back to its owner"


async def test_parked_reply_with_the_owner_away_is_rerouted(rig, recordings):
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.away-1"))
    await rig.rt.accept(inter.id, "bob")
    await rig.rt.hold(inter.id, "bob")
    await rig.rt.set_presence("bob", "away")
    moved = await rig.customer(recorded(recordings, "message/current_location", wamid="wamid.away-2"))
    assert moved.id == inter.id and moved.state is S.OFFERED and moved.agent == "alice"
    assert rig.load("alice") == 1 and rig.load("bob") == 0
    assert await rig.states(inter.id) == [
        "new", "queued", "offered", "work_in_progress", "on_hold", "queued", "offered"]


async def test_transfer_to_an_agent_then_to_a_queue_keeps_every_step(rig, recordings):
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.transfer-1"))
    await rig.rt.accept(inter.id, "bob")
    moved = await rig.rt.transfer(inter.id, to_agent="alice", agent="bob")
    assert moved.state is S.OFFERED and moved.agent == "alice" and moved.last_agent == "bob"
    assert rig.load("bob") == 0 and rig.load("alice") == 1
    await rig.rt.accept(inter.id, "alice")
    moved = await rig.rt.transfer(inter.id, to_queue="billing", agent="alice")
    assert moved.queue == "billing" and moved.state is S.OFFERED and moved.agent == "carol"
    assert rig.load("alice") == 0 and rig.load("carol") == 1
    _, history, _ = await rig.rt.interaction(inter.id)
    assert [(h["to_state"], h["agent"]) for h in history] == [
        ("new", None), ("queued", None), ("offered", "bob"), ("work_in_progress", "bob"),
        ("offered", "alice"), ("work_in_progress", "alice"), ("queued", None), ("offered", "carol")]
    # both hand-overs say so in the stored history, not only in the transferred events
    assert [h["note"] for h in history if h["note"] and h["note"].startswith("transfer")] == [
        "transfer from bob to alice", "transfer from alice to queue billing"]


async def test_wrap_up_timeout_applies_the_default_code(tmp_path, recordings):
    async with Rig(tmp_path, {"wrap_up_timeout": 5, "inactivity_timeout": 60}) as rig:
        inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.wrap-1"))
        await rig.rt.accept(inter.id)
        await rig.rt.wrap_up(inter.id)
        await rig.tick(4)
        assert (await rig.rt.interaction(inter.id))[0].state is S.WRAP_UP and rig.load("bob") == 1
        await rig.tick(2)
        closed, history, _ = await rig.rt.interaction(inter.id)
        assert closed.state is S.CLOSED and closed.wrap_up_code == "Issue resolved"
        assert history[-1]["note"] == "wrap-up timeout" and rig.load("bob") == 0


async def test_a_configured_default_code_is_the_one_applied(tmp_path, recordings):
    lifecycle = {"wrap_up_timeout": 5, "wrap_up_codes": ["Issue resolved", "Callback promised"],
                 "default_wrap_up_code": "Callback promised"}
    async with Rig(tmp_path, lifecycle) as rig:
        inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.wrap-2"))
        await rig.rt.accept(inter.id)
        await rig.rt.wrap_up(inter.id)
        await rig.tick(6)
        assert (await rig.rt.interaction(inter.id))[0].wrap_up_code == "Callback promised"


async def test_a_parked_interaction_closes_after_customer_inactivity(tmp_path, recordings):
    async with Rig(tmp_path, {"wrap_up_timeout": 5, "inactivity_timeout": 60}) as rig:
        inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.idle-1"))
        await rig.rt.accept(inter.id)
        await rig.rt.hold(inter.id)
        await rig.tick(59)
        assert (await rig.rt.interaction(inter.id))[0].state is S.ON_HOLD
        await rig.tick(2)
        closed, history, _ = await rig.rt.interaction(inter.id)
        assert closed.state is S.CLOSED and closed.wrap_up_code == "Closed due to customer inactivity"
        assert history[-1]["note"] == "customer inactive"
        assert await rig.states(inter.id) == [
            "new", "queued", "offered", "work_in_progress", "on_hold", "wrap_up", "closed"]
        # the customer writes again later: a new interaction, not the closed one
        fresh = await rig.customer(recorded(recordings, "message/text", wamid="wamid.idle-2"))
        assert fresh.id != inter.id and fresh.state is S.OFFERED and fresh.message_count == 1


async def test_create_case_closes_with_task_created_and_tells_the_customer(rig, recordings):
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.case-1"))
    await rig.rt.accept(inter.id)
    case = await rig.rt.create_case(inter.id, "Follow-up")
    assert case.number == "CS0000001" and case.interaction_ids == [inter.id]
    assert case.customer == f"+{CUSTOMER_WA_ID}" and case.history[0].body["text"] == "Body Text"
    closed, history, _ = await rig.rt.interaction(inter.id)
    assert closed.state is S.CLOSED and closed.wrap_up_code == "Task created" and closed.case_id == case.id
    assert history[-1]["note"] == "case CS0000001" and rig.load("bob") == 0
    [sent] = await rig.sent()
    assert sent["to"] == CUSTOMER_WA_ID and sent["type"] == "text"
    assert sent["text"]["body"] == "We opened case CS0000001 for your request; we will keep you posted."


async def test_delivery_statuses_of_the_reply_only_move_forward(rig, recordings):
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.status-1"))
    await rig.rt.accept(inter.id)
    # the Graph API gives the reply the id the recorded status webhooks report on
    rig.answer_ids.append(RECORDED_WAMID)
    await rig.rt.reply(inter.id, "On its way")
    await rig.sent()

    async def reply_status() -> tuple[str, str]:
        [m] = [m for m in (await rig.rt.interaction(inter.id))[2] if m["direction"] == "outbound"]
        return m["message_id"], m["status"]

    assert await reply_status() == (RECORDED_WAMID, "queued")
    for name, expected in [("delivered", "delivered"), ("sent", "delivered"), ("read", "read"),
                           ("delivered", "read"), ("played", "read")]:
        await rig.post(recorded(recordings, f"message_status/{name}"))
        assert await reply_status() == (RECORDED_WAMID, expected), name
    stats = await rig.rt.stats()
    assert stats["statuses.applied"] == 2 and stats["statuses.ignored_backwards"] == 2
    assert stats["events.deduplicated"] == 1  # the second "delivered" is Meta's retry
    assert (await rig.rt.interaction(inter.id))[0].message_count == 1  # statuses are not messages


async def test_the_conversation_reads_in_the_order_it_happened(rig, recordings):
    """Meta stamps a message with whole seconds ("…:19Z"), the runtime its own sends with
    microseconds ("…:19.250000Z", from its clock, injected here): messages are ordered by time,
    not by the text of their timestamps, in which "." sorts before "Z"."""
    inter = await rig.customer(recorded(recordings, "message/text", wamid="wamid.order-1"))  # 16:53:43Z
    await rig.rt.accept(inter.id)
    await rig.customer(recorded(recordings, "message/image", wamid="wamid.order-2"))  # 16:56:19Z
    rig.clock.now = datetime(2023, 10, 11, 16, 56, 19, 250_000, tzinfo=UTC)  # a quarter second later
    await rig.rt.reply(inter.id, "Looking into it")
    await rig.sent()
    messages = (await rig.rt.interaction(inter.id))[2]
    assert [(m["direction"], m["created_at"]) for m in messages] == [
        ("inbound", "2023-10-11T16:53:43Z"), ("inbound", "2023-10-11T16:56:19Z"),
        ("outbound", "2023-10-11T16:56:19.250000Z")]


async def test_a_status_never_lands_on_a_message_the_customer_sent(rig, recordings):
    """The recordings give a customer's message and a delivery status the same id: a status is
    about a message we sent, so the customer's message keeps no status."""
    inter = await rig.customer(recorded(recordings, "message/text"))  # wamid.xyzxyz, as recorded
    await rig.post(recorded(recordings, "message_status/delivered"))  # about wamid.xyzxyz too
    [message] = (await rig.rt.interaction(inter.id))[2]
    assert message["direction"] == "inbound" and message["status"] is None
    stats = await rig.rt.stats()
    assert stats.get("statuses.applied", 0) == 0 and stats["statuses.ignored_inbound"] == 1
