"""CCaaS and CTI connectors in the core: mapping, the token, the hook bridge, routing events
applied by the processor, call transitions and outbound calls."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import api_access
import httpx
import pytest
import respx
from sample_wire import SECRET, message_event

from omnisdk.config import Settings
from omnisdk.connectors import (
    CALL_KEY,
    CALL_TRANSITIONS,
    CallState,
    CallStateError,
    CallTracker,
    CCaaSConnector,
    CCaaSSettings,
    MappingError,
    OutboundCall,
)
from omnisdk.errors import OmniError
from omnisdk.events import Event
from omnisdk.gateway import create_app
from omnisdk.model import InteractionState as S
from omnisdk.model import check_e164
from omnisdk.outbound import BadRequestError, InternalServerError
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime, build_adapters

API, TOKEN = "https://api.genesys.test", "https://login.genesys.test/oauth/token"
SETTINGS = {
    "api_base_url": API, "token_url": TOKEN, "client_id": "cid", "client_secret": "very-secret-0042",
    "queue_map": {"genesys": "q-1", "genesys-vip": "q-2"}, "agent_map": {"alice": "u-alice", "bob": "u-bob"},
    "wrap_up_map": {"Issue resolved": "wu-1", "Task created": "wu-2"},
}


class Genesys(CCaaSConnector):
    """Records the calls it would make (no HTTP)."""

    name = "genesys"
    fail_with: Exception | None = None

    def __init__(self, account, settings):
        super().__init__(account, settings)
        self.calls: list[tuple[str, str, str | None]] = []
        self.keys: list[str | None] = []  # the idempotency reference of each route attempt

    def verify(self, request):
        return None

    def parse(self, request):
        return []

    async def route(self, interaction, queue):
        self.keys.append(CALL_KEY.get())
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append(("route", interaction.id, self.map_queue(queue)))

    async def transfer(self, interaction, to_agent=None, to_queue=None):
        agent, queue = self.transfer_target(to_agent, to_queue)
        self.calls.append(("transfer", interaction.id, agent or queue))

    async def wrap_up(self, interaction, code):
        self.calls.append(("wrap_up", interaction.id, self.map_wrap_up(code)))

    async def disconnect(self, interaction):
        self.calls.append(("disconnect", interaction.id, self.conversation_ref(interaction)))


def connector() -> Genesys:
    return Genesys("acme", CCaaSSettings.model_validate(SETTINGS))


class Rig:
    def __init__(self, tmp_path, queues, connector_class: type[Genesys] | None = None) -> None:
        self.settings = Settings(
            store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
            plugins={"modules": ["sample_plugin"], "allow": ["sample_plugin"]},
            routing={"queues": queues, "agents": [{"id": "alice", "capacity": {"chat": 2}}]},
            accounts={"sample": {"acme": {"secret": SECRET, "api_base_url": "https://sample.test"}}},
        )
        host = PluginHost(allow=["sample_plugin"])
        host.load_modules(["sample_plugin"])
        self.conn = (connector_class or Genesys)("acme", CCaaSSettings.model_validate(SETTINGS))
        adapters = {**build_adapters(self.settings, host), ("genesys", "acme"): self.conn}
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
        self.rt = Runtime(self.settings, host=host, adapters=adapters, clock=lambda: self.now)

    async def __aenter__(self) -> Rig:
        await self.rt.store.open()
        await self.rt.processor.restore()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.rt.store.close()

    async def feed(self, *events: Event) -> None:
        await self.rt.store.append_inbox(list(events), "2026-11-21T09:00:00Z")
        await self.rt.processor.drain()
        await self.rt.outbox.run_once()

    async def get(self, iid):
        return (await self.rt.interaction(iid))[0]

    async def counter(self, name):
        return (await self.rt.stats()).get(name, 0)


EXTERNAL = [{"name": "genesys", "routing_source": "external", "connector": "genesys"},
            {"name": "genesys-vip", "routing_source": "external", "connector": "genesys/acme"},
            {"name": "support"}]


def ev(conn: Genesys, kind: str, n: int, iid: str, **kw) -> Event:
    make = {"assigned": conn.assigned_event, "accepted": conn.accepted_event, "ended": conn.ended_event}[kind]
    return make(event_id=f"evt-{n}", interaction_id=iid, time="2026-11-21T09:00:00Z", **kw)


# --- mapping and settings ---------------------------------------------------------------------


def test_mapping_tables_are_typed_and_one_to_one():
    conn = connector()
    assert (conn.map_queue("genesys"), conn.map_agent("bob"), conn.map_wrap_up("Task created")) == ("q-1", "u-bob", "wu-2")
    assert (conn.agent_from("u-alice"), conn.agent_from("u-stranger")) == ("alice", "u-stranger")
    assert (conn.wrap_up_from("wu-1"), conn.wrap_up_from("wu-9")) == ("Issue resolved", None)
    with pytest.raises(MappingError, match="'nope' is not in queue_map") as err:
        conn.transfer_target(None, "nope")
    assert isinstance(err.value, ValueError) and isinstance(err.value, OmniError)
    with pytest.raises(ValueError, match="exactly one"):
        conn.transfer_target("alice", "genesys")
    with pytest.raises(ValueError, match="agent_map must be one-to-one"):
        CCaaSSettings.model_validate({**SETTINGS, "agent_map": {"alice": "u-1", "bob": "u-1"}})
    assert "very-secret-0042" not in repr(conn.settings) + repr(conn)


# --- the token ----------------------------------------------------------------------------------


async def test_concurrent_401s_refresh_the_token_once_and_retry_each_call_once():
    conn, tokens, seen = connector(), iter(["t1", "t2", "t3"]), []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401 if request.headers["authorization"] == "Bearer t1" else 200, json={})

    with respx.mock(assert_all_called=False) as router:
        token = router.post(TOKEN).mock(side_effect=lambda r: httpx.Response(
            200, json={"access_token": next(tokens), "expires_in": 3600}))
        router.route(url__startswith=API).mock(side_effect=api)
        await asyncio.gather(conn.api("GET", "/a", op="other"), conn.api("GET", "/b", op="other"))
        assert token.call_count == 2
        assert token.calls[0].request.headers["authorization"].startswith("Basic ")
        assert seen[-2:] == ["Bearer t2", "Bearer t2"] and seen.count("Bearer t1") in (1, 2)
        with pytest.raises(ValueError, match="op must be"):
            await conn.api("GET", "/a", op="bogus")  # type: ignore[arg-type]
    await conn.aclose()


# --- routing events and the bridge ----------------------------------------------------------------


async def test_routing_events_drive_an_externally_routed_interaction(tmp_path):
    async with Rig(tmp_path, EXTERNAL) as rig:
        conn = rig.conn
        await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        assert inter.state is S.QUEUED and conn.calls == [("route", inter.id, "q-1")]
        await rig.feed(ev(conn, "assigned", 1, inter.id, agent="u-bob", external_id="conv-77"))
        offered = await rig.get(inter.id)
        assert (offered.state, offered.agent, offered.context["external_id"]) == (S.OFFERED, "bob", "conv-77")
        timers = await rig.rt.store.transact(lambda tx: tx.pending_timers(inter.id))
        assert [t.kind for t in timers] == []  # the CCaaS times its own offers out
        await rig.feed(ev(conn, "assigned", 2, inter.id, agent="u-alice"))  # re-routed by the CCaaS
        assert (await rig.get(inter.id)).agent == "alice"
        await rig.feed(ev(conn, "accepted", 3, inter.id, agent="u-alice"))
        assert (await rig.get(inter.id)).state is S.WORK_IN_PROGRESS
        await rig.feed(ev(conn, "ended", 4, inter.id, reason="completed", wrap_up_code="wu-2"))
        closed = await rig.get(inter.id)
        assert (closed.state, closed.wrap_up_code) == (S.CLOSED, "Task created")
        assert [c[0] for c in conn.calls] == ["route"]  # a close the CCaaS reported is not echoed back
        await rig.feed(ev(conn, "ended", 5, inter.id, reason="completed"))
        assert await rig.counter("routing.ignored") == 1 and await rig.counter("events.failed") == 0
        assert rig.rt.engine.holder == {}


async def test_an_accept_without_its_assignment_and_an_unmapped_code(tmp_path):
    async with Rig(tmp_path, EXTERNAL) as rig:
        await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        await rig.feed(ev(rig.conn, "accepted", 1, inter.id, agent="u-stranger"))
        working = await rig.get(inter.id)
        assert (working.state, working.agent) == (S.WORK_IN_PROGRESS, "u-stranger")
        await rig.feed(ev(rig.conn, "ended", 2, inter.id, reason="disconnected", wrap_up_code="wu-unknown"))
        assert (await rig.get(inter.id)).wrap_up_code == "Issue resolved"  # the default code


async def test_routing_events_are_refused_for_work_the_core_or_another_connector_routes(tmp_path):
    queues = [{"name": "support"}, *(q for q in EXTERNAL if q["name"] != "support")]  # names are unique
    async with Rig(tmp_path, queues) as rig:
        await rig.feed(message_event(1))
        internal = (await rig.rt.interactions())[0]
        assert internal.queue == "support"
        stranger = Event(id="x-1", source="/avaya/acme", type="io.omnisdk.routing.ended",
                         data={"interaction_id": internal.id, "reason": "completed"})
        await rig.feed(ev(rig.conn, "ended", 1, internal.id, reason="completed"), stranger,
                       ev(rig.conn, "assigned", 2, "no-such-interaction", agent="u-bob"))
        assert (await rig.get(internal.id)).state is not S.CLOSED
        assert await rig.counter("events.failed") == 3
        rig.rt.engine.queues["genesys"].connector = "avaya"  # now routed by another connector
        await rig.rt.transfer(internal.id, to_queue="genesys")
        await rig.feed(ev(rig.conn, "assigned", 3, internal.id, agent="u-bob"))
        assert (await rig.get(internal.id)).state is S.QUEUED and await rig.counter("events.failed") == 4


async def test_the_bridge_syncs_transfers_and_closes_and_hands_back_control(tmp_path):
    async with Rig(tmp_path, EXTERNAL) as rig:
        conn, rt = rig.conn, rig.rt
        await rig.feed(message_event(1))
        inter = (await rt.interactions())[0]
        await rig.feed(ev(conn, "assigned", 1, inter.id, agent="u-alice", external_id="conv-1"),
                       ev(conn, "accepted", 2, inter.id))
        moved = await rt.transfer(inter.id, to_agent="bob")  # a CCaaS agent the core does not know
        assert (moved.state, moved.agent) == (S.OFFERED, "bob")
        moved = await rt.transfer(inter.id, to_queue="genesys-vip")  # same connector: the CCaaS moves it
        await rt.outbox.run_once()
        assert conn.calls[1:] == [("transfer", inter.id, "u-bob"), ("transfer", inter.id, "q-2")]
        assert moved.state is S.QUEUED and moved.queue == "genesys-vip"
        await rig.feed(ev(conn, "assigned", 3, inter.id, agent="u-bob"))
        back = await rt.transfer(inter.id, to_queue="support")  # to the core's router
        await rt.outbox.run_once()
        assert conn.calls[-1] == ("disconnect", inter.id, "conv-1")
        assert (back.state, back.agent, back.routing_source.value) == (S.OFFERED, "alice", "internal")
        await rig.feed(message_event(2, customer="+15550100009"))
        other = next(i for i in await rt.interactions() if i.customer == "+15550100009")
        await rt.close_interaction(other.id, "Task created")
        await rt.outbox.run_once()
        assert conn.calls[-2:] == [("wrap_up", other.id, "wu-2"), ("disconnect", other.id, other.id)]
        await rig.feed(message_event(3, customer="+15550100008"))
        third = next(i for i in await rt.interactions() if i.customer == "+15550100008")
        await rt.close_interaction(third.id, "Closed due to customer inactivity")  # not in wrap_up_map
        await rt.outbox.run_once()
        assert conn.calls[-1] == ("disconnect", third.id, third.id)  # the conversation still ends


class ParkingGenesys(Genesys):
    async def park(self, interaction):
        self.calls.append(("park", interaction.id, self.conversation_ref(interaction)))

    async def unpark(self, interaction):
        self.calls.append(("unpark", interaction.id, self.conversation_ref(interaction)))


async def test_hold_parks_and_a_customer_reply_or_resume_unparks_through_the_outbox(tmp_path):
    async with Rig(tmp_path, EXTERNAL, ParkingGenesys) as rig:
        conn = rig.conn
        await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        await rig.feed(ev(conn, "assigned", 1, inter.id, agent="u-alice", external_id="conv-7"),
                       ev(conn, "accepted", 2, inter.id))
        await rig.rt.hold(inter.id)
        await rig.rt.outbox.run_once()
        assert conn.calls[-1] == ("park", inter.id, "conv-7")
        await rig.feed(message_event(2))  # the customer writes: unparked, still with the CCaaS's agent
        back = await rig.get(inter.id)
        assert (back.state, back.agent) == (S.WORK_IN_PROGRESS, "alice") and rig.rt.engine.holder == {}
        assert conn.calls[-1] == ("unpark", inter.id, "conv-7")
        await rig.rt.hold(inter.id)
        await rig.rt.resume(inter.id)
        await rig.rt.outbox.run_once()
        assert [c[0] for c in conn.calls] == ["route", "park", "unpark", "park", "unpark"]
        assert (await rig.rt.stats())["connector_calls.sent"] == 5


async def test_a_connector_that_does_not_park_gets_no_park_call(tmp_path):
    async with Rig(tmp_path, EXTERNAL) as rig:
        await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        await rig.feed(ev(rig.conn, "assigned", 1, inter.id, agent="u-alice"), ev(rig.conn, "accepted", 2, inter.id))
        await rig.rt.hold(inter.id)
        await rig.rt.resume(inter.id)
        await rig.rt.outbox.run_once()
        assert [c[0] for c in rig.conn.calls] == ["route"] and (await rig.rt.stats())["connector_calls.queued"] == 1


async def test_an_outage_delays_the_call_in_the_outbox_and_it_goes_once_when_back(tmp_path, caplog):
    async with Rig(tmp_path, EXTERNAL) as rig:
        rig.conn.fail_with = InternalServerError("genesys: POST /conversations answered 503", provider="genesys",
                                                 status_code=503)
        with caplog.at_level(logging.WARNING, logger="omnisdk.connectors"):
            await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        assert inter.state is S.QUEUED and rig.conn.calls == []
        stats = await rig.rt.stats()
        assert (stats["connector_calls.queued"], stats["connector_calls.backlog"], stats["connector_calls.retried"]) \
            == (1, 1, 1)
        assert f"route of interaction {inter.id} failed (attempt 1, retried later)" in caplog.text
        assert await rig.rt.outbox.run_once() == 0  # not due yet: the outbox's backoff
        rig.conn.fail_with = None  # Genesys is back
        rig.now = rig.now.replace(minute=5)
        assert await rig.rt.outbox.run_once() == 1
        assert rig.conn.calls == [("route", inter.id, "q-1")]
        assert rig.conn.keys == [f"route:{inter.id}:1"] * 2  # one reference, fixed before the first attempt
        assert await rig.rt.outbox.run_once() == 0  # sent: never again
        stats = await rig.rt.stats()
        assert (stats["connector_calls.sent"], stats["connector_calls.backlog"]) == (1, 0)


async def test_a_non_retryable_failure_is_recorded_and_counted_not_retried(tmp_path, caplog):
    async with Rig(tmp_path, EXTERNAL) as rig:
        rig.conn.fail_with = BadRequestError("genesys: POST /conversations answered 400", provider="genesys",
                                             status_code=400)
        with caplog.at_level(logging.ERROR, logger="omnisdk.connectors"):
            await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        assert inter.state is S.QUEUED
        assert f"genesys/acme: route of interaction {inter.id} failed (not retried): BadRequestError" in caplog.text
        rig.now = rig.now.replace(hour=12)
        assert await rig.rt.outbox.run_once() == 0 and len(rig.conn.keys) == 1
        stats = await rig.rt.stats()
        assert (stats["connector_calls.failed"], stats["connector_calls.backlog"]) == (1, 0)
        assert "connector_calls.sent" not in stats


async def test_the_connector_call_rolls_back_with_its_decision(tmp_path):
    async with Rig(tmp_path, EXTERNAL) as rig:
        await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        await rig.feed(ev(rig.conn, "assigned", 1, inter.id, agent="u-alice"), ev(rig.conn, "accepted", 2, inter.id))
        with pytest.raises(OmniError):  # no such queue: the transfer, and its call, never happen
            await rig.rt.transfer(inter.id, to_queue="nowhere")
        await rig.rt.outbox.run_once()
        assert [c[0] for c in rig.conn.calls] == ["route"]
        assert (await rig.rt.stats())["connector_calls.queued"] == 1


async def test_a_queue_naming_a_connector_with_two_accounts_must_name_the_account(tmp_path, caplog):
    async with Rig(tmp_path, EXTERNAL) as rig:
        rig.rt.connectors.connectors[("genesys", "other")] = connector()
        with caplog.at_level(logging.ERROR, logger="omnisdk.connectors"):
            await rig.feed(message_event(1))
        assert rig.conn.calls == [] and "name one as genesys/<account>" in caplog.text


# --- CTI --------------------------------------------------------------------------------------------


def call(state: CallState, n: int, call_id: str = "CA1") -> Event:
    return Event(id=f"{call_id}:{n}", source="/voice/acme", type=state.event_type, data={"call_id": call_id})


def test_call_tracker_follows_the_documented_transitions():
    tracker = CallTracker()
    for n, state in enumerate([CallState.RINGING, CallState.ANSWERED, CallState.HELD, CallState.RESUMED,
                               CallState.TRANSFERRED, CallState.ENDED]):
        assert tracker.apply(call(state, n)) is state
    for sequence in ([CallState.RINGING, CallState.HELD], [CallState.ANSWERED],
                     [CallState.RINGING, CallState.ENDED, CallState.ANSWERED]):
        tracker = CallTracker()
        with pytest.raises(CallStateError, match="is not a legal transition"):
            for n, state in enumerate(sequence):
                tracker.apply(call(state, n))
    assert CALL_TRANSITIONS[CallState.RINGING] == {CallState.ANSWERED, CallState.ENDED}


def test_outbound_calls_need_e164_numbers():
    placed = OutboundCall(to="+14155550123", agent="a-1", timeout=20, **{"from": "+15550100001"})
    assert placed.model_dump(by_alias=True)["from"] == "+15550100001"
    for bad in ("4155550123", "+1 415 555 0123", "+1555", "+999123"):
        with pytest.raises(ValueError):
            OutboundCall(to=bad, agent="a-1", **{"from": "+15550100001"})
        with pytest.raises(ValueError):
            check_e164(bad)


async def test_an_unmapped_transfer_target_is_refused_before_anything_changes(tmp_path):
    queues = [*EXTERNAL, {"name": "genesys-new", "routing_source": "external", "connector": "genesys"}]
    async with Rig(tmp_path, queues) as rig:
        conn, rt = rig.conn, rig.rt
        await rig.feed(message_event(1))
        inter = (await rt.interactions())[0]
        await rig.feed(ev(conn, "assigned", 1, inter.id, agent="u-alice", external_id="conv-1"),
                       ev(conn, "accepted", 2, inter.id))
        before = await rt.interaction(inter.id)
        calls = list(conn.calls)
        for kw in ({"to_agent": "mallory"}, {"to_queue": "genesys-new"}):
            with pytest.raises(MappingError):
                await rt.transfer(inter.id, **kw)
        while await rt.outbox.run_once():  # nothing was queued: nothing goes
            pass
        assert await rt.interaction(inter.id) == before and conn.calls == calls
        moved = await rt.transfer(inter.id, to_queue="support")  # leaving the connector: nothing to map
        assert moved.routing_source.value == "internal"


async def test_an_unmapped_transfer_target_is_a_409_over_the_agent_api(tmp_path):
    async with Rig(tmp_path, EXTERNAL) as rig:
        conn, rt = rig.conn, rig.rt
        await rig.feed(message_event(1))
        inter = (await rt.interactions())[0]
        await rig.feed(ev(conn, "assigned", 1, inter.id, agent="u-alice", external_id="conv-1"),
                       ev(conn, "accepted", 2, inter.id))
        app = create_app(rt, manage_runtime=False)
        async with api_access.client(app, await api_access.api_key(rt, "admin")) as client:
            resp = await client.post(f"/v1/interactions/{inter.id}/transfer", json={"to_agent": "mallory"})
            assert resp.status_code == 409 and resp.json()["error"] == "unmapped_target"
            assert "agent_map" in resp.json()["detail"] and "very-secret" not in resp.text
            resp = await client.post(f"/v1/interactions/{inter.id}/transfer", json={"to_agent": "bob"})
            assert resp.status_code == 200 and resp.json()["agent"] == "bob"


async def test_a_routing_event_signed_by_another_account_of_the_connector_acts_on_nothing(tmp_path):
    """The queue names the plugin only (``connector = "genesys"``, one account): a webhook that
    another account of the same plugin signed may not assign, accept or end its interactions
    (it used to pass: the bare name matched any account)."""
    async with Rig(tmp_path, EXTERNAL) as rig:
        await rig.feed(message_event(1))
        inter = (await rig.rt.interactions())[0]
        assert inter.state is S.QUEUED and inter.queue == "genesys"
        other = Genesys("other", CCaaSSettings.model_validate(SETTINGS))  # /genesys/other
        await rig.feed(ev(other, "assigned", 1, inter.id, agent="u-alice", external_id="conv-x"),
                       ev(other, "ended", 2, inter.id, reason="disconnected"))
        assert (await rig.get(inter.id)).state is S.QUEUED and await rig.counter("events.failed") == 2
        await rig.feed(ev(rig.conn, "assigned", 3, inter.id, agent="u-alice", external_id="conv-1"))
        assert (await rig.get(inter.id)).state is S.OFFERED  # its own account's event still applies
