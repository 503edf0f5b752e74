"""The agent pool's indexes against a brute-force model: random free-slot changes, idle clocks
moving forward (assignments) and back (undone assignments), removals and exclusions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from omnisdk.routing.model import Strategy
from omnisdk.routing.pool import Pool

AGENTS = [f"a{i}" for i in range(6)]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(AGENTS), st.integers(0, 3), st.integers(0, 50)),
        st.tuples(st.just("remove"), st.sampled_from(AGENTS), st.just(0), st.just(0)),
        st.tuples(st.just("pick"), st.sampled_from(AGENTS), st.just(0), st.just(0)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_each_strategy_picks_what_a_full_scan_would(ops):
    pool = Pool()
    free: dict[str, int] = {}
    since: dict[str, float] = {}
    for op, agent, n, clock in ops:
        if op == "set":
            pool.set(agent, n, float(clock))
            free[agent], since[agent] = n, float(clock)
        elif op == "remove":
            pool.remove(agent)
            free.pop(agent, None)
            since.pop(agent, None)
        else:  # pick, excluding one agent (a decliner)
            excluded = {agent}
            candidates = [a for a, f in free.items() if f > 0 and a not in excluded]
            assert pool.has_free() == any(f > 0 for f in free.values())
            idle = pool.pick(Strategy.LONGEST_IDLE, excluded)
            most = pool.pick(Strategy.MOST_AVAILABLE, excluded)
            rr = pool.pick(Strategy.ROUND_ROBIN, excluded)
            if not candidates:
                assert idle is most is rr is None
                continue
            assert idle in candidates and since[idle] == min(since[a] for a in candidates)
            assert most in candidates and free[most] == max(free[a] for a in candidates)
            assert rr in candidates
    assert len(pool.idle_heap) <= 4 * len(pool.rr) + 65, "stale heap entries are bounded"
