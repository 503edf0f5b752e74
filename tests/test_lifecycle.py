"""Scenario tests of the interaction lifecycle and the routing engine, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sample_wire import SECRET, message_event

from omnisdk.config import Settings
from omnisdk.errors import StateError
from omnisdk.hookspecs import hookimpl
from omnisdk.lifecycle.bots import VirtualAgentTurn
from omnisdk.model import InteractionState as S
from omnisdk.routing import CapacityError
from omnisdk.runtime import Runtime


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def settings_for(tmp_path, queues=None, agents=None, lifecycle=None, modules=()):
    return Settings(
        store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
        plugins={"modules": ["sample_plugin", *modules], "allow": ["sample_plugin", *modules]},
        routing={
            "queues": queues or [{"name": "support", "offer_timeout": 30}],
            "agents": agents or [
                {"id": "alice", "capacity": {"chat": 2}},
                {"id": "bob", "capacity": {"chat": 1}},
            ],
        },
        lifecycle=lifecycle or {},
        accounts={"sample": {"acme": {"secret": SECRET, "api_base_url": "https://sample.test"}}},
    )


class Rig:
    """A runtime driven by hand: no background loops, an injected clock."""

    def __init__(self, settings: Settings, host=None) -> None:
        self.clock = Clock()
        self.settings = settings
        self.rt = Runtime(settings, clock=self.clock, host=host)

    async def __aenter__(self) -> Rig:
        await self.rt.store.open()
        await self.rt.processor.restore()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.rt.store.close()

    async def restart(self) -> None:
        await self.rt.store.close()
        clock = self.clock
        self.rt = Runtime(self.settings, clock=clock, host=self.rt.host)
        await self.rt.store.open()
        await self.rt.processor.restore()

    async def say(self, i, customer="+15550100001", text="hi"):
        await self.rt.store.append_inbox([message_event(i, customer=customer, text=text)], "2026-11-21T09:00:00Z")
        await self.rt.processor.drain()
        return await self.by_customer(customer)

    async def by_customer(self, customer):
        items = [i for i in await self.rt.interactions() if i.customer == customer]
        return items[-1]

    async def get(self, iid):
        return (await self.rt.interaction(iid))[0]

    async def tick(self, seconds):
        self.clock.advance(seconds)
        while await self.rt.processor.run_timers():
            pass

    async def outbox_texts(self):
        rows = await self.rt.store.transact(lambda tx: tx.c.execute("SELECT payload FROM outbox ORDER BY id").fetchall())
        import orjson
        return [orjson.loads(r[0])["text"] for r in rows]


@pytest.fixture
async def rig(tmp_path):
    async with Rig(settings_for(tmp_path)) as r:
        yield r


async def test_offer_accept_and_capacity(rig):
    inter = await rig.say(1)
    assert inter.state is S.OFFERED and inter.agent == "alice"
    inter = await rig.rt.accept(inter.id, "alice")
    assert inter.state is S.WORK_IN_PROGRESS and inter.accepted_at == rig.clock.now
    assert rig.rt.engine.load["alice"] == {"chat": 1}
    with pytest.raises(StateError):
        await rig.rt.accept(inter.id, "alice")


async def test_accept_by_another_agent_is_refused_and_writes_nothing(rig):
    inter = await rig.say(1)
    with pytest.raises(StateError):
        await rig.rt.accept(inter.id, "bob")
    assert (await rig.get(inter.id)).state is S.OFFERED


async def test_offer_timeout_reoffers_to_another_agent(rig):
    inter = await rig.say(1)
    assert inter.agent == "alice"
    await rig.tick(29)
    assert (await rig.get(inter.id)).agent == "alice"
    await rig.tick(2)
    again = await rig.get(inter.id)
    assert again.state is S.OFFERED and again.agent == "bob" and again.declined_by == ["alice"]
    assert rig.rt.engine.load["alice"] == {"chat": 0}
    history = (await rig.rt.interaction(inter.id))[1]
    assert any(h["note"] == "offer timed out" for h in history)


async def test_reject_with_nobody_else_free_waits_in_the_queue(rig):
    a = await rig.say(1, customer="+15550100001")
    b = await rig.say(2, customer="+15550100002")
    c = await rig.say(3, customer="+15550100003")
    # alice (2 free) first; then a tie at 1 free goes to bob, who reached that level first
    assert [x.agent for x in (a, b, c)] == ["alice", "bob", "alice"]
    rejected = await rig.rt.reject(c.id, "alice")
    assert rejected.state is S.QUEUED and rejected.agent is None


async def test_capacity_is_never_exceeded_and_the_backlog_drains_on_close(rig):
    items = [await rig.say(i, customer=f"+1555010000{i}") for i in range(4)]
    states = [i.state for i in items]
    assert states.count(S.OFFERED) == 3 and states.count(S.QUEUED) == 1
    waiting = next(i for i in items if i.state is S.QUEUED)
    first = next(i for i in items if i.agent == "bob")
    await rig.rt.accept(first.id)
    with pytest.raises(CapacityError):
        await rig.rt.transfer(items[0].id, to_agent="bob")
    await rig.rt.close_interaction(first.id, "Issue resolved")
    drained = await rig.get(waiting.id)
    assert drained.state is S.OFFERED and drained.agent == "bob"


async def test_park_frees_capacity_and_a_reply_returns_to_the_owner(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    parked = await rig.rt.hold(inter.id)
    assert parked.state is S.ON_HOLD and parked.agent == "alice"
    assert rig.rt.engine.load["alice"] == {"chat": 0}
    back = await rig.say(2)  # the same customer writes again
    assert back.id == inter.id and back.state is S.WORK_IN_PROGRESS and back.agent == "alice"
    assert rig.rt.engine.load["alice"] == {"chat": 1}


async def test_a_reply_while_the_owner_is_away_reroutes(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    await rig.rt.hold(inter.id)
    await rig.rt.set_presence("alice", "away")
    back = await rig.say(2)
    assert back.state is S.OFFERED and back.agent == "bob"


async def test_messages_during_work_do_not_change_ownership(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    for i in range(2, 5):
        again = await rig.say(i)
        assert again.id == inter.id and again.agent == "alice" and again.state is S.WORK_IN_PROGRESS
    assert (await rig.get(inter.id)).message_count == 4


async def test_transfer_to_agent_and_to_queue_keep_the_history(tmp_path):
    queues = [{"name": "support"}, {"name": "billing", "skills": ["billing"]}]
    agents = [{"id": "alice", "capacity": {"chat": 2}}, {"id": "bob", "capacity": {"chat": 2}},
              {"id": "carol", "capacity": {"chat": 2}, "skills": {"billing": 3}, "queues": ["billing"]}]
    async with Rig(settings_for(tmp_path, queues, agents)) as rig:
        inter = await rig.say(1)
        await rig.rt.accept(inter.id)
        moved = await rig.rt.transfer(inter.id, to_agent="bob")
        assert moved.state is S.OFFERED and moved.agent == "bob" and moved.last_agent == "alice"
        assert rig.rt.engine.load["alice"] == {"chat": 0} and rig.rt.engine.load["bob"] == {"chat": 1}
        await rig.rt.accept(inter.id, "bob")
        moved = await rig.rt.transfer(inter.id, to_queue="billing")
        assert moved.queue == "billing" and moved.agent == "carol"
        history = [h["to_state"] for h in (await rig.rt.interaction(inter.id))[1]]
        assert history == ["new", "queued", "offered", "work_in_progress", "offered", "work_in_progress", "queued", "offered"]


async def test_wrap_up_timeout_applies_the_default_code(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    await rig.rt.wrap_up(inter.id)
    await rig.tick(119)
    assert (await rig.get(inter.id)).state is S.WRAP_UP
    await rig.tick(2)
    closed = await rig.get(inter.id)
    assert closed.state is S.CLOSED and closed.wrap_up_code == "Issue resolved"


async def test_an_explicit_code_beats_the_timer_and_unknown_codes_are_refused(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    await rig.rt.wrap_up(inter.id)
    with pytest.raises(ValueError):
        await rig.rt.close_interaction(inter.id, "Made up")
    await rig.rt.close_interaction(inter.id, "Task created")
    await rig.tick(500)
    closed = await rig.get(inter.id)
    assert closed.wrap_up_code == "Task created"
    fired = (await rig.rt.stats()).get("timers.fired", 0)
    assert fired == 0  # the wrap-up timer was cancelled, not fired


async def test_inactivity_auto_closes_parked_interactions(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    await rig.rt.hold(inter.id)
    await rig.tick(30 * 86400 - 10)
    assert (await rig.get(inter.id)).state is S.ON_HOLD
    await rig.tick(20)
    closed = await rig.get(inter.id)
    assert closed.state is S.CLOSED and closed.wrap_up_code == "Closed due to customer inactivity"


async def test_a_customer_reply_cancels_the_inactivity_timer(rig):
    inter = await rig.say(1)
    await rig.rt.accept(inter.id)
    await rig.rt.hold(inter.id)
    await rig.tick(86400)
    await rig.say(2)
    await rig.tick(30 * 86400)
    assert (await rig.get(inter.id)).state is S.WORK_IN_PROGRESS


async def test_create_case_copies_links_notifies_and_closes(rig):
    inter = await rig.say(1, text="my order never arrived")
    await rig.rt.accept(inter.id)
    case = await rig.rt.create_case(inter.id, "Lost order")
    assert case.number == "CS0000001" and case.interaction_ids == [inter.id]
    assert case.history[0].body["text"] == "my order never arrived"
    closed = await rig.get(inter.id)
    assert closed.state is S.CLOSED and closed.wrap_up_code == "Task created" and closed.case_id == case.id
    assert any("CS0000001" in t for t in await rig.outbox_texts())
    second = await rig.say(2, customer="+15550100002")
    linked = await rig.rt.link_case(second.id, "CS0000001")
    assert linked.interaction_ids == [inter.id, second.id]
    case2 = await rig.rt.create_case(second.id)
    assert case2.number == "CS0000002"


async def test_overflow_moves_a_waiting_interaction(tmp_path):
    queues = [{"name": "tier1", "overflow_to": "tier2", "overflow_after": 60}, {"name": "tier2"}]
    agents = [{"id": "alice", "capacity": {"chat": 1}, "queues": ["tier1"]},
              {"id": "bob", "capacity": {"chat": 1}, "queues": ["tier2"]}]
    async with Rig(settings_for(tmp_path, queues, agents)) as rig:
        busy = await rig.say(1, customer="+15550100001")
        await rig.rt.accept(busy.id)
        waiting = await rig.say(2, customer="+15550100002")
        assert waiting.state is S.QUEUED and waiting.queue == "tier1"
        await rig.tick(61)
        moved = await rig.get(waiting.id)
        assert moved.queue == "tier2" and moved.state is S.OFFERED and moved.agent == "bob"


@pytest.mark.parametrize("window, expected", [(86400, "alice"), (0, "bob")])
async def test_affinity_prefers_the_last_agent_within_the_window(tmp_path, window, expected):
    agents = [{"id": "alice", "capacity": {"chat": 3}}, {"id": "bob", "capacity": {"chat": 1}}]
    async with Rig(settings_for(tmp_path, [{"name": "q"}], agents, {"affinity_window": window})) as rig:
        first = await rig.say(1)
        assert first.agent == "alice"
        await rig.rt.accept(first.id)
        await rig.rt.close_interaction(first.id)
        rig.clock.advance(60)
        assert (await rig.say(2, customer="+15550100002")).agent == "alice"
        assert (await rig.say(3, customer="+15550100003")).agent == "alice"
        # alice and bob now have 1 free slot each: the strategy alone would pick bob
        again = await rig.say(4)
        assert again.id != first.id and again.agent == expected


@pytest.mark.parametrize("strategy", ["longest_idle", "round_robin"])
async def test_other_strategies_spread_work(tmp_path, strategy):
    agents = [{"id": n, "capacity": {"chat": 5}} for n in ("a", "b", "c")]
    async with Rig(settings_for(tmp_path, [{"name": "q", "strategy": strategy}], agents)) as rig:
        chosen = []
        for i in range(6):
            rig.clock.advance(1)
            chosen.append((await rig.say(i, customer=f"+1555010000{i}")).agent)
        assert sorted(chosen) == ["a", "a", "b", "b", "c", "c"]
        assert chosen[:3] == ["a", "b", "c"] and chosen[3:] == ["a", "b", "c"]


async def test_universal_cap_with_item_sizes(tmp_path):
    agents = [{"id": "alice", "capacity": {"chat": 4, "voice": 1}, "max_units": 1.0}]
    async with Rig(settings_for(tmp_path, [{"name": "q"}], agents)) as rig:
        got = [(await rig.say(i, customer=f"+1555010000{i}")).state for i in range(5)]
        assert got == [S.OFFERED] * 4 + [S.QUEUED]  # 4 chats × 0.25 = the 1.0 cap


async def test_queue_conditions_route_by_keyword(tmp_path):
    queues = [{"name": "billing", "keywords": ["invoice", "refund"]}, {"name": "general"}]
    agents = [{"id": "alice", "capacity": {"chat": 3}}]
    async with Rig(settings_for(tmp_path, queues, agents)) as rig:
        assert (await rig.say(1, customer="+15550100001", text="Where is my REFUND?")).queue == "billing"
        assert (await rig.say(2, customer="+15550100002", text="hello")).queue == "general"


async def test_an_away_agent_gets_nothing_and_availability_drains(rig):
    await rig.rt.set_presence("alice", "away")
    await rig.rt.set_presence("bob", "offline")
    inter = await rig.say(1)
    assert inter.state is S.QUEUED
    await rig.rt.set_presence("bob", "available")
    assert (await rig.get(inter.id)).agent == "bob"


async def test_restart_keeps_capacity_backlog_and_timers(tmp_path):
    async with Rig(settings_for(tmp_path)) as rig:
        items = [await rig.say(i, customer=f"+1555010000{i}") for i in range(4)]
        offered = [i for i in items if i.state is S.OFFERED]
        waiting = next(i for i in items if i.state is S.QUEUED)
        await rig.restart()
        assert rig.rt.engine.load["alice"] == {"chat": 2} and rig.rt.engine.load["bob"] == {"chat": 1}
        assert rig.rt.engine.next_waiting("support", waiting.channel) == waiting.id
        await rig.tick(31)  # the offer timers survived the restart
        fired = (await rig.rt.stats())["timers.fired"]
        assert fired == len(offered)


class EchoBot:
    @hookimpl
    def omnisdk_virtual_agent_turn(self, interaction, message, history):
        if "agent" in (message.text or ""):
            return VirtualAgentTurn(reply="Connecting you to a person.", escalate=True, context={"intent": "human"})
        return VirtualAgentTurn(reply=f"bot heard: {message.text}")


async def test_a_virtual_agent_answers_first_and_escalates_with_context(tmp_path):
    queues = [{"name": "front", "virtual_agent": "echo"}]
    async with Rig(settings_for(tmp_path, queues)) as rig:
        rig.rt.host.allow.add("echo")
        assert rig.rt.host.register(EchoBot(), "echo")
        first = await rig.say(1, text="hello")
        assert first.state is S.WORK_IN_PROGRESS and first.agent == "bot:echo"
        await rig.say(2, text="what are your hours")
        assert "bot heard: what are your hours" in await rig.outbox_texts()
        escalated = await rig.say(3, text="let me talk to an agent")
        assert escalated.id == first.id and escalated.state is S.OFFERED and escalated.agent == "alice"
        assert escalated.context["intent"] == "human" and escalated.context["bot"] == "echo"
        assert escalated.message_count == 3


class Connector:
    def __init__(self):
        self.routed, self.wrapped = [], []

    @hookimpl
    def omnisdk_external_route(self, interaction, queue):
        self.routed.append((interaction.id, queue.connector))

    @hookimpl
    def omnisdk_external_wrap_up(self, interaction, code):
        self.wrapped.append((interaction.id, code))


async def test_external_routing_source_hands_work_to_the_ccaas_plugin(tmp_path):
    queues = [{"name": "genesys", "routing_source": "external", "connector": "genesys"}]
    async with Rig(settings_for(tmp_path, queues)) as rig:
        conn = Connector()
        rig.rt.host.allow.add("genesys")
        rig.rt.host.register(conn, "genesys")
        inter = await rig.say(1)
        assert inter.state is S.QUEUED and inter.routing_source.value == "external" and inter.agent is None
        assert conn.routed == [(inter.id, "genesys")]
        assert rig.rt.engine.load["alice"] == {}
        await rig.rt.close_interaction(inter.id, "Issue resolved")
        assert conn.wrapped == [(inter.id, "Issue resolved")]


async def test_messaging_action_nudges_a_silent_customer(tmp_path):
    lifecycle = {"actions": [{"name": "nudge", "event": "agent_message", "after": 600,
                              "when": {"state": "work_in_progress"}, "action": "notify_customer",
                              "text": "Are you still there?", "cancel_on": "customer_message"}]}
    async with Rig(settings_for(tmp_path, lifecycle=lifecycle)) as rig:
        inter = await rig.say(1)
        await rig.rt.accept(inter.id)
        await rig.rt.reply(inter.id, "How can I help?")
        await rig.tick(601)
        assert (await rig.outbox_texts()).count("Are you still there?") == 1
        await rig.rt.reply(inter.id, "Hello?")
        await rig.say(2)  # the customer answers: the pending nudge is cancelled
        await rig.tick(601)
        assert (await rig.outbox_texts()).count("Are you still there?") == 1


async def test_messaging_actions_park_wrap_up_and_reassign_by_their_table(tmp_path):
    """Each action kind does its own thing when its timer fires (the timer's action table):
    set_state parks a silent conversation, then wraps it up; reassign takes work an agent left
    unanswered back to its queue."""
    lifecycle = {"actions": [
        {"name": "park", "event": "agent_message", "after": 600, "when": {"state": "work_in_progress"},
         "action": "set_state", "state": "on_hold"},
        {"name": "finish", "event": "agent_message", "after": 1200, "when": {"state": "on_hold"},
         "action": "set_state", "state": "wrap_up"},
    ]}
    async with Rig(settings_for(tmp_path, lifecycle=lifecycle)) as rig:
        inter = await rig.say(1)
        await rig.rt.accept(inter.id)
        await rig.rt.reply(inter.id, "How can I help?")
        await rig.tick(601)
        assert (await rig.rt.interaction(inter.id))[0].state is S.ON_HOLD
        await rig.tick(600)
        assert (await rig.rt.interaction(inter.id))[0].state is S.WRAP_UP
    lifecycle = {"actions": [{"name": "hand_back", "event": "agent_message", "after": 300,
                              "when": {"state": "work_in_progress"}, "action": "reassign"}]}
    async with Rig(settings_for(tmp_path / "reassign", lifecycle=lifecycle)) as rig:
        inter = await rig.say(1)
        await rig.rt.accept(inter.id)
        await rig.rt.reply(inter.id, "Let me check.")
        await rig.tick(301)
        steps = [h["to_state"] for h in (await rig.rt.interaction(inter.id))[1]]
        assert steps[:4] == ["new", "queued", "offered", "work_in_progress"]
        assert "queued" in steps[4:]  # back to its queue, to be offered again


class LanguageTagger:
    @hookimpl
    def omnisdk_routing_attributes(self, interaction, message):
        return {"language": "es" if "hola" in (message.text or "").lower() else "en", "tier": "gold"}


async def test_routing_attributes_drive_language_and_attribute_conditions(tmp_path):
    queues = [{"name": "spanish", "languages": ["es"]}, {"name": "vip", "attributes": {"tier": "gold"}},
              {"name": "general"}]
    async with Rig(settings_for(tmp_path, queues)) as rig:
        rig.rt.host.allow.add("tagger")
        assert rig.rt.host.register(LanguageTagger(), "tagger")
        es = await rig.say(1, customer="+15550100001", text="Hola, necesito ayuda")
        en = await rig.say(2, customer="+15550100002", text="Hello there")
        assert (es.queue, es.language) == ("spanish", "es")
        assert (en.queue, en.attributes) == ("vip", {"tier": "gold"})


async def test_a_ccaas_connector_assigns_externally_routed_work(tmp_path):
    queues = [{"name": "genesys", "routing_source": "external", "connector": "genesys"}]
    async with Rig(settings_for(tmp_path, queues)) as rig:
        inter = await rig.say(1)
        offered = await rig.rt.assign(inter.id, "genesys-agent-7")  # an agent the core does not know
        assert offered.state is S.OFFERED and offered.agent == "genesys-agent-7"
        assert rig.rt.engine.holder == {}  # external capacity is the CCaaS's business
        assert (await rig.rt.accept(inter.id, "genesys-agent-7")).state is S.WORK_IN_PROGRESS
        with pytest.raises(StateError):
            await rig.rt.assign(inter.id, "genesys-agent-8")


async def test_a_missed_offer_is_offered_to_the_same_agent_again_after_the_reoffer_delay(tmp_path):
    agents = [{"id": "solo", "capacity": {"chat": 1}}]
    async with Rig(settings_for(tmp_path, [{"name": "q", "offer_timeout": 30, "reoffer_after": 120}], agents)) as rig:
        inter = await rig.say(1)
        await rig.tick(31)  # missed: back to the queue, solo skipped for it for now
        waiting = await rig.get(inter.id)
        assert waiting.state is S.QUEUED and waiting.declined_by == ["solo"]
        await rig.tick(120)
        again = await rig.get(inter.id)
        assert again.state is S.OFFERED and again.agent == "solo" and again.declined_by == []


async def test_the_bot_answers_the_opening_message(tmp_path):
    async with Rig(settings_for(tmp_path, [{"name": "front", "virtual_agent": "echo"}])) as rig:
        rig.rt.host.allow.add("echo")
        assert rig.rt.host.register(EchoBot(), "echo")
        await rig.say(1, text="first words")
        assert "bot heard: first words" in await rig.outbox_texts()


class SilentEscalation:
    """A bot that escalates without a reply (so the event writes no row before routing) and a
    routing plugin whose agent choice raises for that interaction."""

    @hookimpl
    def omnisdk_virtual_agent_turn(self, interaction, message, history):
        if "agent" in (message.text or ""):
            return VirtualAgentTurn(escalate=True)
        return None

    @hookimpl
    def omnisdk_select_agent(self, interaction, queue, candidates):
        if interaction.context.get("escalated"):
            raise RuntimeError("plugin bug")
        return None


async def test_an_event_that_fails_before_writing_leaves_the_routing_engine_as_it_was(tmp_path):
    queues = [{"name": "front", "virtual_agent": "echo"}]
    async with Rig(settings_for(tmp_path, queues)) as rig:
        rig.rt.host.allow.add("silent")
        assert rig.rt.host.register(SilentEscalation(), "silent")
        first = await rig.say(1, text="hello")
        assert first.state is S.WORK_IN_PROGRESS and first.agent == "bot:echo"
        after_fail = await rig.say(2, text="an agent please")
        assert after_fail.state is S.WORK_IN_PROGRESS and after_fail.agent == "bot:echo"
        assert after_fail.message_count == 1, "the failed message left no trace in the interaction"
        assert first.id not in rig.rt.engine.waiting, "the escalation's enqueue was undone in memory"
        assert rig.rt.engine.load["alice"] == {} and rig.rt.engine.load["bob"] == {}
        assert "RuntimeError" in await rig.rt.store.transact(lambda tx: tx.inbox_failure("/sample/acme", "m-2"))


# --- the timer table (issue 8, item A2) ------------------------------------------------------


async def test_the_timer_table_handles_every_kind_the_lifecycle_schedules(tmp_path, monkeypatch):
    """Every timer the lifecycle arms in a scenario that arms all of them (offer, overflow,
    re-offer, messaging action, inactivity, wrap-up, reminder) has a handler in the timer table;
    firing them all fails none and finds no unknown kind."""
    queues = [{"name": "tier1", "offer_timeout": 30, "overflow_to": "tier2", "overflow_after": 600},
              {"name": "tier2"}]
    agents = [{"id": "alice", "capacity": {"chat": 2}}, {"id": "bob", "capacity": {"chat": 2}}]
    lifecycle = {"reminders": [300], "actions": [{"name": "nudge", "event": "agent_message", "after": 900,
                                                  "action": "notify_customer", "text": "Still there?"}]}
    async with Rig(settings_for(tmp_path, queues=queues, agents=agents, lifecycle=lifecycle)) as rig:
        tx_class = await rig.rt.store.transact(lambda tx: type(tx))
        armed: list[str] = []
        real_schedule = tx_class.schedule_timer

        def schedule(self, key, kind, due_at, interaction_id, data):
            armed.append(kind)
            return real_schedule(self, key, kind, due_at, interaction_id, data)

        monkeypatch.setattr(tx_class, "schedule_timer", schedule)
        await rig.rt.set_presence("bob", "away")
        first = await rig.say(1)  # offered to alice: offer (and overflow, for tier1)
        await rig.rt.reject(first.id, "alice")  # re-offer; waits (alice declined, bob away)
        second = await rig.say(2, customer="+15550100002")
        await rig.rt.accept(second.id, "alice")
        await rig.rt.reply(second.id, "Hello")  # action:nudge
        await rig.rt.hold(second.id, "alice")  # inactivity
        await rig.rt.resume(second.id, "alice")
        await rig.rt.wrap_up(second.id, "alice")  # wrap_up
        await rig.rt.set_presence("bob", "available")  # takes the first one
        await rig.rt.start_outbound(agent="bob", plugin="sample", account="acme", customer="+15550100003",
                                    text="Your order shipped", business="biz")  # reminder
        table = rig.rt.lifecycle.timers
        assert {"offer", "overflow", "reoffer", "action:nudge", "inactivity", "wrap_up", "reminder"} <= set(armed)
        assert [kind for kind in armed if table.handler_for(kind) is None] == []
        await rig.tick(3600)
        stats = await rig.rt.stats()
        assert stats.get("timers.fired", 0) > 0
        assert stats.get("timers.failed", 0) == 0 and stats.get("timers.unknown", 0) == 0


def test_every_timer_kind_in_the_source_has_a_handler(tmp_path):
    """Static side of the test above: every call that arms a timer in ``src/omnisdk`` with a
    literal kind names a kind the table handles; kinds computed at run time are armed only by
    ``arm_actions`` (``action:<name>``, handled by prefix)."""
    import ast
    from pathlib import Path

    import omnisdk
    from omnisdk.lifecycle.settings import LifecycleSettings
    from omnisdk.lifecycle.timers import Timers

    table = Timers(LifecycleSettings(), dispatch=None, actions=None)  # the table only
    root = Path(omnisdk.__file__).parent
    literal: dict[str, list[str]] = {}
    computed: set[tuple[str, str]] = set()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for call in ast.walk(func):
                if not isinstance(call, ast.Call):
                    continue
                name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
                if name not in ("arm_timer", "schedule_timer") or len(call.args) < 2:
                    continue
                kind = call.args[1]
                where = f"{path.relative_to(root)}:{call.lineno}"
                if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
                    literal.setdefault(kind.value, []).append(where)
                else:
                    computed.add((path.relative_to(root).as_posix(), func.name))
    assert {"offer", "reoffer", "wrap_up", "inactivity", "overflow", "reminder"} <= set(literal)
    assert {k: w for k, w in literal.items() if table.handler_for(k) is None} == {}
    assert computed <= {("lifecycle/messaging_actions.py", "arm_actions"), ("lifecycle/transitions.py", "arm_timer")}
    assert table.handler_for("action:anything") is not None


async def test_an_unknown_timer_kind_is_counted_and_does_not_stop_the_timer_pass(tmp_path):
    """A timer row whose kind nothing handles (written by another release, or an action no longer
    configured) is logged and counted as ``timers.unknown``, fails nothing, and the due timers
    around it still fire (here: the wrap-up timeout closes the interaction)."""
    async with Rig(settings_for(tmp_path)) as rig:
        inter = await rig.say(1)
        await rig.rt.accept(inter.id, "alice")
        await rig.rt.wrap_up(inter.id, "alice")
        due = rig.clock.now.timestamp() + 10

        def arm(tx):
            tx.schedule_timer(f"callback:{inter.id}", "callback", due, inter.id, {})
            tx.schedule_timer(f"action:gone:{inter.id}", "action:gone", due, inter.id, {})

        await rig.rt.store.transact(arm)
        await rig.tick(600)
        closed = await rig.get(inter.id)
        assert closed.state is S.CLOSED and closed.wrap_up_code == "Issue resolved"
        stats = await rig.rt.stats()
        assert stats.get("timers.unknown") == 2
        assert stats.get("timers.failed", 0) == 0


def test_a_move_in_place_is_an_ordinary_model_assignment():
    """Issue 8, item A2: ``move`` changes an interaction the operation owns by pydantic's own
    attribute assignment (it patched ``__dict__`` before), so the model records the fields that
    were set; an illegal move changes nothing."""
    from sample_wire import message_event

    from omnisdk.lifecycle.context import Ctx
    from omnisdk.lifecycle.transitions import move
    from omnisdk.model import Direction, Interaction, Message

    message = Message.model_validate(message_event(1).data)
    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    inter = Interaction(id="i-1", channel=message.channel, direction=Direction.INBOUND, state=S.NEW,
                        conversation_key="k", source="/sample/acme", customer=message.customer,
                        business=message.business, created_at=now, updated_at=now)
    ctx = Ctx(None, now + timedelta(seconds=5), observe=True)
    ctx.put(inter)
    moved = move(ctx, inter, S.QUEUED, note="routed", queue="support", queued_at=ctx.now)
    assert moved is inter and moved.state is S.QUEUED and moved.updated_at == ctx.now
    assert {"state", "updated_at", "queue", "queued_at"} <= moved.model_fields_set
    assert moved.model_dump(exclude_unset=True)["queue"] == "support"
    assert [e.type for e in ctx.emitted] == ["io.omnisdk.interaction.queued"]
    assert ctx.logs == [("i-1", ctx.iso, "new", "queued", None, "support", "routed")]
    with pytest.raises(StateError):
        move(ctx, moved, S.WORK_IN_PROGRESS)
    assert moved.state is S.QUEUED and len(ctx.logs) == 1 and len(ctx.emitted) == 1
