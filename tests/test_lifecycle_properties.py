"""Property tests of the routing engine and the interaction lifecycle (issue 3, item 13).

A hypothesis state machine drives a real :class:`~omnisdk.runtime.Runtime` on a temporary SQLite
store (and, as :class:`TestLifecyclePropertiesPostgres`, on a PostgreSQL schema of its own per
example) with an injected clock, through random sequences of customer messages, agent actions,
presence changes, clock jumps (timers) and restarts, and checks after every step — reading both
the store and the routing engine's memory — that:

- capacity is never exceeded (per channel, and the universal cap in units), and the engine's
  ``load`` is exactly what the store says is held;
- no interaction is ever held by two agents, and no conversation has two active interactions;
- the engine's backlog is exactly the store's queued interactions, and a restart rebuilds the
  very same engine state;
- no timer fires twice, none fires early, none is left due; every waiting state has its timer;
- each interaction's history is a legal path through the state machine ending in its state;
- a refused operation (StateError, CapacityError, ValueError) writes nothing, and an operation
  that is legal is never refused;
- at the end, once every timeout has passed and the rest is closed by hand, every interaction
  is closed with exactly one configured wrap-up code and its history ends in ``closed`` once.

The example tests at the bottom pin down scenarios met while writing the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from fake_clock import FakeClock
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from postgres_schemas import PREFIX, drop_schema, require_postgres, schema_url
from sample_wire import make_settings

from omnisdk.errors import StateError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.hookspecs import hookimpl
from omnisdk.lifecycle import agent_actions, cases, transitions
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.lifecycle.states import HOLDS_CAPACITY, TRANSITIONS
from omnisdk.model import Interaction, RoutingSource
from omnisdk.model import InteractionState as S
from omnisdk.model.addresses import KNOWN_CHANNELS, conversation_key
from omnisdk.routing.engine import CapacityError
from omnisdk.routing.model import Agent, Presence, size_of
from omnisdk.runtime import Runtime
from omnisdk.threading import ownership

EXTRA_CODE = "Callback scheduled"
BAD_CODE = "Not a configured code"
CUSTOMERS = ["+15550100001", "+15550100002", "+15550100003"]
CHANNELS = ["chat", "email"]
WRAP_UP_TIMEOUT = 120.0
INACTIVITY_TIMEOUT = 600.0
OVERFLOW_AFTER = 90.0
LONGEST = 3600.0  # beyond every timeout above and every offer timeout below


# --- harness -------------------------------------------------------------------------------


def build_settings(tmp: Path, queues: list[dict], agents: list[dict], *, affinity_window: float = 300.0,
                   store_url: str | None = None):
    """Sample-plugin settings with the given routing and short lifecycle timeouts; the store is
    ``store_url`` (a PostgreSQL schema's), or a SQLite file in ``tmp``."""
    base = make_settings(tmp, queues=queues, agents=agents)
    if store_url is not None:
        base = base.model_copy(update={"store": base.store.model_copy(update={"url": store_url})})
    lifecycle = LifecycleSettings(
        wrap_up_codes=["Issue resolved", EXTRA_CODE],  # the other defaults are appended
        wrap_up_timeout=WRAP_UP_TIMEOUT,
        inactivity_timeout=INACTIVITY_TIMEOUT,
        affinity_window=affinity_window,
    )
    return base.model_copy(update={"lifecycle": lifecycle})


POISON = "+15550100666"
"""A customer whose new interaction makes a routing plugin raise after the contact was written:
the inbox batch holding it is rolled back and applied again, each event guarded."""
INVALID = "invalid"
"""Not a customer: an event whose data is not a message (fails before writing anything)."""


class FaultyRouting:
    @hookimpl
    def omnisdk_select_queue(self, interaction, queues):
        if interaction.customer == POISON:
            raise RuntimeError("plugin bug")
        return None


def customer_event(n: int, customer: str, channel: str = "chat", text: str = "hi", at: str | None = None) -> Event:
    return Event(
        id=f"pm-{n}", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, time=at,
        partitionkey=conversation_key("/sample/acme", channel, "biz", customer),
        data={"message_id": f"pm-{n}", "channel": channel, "customer": customer, "business": "biz",
              "kind": "text", "text": text},
    )


def _norm_load(load: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {a: {c: n for c, n in chans.items() if n} for a, chans in load.items() if any(chans.values())}


class Harness:
    """A Runtime driven by hand: store opened and engine restored as ``Runtime.start`` does, but
    without the background inbox/timer/outbox loops (the test calls drain and run_timers)."""

    def __init__(self, settings, clock: FakeClock) -> None:
        self.settings = settings
        self.clock = clock
        self.rt: Runtime | None = None
        self.fired: list[tuple[str, str, float, float]] = []  # (key, kind, due_at, fired_at)
        self.seq = 0
        self.events: list[Event] = []

    async def open(self) -> Runtime:
        rt = Runtime(self.settings, clock=self.clock)
        rt.host.allow.add("faulty")
        assert rt.host.register(FaultyRouting(), "faulty")
        await rt.store.open()
        await rt.processor.restore()
        real_fire = rt.lifecycle.timers.fire

        def fire(ctx, timer):
            self.fired.append((timer.key, timer.kind, timer.due_at, ctx.ts))
            return real_fire(ctx, timer)

        rt.lifecycle.timers.fire = fire  # the processor looks it up on the instance
        self.rt = rt
        return rt

    async def close(self) -> None:
        rt, self.rt = self.rt, None
        if rt is None:
            return
        for adapter in rt.adapters.values():
            await adapter.aclose()
        await rt.store.close()

    async def restart(self) -> Runtime:
        await self.close()
        return await self.open()

    async def message(self, customer: str, channel: str = "chat", text: str = "hi") -> Interaction:
        self.seq += 1
        at = self.clock().isoformat().replace("+00:00", "Z")
        evt = customer_event(self.seq, customer, channel, text, at)
        self.events.append(evt)
        await self.rt.store.append_inbox([evt], at)
        await self.rt.processor.drain()
        key = conversation_key("/sample/acme", channel, "biz", customer)
        return await self.rt.store.transact(lambda tx: tx.active_interaction(key))

    async def burst(self, customers: list[str], channel: str) -> None:
        """Several events in one inbox batch (as concurrent webhooks land), then one drain."""
        at = self.clock().isoformat().replace("+00:00", "Z")
        batch = []
        for customer in customers:
            self.seq += 1
            evt = customer_event(self.seq, customer, channel, "hi", at)
            if customer == INVALID:
                evt = Event(id=f"pm-{self.seq}", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED,
                            time=at, data={"nonsense": True})
            batch.append(evt)
        self.events.extend(e for e in batch if e.data.get("customer") not in (POISON, None))
        await self.rt.store.append_inbox(batch, at)
        await self.rt.processor.drain()

    async def redeliver(self, index: int) -> None:
        evt = self.events[index % len(self.events)]
        await self.rt.store.append_inbox([evt], "2026-01-01T00:00:00Z")
        await self.rt.processor.drain()

    async def tick(self, seconds: float) -> int:
        """Advance the clock and fire every due timer (timers may arm more timers)."""
        self.clock.advance(seconds)
        fired = 0
        while n := await self.rt.processor.run_timers():
            fired += n
        return fired

    async def get(self, interaction_id: str) -> Interaction:
        return (await self.rt.interaction(interaction_id))[0]

    async def snapshot(self) -> dict[str, Any]:
        """Everything the properties look at, read in one store transaction (on the writer
        thread, where the engine is used)."""
        rt = self.rt
        eng = rt.engine

        def read(tx) -> dict[str, Any]:
            c = tx.c
            return {
                "interactions": tx.list_interactions(limit=1_000_000),
                "rows": c.execute("SELECT id, conversation_key, state, agent, channel, doc FROM interactions ORDER BY id").fetchall(),
                "log": c.execute("SELECT seq, interaction_id, from_state, to_state, agent, queue, note FROM interaction_log ORDER BY seq").fetchall(),
                "timers": c.execute("SELECT key, kind, due_at, interaction_id, data, state FROM timers ORDER BY key").fetchall(),
                "counts": {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                           for t in ("cases", "outbox", "messages", "contacts")},
                "agents_table": c.execute("SELECT id, doc FROM agents ORDER BY id").fetchall(),
                "load": _norm_load({a: dict(v) for a, v in eng.load.items()}),
                "holder": {i: (a, ch) for i, (a, ch) in eng.holder.items()},
                "waiting": {i: (q, ch) for i, (q, ch, _s) in eng.waiting.items()},
                "presence": {a: ag.presence.value for a, ag in eng.agents.items()},
                "pools": {(q, ch): dict(p.free) for (q, ch), p in eng.pools.items()},
                "free": {(a, ch): eng.free(a, ch) for a in eng.agents for ch in KNOWN_CHANNELS},
                "affinity": dict(eng.affinity),
                "now": self.clock.timestamp(),
            }

        return await rt.store.transact(read)


def held(inter: Interaction) -> bool:
    """Counts against its agent's capacity (internal routing, a person, a capacity state)."""
    return inter.state in HOLDS_CAPACITY and inter.agent is not None \
        and inter.routing_source is RoutingSource.INTERNAL and not inter.virtual_agent


WORK_CONSERVING = True


def check_invariants(h: Harness, snap: dict[str, Any], *, work_conserving: bool = WORK_CONSERVING) -> None:
    """The safety properties of one state (see the module docstring)."""
    rt = h.rt
    agents: dict[str, Agent] = {a.id: a for a in rt.settings.routing.agents}
    sizes = rt.engine.item_size
    inters: list[Interaction] = snap["interactions"]
    by_id = {i.id: i for i in inters}

    # capacity never exceeded; memory and store agree on the load
    store_load: dict[str, dict[str, int]] = {}
    for i in inters:
        if held(i):
            per = store_load.setdefault(i.agent, {})
            per[i.channel] = per.get(i.channel, 0) + 1
    for agent_id, per in store_load.items():
        agent = agents[agent_id]
        for ch, n in per.items():
            assert n <= agent.capacity.get(ch, 0), f"{agent_id} holds {n} {ch} > capacity {agent.capacity}"
        if agent.max_units is not None:
            units = sum(n * size_of(ch, sizes) for ch, n in per.items())
            assert units <= agent.max_units + 1e-9, f"{agent_id} holds {units} units > max_units {agent.max_units}"
    assert snap["load"] == store_load, f"engine load {snap['load']} != store {store_load}"

    # never two owners
    store_holders = {i.id: (i.agent, i.channel) for i in inters if held(i)}
    assert snap["holder"] == store_holders, f"engine holders {snap['holder']} != store {store_holders}"
    for i in inters:
        if i.state in HOLDS_CAPACITY or i.state is S.ON_HOLD:
            assert i.agent, f"{i.id} is {i.state} with no agent"
        if i.state in (S.NEW, S.QUEUED):
            assert i.agent is None, f"{i.id} is {i.state} but has agent {i.agent}"
    active_keys = Counter(i.conversation_key for i in inters if i.state is not S.CLOSED)
    assert all(n == 1 for n in active_keys.values()), f"two active interactions: {active_keys}"
    for row in snap["rows"]:  # the indexed columns follow the document
        doc = by_id[row[0]]
        assert (row[1], row[2], row[3], row[4]) == (doc.conversation_key, doc.state.value, doc.agent, doc.channel)

    # the backlog in memory is the store's queued interactions
    store_waiting = {i.id: (i.queue, i.channel) for i in inters
                     if i.state is S.QUEUED and i.routing_source is RoutingSource.INTERNAL}
    assert snap["waiting"] == store_waiting, f"engine backlog {snap['waiting']} != store {store_waiting}"

    # the pools index exactly each agent's free capacity
    for (queue, ch), free in snap["pools"].items():
        for agent_id, n in free.items():
            want = snap["free"][(agent_id, ch)] if snap["presence"][agent_id] == "available" else 0
            assert n == want, f"pool {queue}/{ch}: {agent_id} free {n}, really {want}"

    # every waiting state has its (single, pending) timer; closed ones have none
    pending = {}
    for _key, kind, due, iid, data, state in snap["timers"]:
        if state == "pending":
            pending.setdefault(iid, {})[kind] = (due, data)
    for i in inters:
        mine = pending.get(i.id, {})
        if i.state is S.CLOSED:
            assert not mine, f"closed {i.id} has pending timers {mine}"
        elif i.state is S.OFFERED:
            assert "offer" in mine and f'"seq":{i.offer_seq}' in mine["offer"][1], f"offered {i.id} without its offer timer"
        elif i.state is S.WRAP_UP:
            assert "wrap_up" in mine, f"{i.id} in wrap-up without a wrap-up timer"
        elif i.state is S.ON_HOLD:
            assert "inactivity" in mine, f"{i.id} parked without an inactivity timer"
        elif i.state is S.QUEUED:
            queue = rt.engine.queues.get(i.queue)
            if queue is not None and queue.overflow_to:
                assert "overflow" in mine, f"{i.id} waits in {i.queue} without an overflow timer"

    # no timer fired twice or early
    pairs = Counter((k, due) for k, _kind, due, _at in h.fired)
    twice = [p for p, n in pairs.items() if n > 1]
    assert not twice, f"timers fired twice: {twice}"
    early = [(k, due, at) for k, _kind, due, at in h.fired if at < due]
    assert not early, f"timers fired early: {early}"

    # each history is a legal path ending in the current state
    logs: dict[str, list[tuple]] = {}
    for _seq, iid, frm, to, _agent, _queue, note in snap["log"]:
        logs.setdefault(iid, []).append((frm, to, note))
    for i in inters:
        hist = logs.get(i.id, [])
        assert hist and hist[0][:2] == (None, "new"), f"{i.id} history starts {hist[:1]}"
        for (_f0, t0, _n0), (f1, t1, n1) in zip(hist, hist[1:], strict=False):
            assert f1 == t0, f"{i.id}: history jumps from {t0} to a move from {f1}"
            legal = S(t1) in TRANSITIONS[S(f1)] or (f1 == t1 == "queued" and (n1 or "").startswith("overflow"))
            assert legal, f"{i.id}: illegal move {f1} -> {t1} in history"
        assert hist[-1][1] == i.state.value, f"{i.id} is {i.state} but its history ends {hist[-1]}"
        closes = [e for e in hist if e[1] == "closed"]
        assert len(closes) == (i.state is S.CLOSED), f"{i.id}: {len(closes)} closes in history"
        if i.state is S.CLOSED:
            assert i.wrap_up_code in rt.settings.lifecycle.wrap_up_codes, f"{i.id} closed with {i.wrap_up_code!r}"
            note = closes[0][2] or ""
            if note == "customer inactive":
                assert i.wrap_up_code == "Closed due to customer inactivity"
            elif note == "wrap-up timeout":
                assert i.wrap_up_code == rt.settings.lifecycle.default_wrap_up_code
            elif note.startswith("case "):
                assert i.wrap_up_code == "Task created" and i.case_id
        else:
            assert i.wrap_up_code is None, f"active {i.id} already has a wrap-up code"

    # the backlog drains as soon as capacity frees up: nobody who could take a waiting
    # interaction (available, member of its queue, free capacity, has not declined it) is idle
    if work_conserving:
        for i in inters:
            if i.state is not S.QUEUED or i.routing_source is not RoutingSource.INTERNAL:
                continue
            queue = rt.engine.queues[i.queue]
            for agent_id, agent in rt.engine.agents.items():
                if agent.presence is Presence.AVAILABLE and agent.serves(queue) and agent_id not in i.declined_by \
                        and snap["free"][(agent_id, i.channel)] > 0:
                    raise AssertionError(f"{i.id} waits in {i.queue} ({i.channel}) while {agent_id} is free for it")


def engine_state(snap: dict[str, Any], window: float) -> dict[str, Any]:
    """The part of the engine a restart must rebuild identically."""
    now = snap["now"]
    return {
        "load": snap["load"], "holder": snap["holder"], "waiting": snap["waiting"],
        "presence": snap["presence"], "pools": snap["pools"],
        # affinity within the window (the rebuild reads closes since now - window; stay clear
        # of the boundary second)
        "affinity": {k: a for k, (a, at) in snap["affinity"].items() if now - at < window - 1},
    }


def durable(snap: dict[str, Any]) -> tuple:
    """What a refused operation must leave untouched (store rows and engine memory)."""
    return (snap["rows"], len(snap["log"]), snap["timers"], snap["counts"], snap["agents_table"],
            snap["load"], snap["holder"], snap["waiting"], snap["presence"], snap["pools"])


async def close_everything(h: Harness, codes: list[str], check=None) -> None:
    """Let every timeout pass, then close what is left by hand (closing frees capacity, which
    offers the backlog, so repeat until nothing is active)."""
    for _ in range(20):
        await h.tick(LONGEST)
        if check:
            await check()
        pending = await h.rt.store.transact(lambda tx: tx.pending_timers())
        if not pending:
            break
    for n in range(1000):
        active = await h.rt.interactions(active_only=True)
        if not active:
            break
        await h.rt.close_interaction(active[0].id, codes[n % len(codes)])
        if check:
            await check()
    else:
        raise AssertionError("interactions keep coming back")
    await h.tick(LONGEST)


def check_all_closed(h: Harness, snap: dict[str, Any]) -> None:
    codes = h.rt.settings.lifecycle.wrap_up_codes
    closes = Counter(iid for _s, iid, _f, to, *_ in snap["log"] if to == "closed")
    for i in snap["interactions"]:
        assert i.state is S.CLOSED, f"{i.id} ends {i.state}"
        assert i.wrap_up_code in codes, f"{i.id} closed with {i.wrap_up_code!r}"
        assert closes[i.id] == 1, f"{i.id} closed {closes[i.id]} times"
    last = {}
    for _s, iid, _f, to, *_ in snap["log"]:
        last[iid] = to
    assert all(to == "closed" for to in last.values())
    assert not snap["holder"] and not snap["load"] and not snap["waiting"]
    assert not [t for t in snap["timers"] if t[5] == "pending"]


# --- the state machine -----------------------------------------------------------------------

AGENT_SPEC = st.fixed_dictionaries({
    "chat": st.integers(1, 3),
    "email": st.integers(0, 2),
    "max_units": st.none() | st.sampled_from([0.5, 0.75, 1.0]),
    "queues": st.sampled_from([[], [], ["support"], ["sales"]]),
})
TEXTS = st.sampled_from(["hi", "I want to buy"])
STRATEGIES = st.sampled_from(["most_available", "longest_idle", "round_robin"])
OPS = ["accept", "accept", "reject", "hold", "resume", "transfer_agent", "transfer_queue",
       "wrap_up", "close", "close_bad_code", "create_case", "reply"]
AS = ["none", "none", "owner", "other"]
MOVES = {
    S.NEW: ["close"],
    S.QUEUED: ["close", "create_case", "transfer_queue"],
    S.OFFERED: ["accept", "accept", "accept", "reject", "transfer_agent", "transfer_queue"],
    S.WORK_IN_PROGRESS: ["hold", "hold", "wrap_up", "transfer_agent", "transfer_queue", "close", "create_case", "reply"],
    S.ON_HOLD: ["resume", "customer_reply", "customer_reply", "wrap_up", "transfer_agent", "transfer_queue", "close"],
    S.WRAP_UP: ["close", "create_case"],
}


class SequentialIds:
    """Stands in for the lifecycle's id maker: ids in creation order, so that a hypothesis example
    replays identically (ids partly random would reorder same-time interactions)."""

    def __init__(self) -> None:
        self.n = itertools.count(1)

    def __call__(self) -> str:
        return f"{next(self.n):032x}"


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        ids = SequentialIds()  # one sequence for every module that makes ids
        self.ids = [mock.patch.object(m, "new_id", ids) for m in (transitions, ownership, agent_actions, cases)]
        for patch in self.ids:
            patch.start()
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="omnisdk-props-"))
        self.schema = f"{PREFIX}{uuid.uuid4().hex[:16]}" if self.postgres else None
        self.h: Harness | None = None
        self.clean = True  # False while a step runs: teardown skips the final checks after a failure
        self.reached: set[str] = set()  # states seen, for --hypothesis-show-statistics
        self.steps = 0

    postgres = False
    """True: each example's store is a PostgreSQL schema of its own (dropped in teardown)."""

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    @initialize(specs=st.lists(AGENT_SPEC, min_size=2, max_size=4), two_queues=st.booleans(),
                strategies=st.tuples(STRATEGIES, STRATEGIES), affinity=st.sampled_from([0.0, 300.0]),
                first=st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(CHANNELS), TEXTS), min_size=1, max_size=4))
    def configure(self, specs, two_queues, strategies, affinity, first):
        """Agents, queues and settings; and the first customer messages (hypothesis enables a
        random subset of the rules in each example, so the messages rule may be off)."""
        self.clean = False
        queues = [{"name": "support", "offer_timeout": 30, "strategy": strategies[0]}]
        if two_queues:  # first in order: it takes messages saying "buy"; overflows to support
            queues.insert(0, {"name": "sales", "keywords": ["buy"], "offer_timeout": 45, "priority": 1,
                              "strategy": strategies[1], "overflow_to": "support", "overflow_after": OVERFLOW_AFTER})
        names = {q["name"] for q in queues}
        agents = []
        for n, spec in enumerate(specs):
            capacity = {"chat": spec["chat"], **({"email": spec["email"]} if spec["email"] else {})}
            agents.append({"id": f"a{n}", "capacity": capacity, "max_units": spec["max_units"],
                           "queues": [q for q in spec["queues"] if q in names]})
        self.agent_ids = [a["id"] for a in agents]
        self.queue_names = [q["name"] for q in queues]
        self.affinity = affinity
        self.h = Harness(build_settings(self.tmp, queues, agents, affinity_window=affinity,
                                        store_url=schema_url(self.schema) if self.schema else None), FakeClock())
        self.run(self.h.open())
        self.codes = self.h.rt.settings.lifecycle.wrap_up_codes
        for customer, channel, text in first:
            self.run(self.h.message(customer, channel, text))
        self.clean = True

    def teardown(self) -> None:
        event(f"steps: {'0-9' if self.steps < 10 else '10-29' if self.steps < 30 else '30+'}")
        for state in sorted(self.reached):
            event(f"reached {state}")
        try:
            if self.h is not None and self.h.rt is not None and self.clean:
                self.run(self.finish())
        finally:
            if self.h is not None:
                self.run(self.h.close())
            self.loop.close()
            for patch in self.ids:
                patch.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)
            if self.schema is not None:
                drop_schema(self.schema)

    async def finish(self) -> None:
        async def check():
            check_invariants(self.h, await self.h.snapshot(), work_conserving=False)

        await close_everything(self.h, self.codes, check)
        snap = await self.h.snapshot()
        check_invariants(self.h, snap)
        check_all_closed(self.h, snap)

    # --- rules ---------------------------------------------------------------------------

    @rule(customer=st.sampled_from(CUSTOMERS), channel=st.sampled_from(CHANNELS), text=TEXTS)
    def customer_message(self, customer, channel, text):
        self.clean = False
        inter = self.run(self.h.message(customer, channel, text))
        assert inter is not None and inter.state is not S.CLOSED
        event(f"message -> {inter.state.value}")

    @rule(customers=st.lists(st.sampled_from([*CUSTOMERS, POISON, INVALID]), min_size=2, max_size=6),
          channel=st.sampled_from(CHANNELS))
    def burst(self, customers, channel):
        """Messages in one inbox batch, some failing before writing (invalid data), some after
        (the poisoned customer): every good one is applied exactly once, the others not at all."""
        self.clean = False
        before = self.run(self.h.snapshot())
        self.run(self.h.burst(customers, channel))
        after = self.run(self.h.snapshot())
        good = sum(c not in (POISON, INVALID) for c in customers)
        count = lambda snap: sum(i.message_count for i in snap["interactions"])  # noqa: E731
        assert count(after) - count(before) == good, (customers, count(before), count(after))
        assert not [i for i in after["interactions"] if i.customer == POISON]
        poisoned = self.run(self.h.rt.store.transact(lambda tx: [ch for ch in CHANNELS if tx.contact_of(ch, POISON)]))
        assert poisoned == [], "the failed event's contact write was rolled back"
        for customer in set(customers) - {POISON, INVALID}:
            key = conversation_key("/sample/acme", channel, "biz", customer)
            assert any(i.conversation_key == key and i.state is not S.CLOSED for i in after["interactions"])
        event(f"burst of {len(customers)}, {len(customers) - good} failing")

    @rule(index=st.integers(0, 100))
    def redelivery(self, index):
        self.clean = False
        if not self.h.events:
            return
        before = durable(self.run(self.h.snapshot()))
        self.run(self.h.redeliver(index))
        assert durable(self.run(self.h.snapshot())) == before, "a redelivered event changed something"

    @rule(agent=st.integers(0, 3), presence=st.sampled_from(list(Presence)))
    def presence(self, agent, presence):
        self.clean = False
        agent_id = self.agent_ids[agent % len(self.agent_ids)]
        self.run(self.h.rt.set_presence(agent_id, presence))

    @rule(seconds=st.integers(1, 200) | st.sampled_from([30, 45, 90, 120, 600, 601, 1800]))
    def advance(self, seconds):
        self.clean = False
        fired_before = len(self.h.fired)
        self.run(self.h.tick(seconds))
        now = self.h.clock.timestamp()
        due = self.run(self.h.rt.store.transact(lambda tx: [t for t in tx.pending_timers() if t.due_at <= now]))
        assert not due, f"timers left due after run_timers: {due}"
        for _k, kind, _due, _at in self.h.fired[fired_before:]:
            event(f"timer fired: {kind}")

    @rule(extra=st.sampled_from([0, 0, 1]))
    def next_timer(self, extra):
        """Jump to the next pending timer's due time (or a second past it) and run it."""
        self.clean = False
        pending = self.run(self.h.rt.store.transact(lambda tx: tx.pending_timers()))
        if not pending:
            return
        wait = max(0.0, min(t.due_at for t in pending) - self.h.clock.timestamp()) + extra
        fired_before = len(self.h.fired)
        self.run(self.h.tick(wait))
        assert len(self.h.fired) > fired_before, "the due timer did not fire"
        for _k, kind, _due, _at in self.h.fired[fired_before:]:
            event(f"timer fired: {kind}")

    @rule()
    def restart(self):
        self.clean = False
        before = engine_state(self.run(self.h.snapshot()), self.affinity)
        self.run(self.h.restart())
        event("restarted")
        after = engine_state(self.run(self.h.snapshot()), self.affinity)
        assert after == before, f"restart rebuilt a different engine:\n{before}\n{after}"

    @rule(op=st.sampled_from(OPS), which=st.integers(0, 7), as_who=st.sampled_from(AS), k=st.integers(0, 7))
    def act(self, op, which, as_who, k):
        """Any operation, legal or not, on any interaction (a closed one too)."""
        self.clean = False
        snap = self.run(self.h.snapshot())
        inters: list[Interaction] = snap["interactions"]
        if not inters:
            return
        active = [i for i in inters if i.state is not S.CLOSED]
        closed = [i for i in inters if i.state is S.CLOSED]
        pool = active + closed[:1]
        self._perform(snap, pool[which % len(pool)], op, as_who, k)

    @rule(which=st.integers(0, 7), choices=st.lists(st.integers(0, 11), min_size=1, max_size=3), k=st.integers(0, 7))
    def work(self, which, choices, k):
        """One to three moves that make sense in the interaction's state, one after the other
        (drives it deeper into the lifecycle than random operations do)."""
        self.clean = False
        snap = self.run(self.h.snapshot())
        active = [i for i in snap["interactions"] if i.state is not S.CLOSED]
        if not active:
            return
        iid = active[which % len(active)].id
        for choice in choices:
            inter = next(i for i in snap["interactions"] if i.id == iid)
            if inter.state is S.CLOSED:
                return
            moves = MOVES[inter.state]
            op = moves[choice % len(moves)]
            if op == "customer_reply":
                self.customer_message(inter.customer, inter.channel, "still there?")
            else:
                self._perform(snap, inter, op, "none", k)
            snap = self.run(self.h.snapshot())
            check_invariants(self.h, snap)

    def _perform(self, snap, inter: Interaction, op: str, as_who: str, k: int) -> None:
        owner = inter.agent
        agent = {"none": None, "owner": owner,
                 "other": next((a for a in self.agent_ids if a != owner), None)}[as_who]
        target_agent = self.agent_ids[k % len(self.agent_ids)]
        target_queue = self.queue_names[k % len(self.queue_names)]
        code = self.codes[k % len(self.codes)]
        rt = self.h.rt
        calls = {
            "accept": lambda: rt.accept(inter.id, agent),
            "reject": lambda: rt.reject(inter.id, agent),
            "hold": lambda: rt.hold(inter.id, agent),
            "resume": lambda: rt.resume(inter.id, agent),
            "transfer_agent": lambda: rt.transfer(inter.id, to_agent=target_agent, agent=agent),
            "transfer_queue": lambda: rt.transfer(inter.id, to_queue=target_queue, agent=agent),
            "wrap_up": lambda: rt.wrap_up(inter.id, agent),
            "close": lambda: rt.close_interaction(inter.id, code, agent=agent),
            "close_bad_code": lambda: rt.close_interaction(inter.id, BAD_CODE, agent=agent),
            "create_case": lambda: rt.create_case(inter.id, agent=agent),
            "reply": lambda: rt.reply(inter.id, "hello", agent=agent),
        }
        st_ = inter.state
        by_owner = agent is None or agent == owner
        ch = inter.channel
        must = {  # legal moves that must not be refused
            "accept": st_ is S.OFFERED and by_owner,
            "reject": st_ is S.OFFERED and by_owner,
            "hold": st_ is S.WORK_IN_PROGRESS and by_owner,
            "resume": st_ is S.ON_HOLD and by_owner and snap["free"][(owner, ch)] > 0,
            "transfer_agent": st_ in (S.WORK_IN_PROGRESS, S.ON_HOLD, S.OFFERED) and by_owner
            and snap["presence"][target_agent] == "available" and snap["free"][(target_agent, ch)] > 0,
            "transfer_queue": st_ in (S.WORK_IN_PROGRESS, S.ON_HOLD, S.OFFERED) and by_owner,
            "wrap_up": by_owner and (st_ is S.WORK_IN_PROGRESS or st_ is S.ON_HOLD and snap["free"][(owner, ch)] > 0),
            "close": st_ is not S.CLOSED and by_owner,
            "close_bad_code": False,
            "create_case": st_ is not S.CLOSED and by_owner,
            "reply": st_ in (S.WORK_IN_PROGRESS, S.ON_HOLD, S.WRAP_UP) and by_owner,
        }[op]
        refuse = (  # moves that must be refused
            op == "close_bad_code" or (st_ is S.CLOSED)
            or (agent is not None and agent != owner)
            or (op == "reply" and st_ not in (S.WORK_IN_PROGRESS, S.ON_HOLD, S.WRAP_UP))
        )
        before = durable(snap)
        try:
            self.run(calls[op]())
        except (StateError, ValueError) as exc:
            event(f"{op}: refused ({type(exc).__name__})")
            assert not must, f"{op} on {st_} {inter.id} (agent={agent}, owner={owner}) was refused: {exc!r}"
            if op == "close_bad_code":
                assert isinstance(exc, ValueError)
            if op in ("resume", "wrap_up") and st_ is S.ON_HOLD and by_owner:
                assert isinstance(exc, CapacityError), exc
            assert durable(self.run(self.h.snapshot())) == before, f"refused {op} wrote something"
            return
        event(f"{op}: done")
        assert not refuse, f"{op} on {st_} {inter.id} (agent={agent}, owner={owner}) was not refused"
        after = self.run(self.h.get(inter.id))
        if op == "accept":
            assert after.state is S.WORK_IN_PROGRESS and after.agent == owner
        elif op == "reject":
            assert owner in after.declined_by and (after.state is S.QUEUED or after.agent != owner)
        elif op == "hold":
            assert after.state is S.ON_HOLD and after.agent == owner
        elif op == "resume":
            assert after.state is S.WORK_IN_PROGRESS and after.agent == owner
        elif op == "transfer_agent":
            assert after.state is S.OFFERED and after.agent == target_agent
        elif op == "transfer_queue":
            assert after.queue == target_queue and after.state in (S.QUEUED, S.OFFERED)
        elif op == "wrap_up":
            assert after.state is S.WRAP_UP
        elif op == "close":
            assert after.state is S.CLOSED and after.wrap_up_code == code
        elif op == "create_case":
            assert after.state is S.CLOSED and after.wrap_up_code == "Task created" and after.case_id

    # --- invariants ----------------------------------------------------------------------

    @precondition(lambda self: self.h is not None and self.h.rt is not None)
    @invariant()
    def safety(self):
        snap = self.run(self.h.snapshot())
        check_invariants(self.h, snap)
        self.steps += 1
        self.reached.update(i.state.value for i in snap["interactions"])
        self.clean = True


LifecycleMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("OMNISDK_PROPERTY_EXAMPLES", "100")), stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLifecycleProperties = LifecycleMachine.TestCase


class PostgresLifecycleMachine(LifecycleMachine):
    postgres = True


PostgresLifecycleMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("OMNISDK_PG_PROPERTY_EXAMPLES", "25")), stateful_step_count=40,
    deadline=None, suppress_health_check=[HealthCheck.too_slow],
)


class TestLifecyclePropertiesPostgres(PostgresLifecycleMachine.TestCase):
    """The same machine on the PostgreSQL store (fewer examples: each costs round trips)."""

    def setUp(self) -> None:
        require_postgres()


# --- example-based scenarios -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request):
    """None (a SQLite file in tmp_path), or the URL of a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    schema = f"{PREFIX}{uuid.uuid4().hex[:16]}"
    try:
        yield schema_url(schema)
    finally:
        drop_schema(schema)


@contextlib.asynccontextmanager
async def harness(tmp_path: Path, queues: list[dict], agents: list[dict], store_url: str | None = None):
    h = Harness(build_settings(tmp_path, queues, agents, store_url=store_url), FakeClock())
    await h.open()
    try:
        yield h
    finally:
        await h.close()


async def check(h: Harness) -> dict[str, Any]:
    snap = await h.snapshot()
    check_invariants(h, snap)
    return snap


async def test_offer_timeout_reoffers_to_another_agent_once(tmp_path, store_url):
    async with harness(tmp_path, [{"name": "support", "offer_timeout": 30}],
                       [{"id": "alice", "capacity": {"chat": 1}}, {"id": "bob", "capacity": {"chat": 1}}],
                       store_url) as h:
        inter = await h.message(CUSTOMERS[0])
        assert inter.state is S.OFFERED
        first = inter.agent
        await h.tick(29)
        assert (await h.get(inter.id)).agent == first  # not yet
        await h.tick(1)
        again = await h.get(inter.id)
        other = "bob" if first == "alice" else "alice"
        assert again.state is S.OFFERED and again.agent == other and again.declined_by == [first]
        assert again.offer_seq == 2
        await check(h)
        await h.tick(30)  # the second offer times out too, once
        assert sorted((await h.get(inter.id)).declined_by) == ["alice", "bob"]
        assert [k for k, *_ in h.fired] == [f"offer:{inter.id}", f"offer:{inter.id}"]
        await check(h)


async def test_overflow_timer_moves_a_waiting_interaction(tmp_path, store_url):
    queues = [{"name": "sales", "keywords": ["buy"], "overflow_to": "support", "overflow_after": 90},
              {"name": "support"}]
    agents = [{"id": "seller", "capacity": {"chat": 1}, "queues": ["sales"], "presence": "away"},
              {"id": "helper", "capacity": {"chat": 1}, "queues": ["support"]}]
    async with harness(tmp_path, queues, agents, store_url) as h:
        inter = await h.message(CUSTOMERS[0], text="I want to buy")
        assert inter.state is S.QUEUED and inter.queue == "sales"
        await check(h)
        await h.tick(89)
        assert (await h.get(inter.id)).queue == "sales"
        await h.tick(1)
        moved, history, _ = await h.rt.interaction(inter.id)
        assert moved.queue == "support" and moved.state is S.OFFERED and moved.agent == "helper"
        assert any((e["note"] or "").startswith("overflow from sales") for e in history)
        await check(h)


async def test_parking_frees_capacity_and_the_backlog_drains_at_once(tmp_path, store_url):
    async with harness(tmp_path, [{"name": "support"}], [{"id": "alice", "capacity": {"chat": 1}}], store_url) as h:
        first = await h.message(CUSTOMERS[0])
        await h.rt.accept(first.id)
        second = await h.message(CUSTOMERS[1])
        assert second.state is S.QUEUED
        await h.rt.hold(first.id)
        assert (await h.get(second.id)).state is S.OFFERED
        snap = await check(h)
        assert snap["load"] == {"alice": {"chat": 1}}
        # the parked customer replies while alice is busy: rerouted, waits in the queue
        back = await h.message(CUSTOMERS[0])
        assert back.id == first.id and back.state is S.QUEUED
        await check(h)
        await h.rt.close_interaction(second.id, "Issue resolved")
        # alice is free again: the returning customer is offered to her (affinity)
        back = await h.get(first.id)
        assert back.state is S.OFFERED and back.agent == "alice"
        await check(h)


async def test_restart_keeps_held_capacity_and_the_backlog(tmp_path, store_url):
    agents = [{"id": "alice", "capacity": {"chat": 2}, "max_units": 0.5},
              {"id": "bob", "capacity": {"chat": 1}}]
    async with harness(tmp_path, [{"name": "support"}], agents, store_url) as h:
        items = [await h.message(c) for c in CUSTOMERS] + [await h.message(CUSTOMERS[0], channel="email")]
        await h.rt.accept(items[0].id)
        await h.rt.hold(items[0].id)  # parked: its capacity is free, the backlog moves
        before = await check(h)
        assert before["waiting"], "something must be waiting"
        await h.restart()
        after = await check(h)
        assert engine_state(after, 300.0) == engine_state(before, 300.0)
        # the rebuilt engine goes on: the offer timers still fire, the backlog still drains
        await h.tick(30)
        await check(h)
        await close_everything(h, ["Issue resolved"])
        check_all_closed(h, await h.snapshot())


async def test_wrapping_up_a_parked_interaction_takes_capacity_again(tmp_path, store_url):
    # Found by the machine: wrap-up holds capacity (HOLDS_CAPACITY), but wrap_up() from on_hold
    # did not reserve it, so the store counted an item the engine did not (and a restart then
    # forced it in, beyond the agent's capacity).
    async with harness(tmp_path, [{"name": "support"}], [{"id": "alice", "capacity": {"chat": 1}}], store_url) as h:
        first = await h.message(CUSTOMERS[0])
        await h.rt.accept(first.id)
        await h.rt.hold(first.id)
        second = await h.message(CUSTOMERS[1])
        assert second.state is S.OFFERED and second.agent == "alice"  # parking freed her slot
        before = durable(await check(h))
        with pytest.raises(CapacityError):
            await h.rt.wrap_up(first.id)  # her only slot is taken by the offer
        assert durable(await check(h)) == before
        await h.rt.close_interaction(second.id, "Issue resolved")
        wrapped = await h.rt.wrap_up(first.id)
        assert wrapped.state is S.WRAP_UP
        assert (await check(h))["load"] == {"alice": {"chat": 1}}
        third = await h.message(CUSTOMERS[2])
        assert third.state is S.QUEUED  # wrap-up keeps her busy
        await h.restart()
        assert (await check(h))["load"] == {"alice": {"chat": 1}}
        await h.tick(WRAP_UP_TIMEOUT)  # default code; her slot frees; the backlog drains
        assert (await h.get(first.id)).wrap_up_code == "Issue resolved"
        assert (await h.get(third.id)).state is S.OFFERED
        await check(h)


async def test_an_offer_can_be_transferred_to_another_agent(tmp_path, store_url):
    # Found by the machine: transfer() accepts an offered interaction, but offering it to the
    # new agent was the illegal move offered → offered, so every such transfer was refused.
    agents = [{"id": "alice", "capacity": {"chat": 1}}, {"id": "bob", "capacity": {"chat": 1}}]
    async with harness(tmp_path, [{"name": "support", "offer_timeout": 30}], agents, store_url) as h:
        inter = await h.message(CUSTOMERS[0])
        first = inter.agent
        other = "bob" if first == "alice" else "alice"
        moved = await h.rt.transfer(inter.id, to_agent=other)
        assert moved.state is S.OFFERED and moved.agent == other and moved.offer_seq == 2
        snap = await check(h)
        assert snap["load"] == {other: {"chat": 1}}
        await h.tick(30)  # the new offer's timer runs; the old one was cancelled
        assert [k for k, *_ in h.fired] == [f"offer:{inter.id}"]
        back = await h.get(inter.id)
        assert back.state is S.OFFERED and back.agent == first and back.declined_by == [other]
        await check(h)


async def test_a_head_everyone_free_declined_does_not_block_the_backlog(tmp_path, store_url):
    # Found by the machine: drain() stopped at the first waiting interaction it could not place,
    # so one that the only free agent had declined blocked everything behind it, for good.
    async with harness(tmp_path, [{"name": "support"}], [{"id": "alice", "capacity": {"chat": 1}}], store_url) as h:
        m1 = await h.message(CUSTOMERS[0])
        m2 = await h.message(CUSTOMERS[1])
        assert (m1.state, m2.state) == (S.OFFERED, S.QUEUED)
        await h.rt.reject(m1.id)  # m2 is offered; m1 waits, declined by alice
        assert (await h.get(m2.id)).state is S.OFFERED
        m3 = await h.message(CUSTOMERS[2])
        assert m3.state is S.QUEUED  # behind m1
        await h.rt.reject(m2.id)  # alice is free: m1 and m2 she declined, m3 she has not
        assert (await h.get(m3.id)).agent == "alice"
        assert (await h.get(m3.id)).state is S.OFFERED
        await check(h)
