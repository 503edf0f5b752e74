"""The outbox: one send per idempotency key, retries, typed failures, crash recovery."""

from __future__ import annotations

import asyncio
import time

import api_access
import httpx
import pytest
import respx
from sample_wire import ingest, make_settings, message_event

from omnisdk.runtime import Runtime


async def open_interaction(rt, i=1):
    """A customer's interaction, accepted by its agent (only accepted work takes a reply)."""
    await ingest(rt, message_event(i))
    return await rt.accept((await rt.interactions())[0].id)


async def test_reply_is_sent_once_with_its_key_and_recorded(runtime):
    inter = await open_interaction(runtime)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        key = await runtime.reply(inter.id, "hello")
        assert await runtime.outbox.run_once() == 1
        assert await runtime.outbox.run_once() == 0
    assert route.call_count == 1
    assert route.calls[0].request.headers["idempotency-key"] == key
    status = await runtime.store.transact(lambda tx: tx.message_status("/sample/acme", "out-1"))
    assert status == "queued"
    assert (await runtime.stats())["outbound.sent"] == 1


async def test_retryable_failure_is_rescheduled_with_the_same_key(runtime):
    inter = await open_interaction(runtime)
    now = [time.time() + 1]
    runtime.outbox.clock = lambda: now[0]
    with respx.mock() as mock:
        route = mock.post("https://sample.test/messages").mock(
            side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"id": "out-2"})]
        )
        key = await runtime.reply(inter.id, "hello")
        assert await runtime.outbox.run_once() == 1  # 2 HTTP attempts inside, both 503
        assert await runtime.outbox.run_once() == 0  # not due yet
        now[0] += 3600
        assert await runtime.outbox.run_once() == 1
    keys = {c.request.headers["idempotency-key"] for c in route.calls}
    assert keys == {key} and route.call_count == 3
    stats = await runtime.stats()
    assert stats["outbound.retried"] == 1 and stats["outbound.sent"] == 1


async def test_a_4xx_fails_at_once_and_for_good(runtime):
    inter = await open_interaction(runtime)
    with respx.mock() as mock:
        route = mock.post("https://sample.test/messages").respond(400, json={"error": "bad"})
        await runtime.reply(inter.id, "hello")
        assert await runtime.outbox.run_once() == 1
    assert route.call_count == 1
    row = await runtime.store.transact(lambda tx: tx.c.execute("SELECT state, error FROM outbox").fetchone())
    assert row[0] == "failed" and "BadRequestError" in row[1]
    assert "sample-token" not in row[1]


async def test_a_plugin_that_does_not_send_fails_the_row_for_good_without_a_traceback(runtime, monkeypatch, caplog):
    from omnisdk.adapters import ChannelAdapter

    inter = await open_interaction(runtime)
    adapter = runtime.adapter("sample", "acme")
    monkeypatch.setattr(type(adapter), "send", ChannelAdapter.send)  # the base: NotImplementedError
    await runtime.reply(inter.id, "hello")
    assert await runtime.outbox.run_once() == 1
    row = await runtime.store.transact(lambda tx: tx.c.execute("SELECT state, error FROM outbox").fetchone())
    assert row[0] == "failed" and "NotImplementedError" in row[1]
    assert not [r for r in caplog.records if r.exc_info]  # a missing capability, not a crash


async def test_a_row_left_sending_by_a_crash_is_sent_again_with_its_key(tmp_path):
    settings = make_settings(tmp_path)
    rt = Runtime(settings)
    await rt.start()
    try:
        inter = await open_interaction(rt)
        key = await rt.reply(inter.id, "hello")
        claimed = await rt.store.transact(lambda tx: tx.claim_outbox(1e12, 10))
        assert [r.idempotency_key for r in claimed] == [key]
    finally:
        await rt.stop()  # "crash": the row stays 'sending'
    rt = Runtime(make_settings(tmp_path))
    await rt.start()
    try:
        with respx.mock() as mock:
            route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-3"})
            assert await rt.outbox.run_once() == 1
        assert route.calls[0].request.headers["idempotency-key"] == key
    finally:
        await rt.stop()


async def test_acknowledgement_is_enqueued_once_per_new_interaction(tmp_path):
    settings = make_settings(tmp_path).model_copy(deep=True)
    settings.routing.acknowledgement = "We got your message"
    rt = Runtime(settings)
    await rt.start()
    try:
        await ingest(rt, message_event(1), message_event(2))
        await ingest(rt, message_event(1))  # redelivery
        rows = await rt.store.transact(lambda tx: tx.c.execute("SELECT idempotency_key, payload FROM outbox").fetchall())
        assert len(rows) == 1 and rows[0][0].startswith("ack:") and "We got your message" in rows[0][1]
    finally:
        await rt.stop()


async def test_a_row_queued_before_the_customer_opted_out_is_refused_without_any_request(runtime):

    from omnisdk.errors import OptedOutError
    from omnisdk.gateway import create_app

    inter = await open_interaction(runtime)
    await runtime.outbox.stop()  # this test runs the worker's passes itself
    await runtime.reply(inter.id, "hello")
    await runtime.store.transact(lambda tx: tx.set_opt_out(inter.channel, inter.customer, True, "2026-01-01T00:00:00Z"))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "x"})
        assert await runtime.outbox.run_once() == 1
    assert route.call_count == 0
    row = await runtime.store.transact(lambda tx: tx.c.execute("SELECT state, error FROM outbox").fetchone())
    assert row[0] == "failed" and "OptedOutError" in row[1]
    with pytest.raises(OptedOutError):
        await runtime.reply(inter.id, "hello again")
    async with api_access.client(create_app(runtime), await api_access.api_key(runtime)) as c:
        detail = await c.get(f"/v1/interactions/{inter.id}")
        assert detail.json()["customer_opted_out"] is True
        refused = await c.post(f"/v1/interactions/{inter.id}/reply", json={"text": "still there?"})
        assert refused.status_code == 409 and "opted out" in refused.text


async def test_an_errors_retry_after_longer_than_the_backoff_sets_the_next_attempt(runtime):
    from omnisdk.outbound import InternalServerError
    from omnisdk.store.rows import OutboxRow

    row = OutboxRow(id=1, idempotency_key="k", plugin="sample", account="acme", interaction_id=None,
                    payload={"customer": "+15550100001", "text": "x"}, attempts=1)
    seen = {}

    class Tx:
        def finish_outbox(self, row_id, **kw):
            seen.update(kw)

        def count(self, name, n=1):
            pass

    greylisted = InternalServerError("smtp: 451 greylisted", provider="email", status_code=503, retry_after=300.0)
    runtime.outbox._record(Tx(), row, greylisted)
    assert seen["state"] == "pending" and seen["next_attempt_at"] - runtime.outbox.clock() >= 299.0


async def test_one_interactions_messages_go_one_after_the_other_and_others_alongside(runtime):
    # a customer must read the agent's messages in the order they were written: the outbox sends
    # one interaction's rows of a pass in turn, other interactions' at the same time
    await runtime.outbox.stop()  # the test drives the passes
    first = await open_interaction(runtime, 1)
    await ingest(runtime, message_event(2, customer="+15550000002"))
    other = next(i for i in await runtime.interactions() if i.id != first.id)
    other = await runtime.accept(other.id)
    log: list[str] = []

    async def provider(request: httpx.Request) -> httpx.Response:
        text = request.read().decode()
        name = next(n for n in ("one", "two", "elsewhere") if f"msg {n}" in text)
        log.append(f"start {name}")
        await asyncio.sleep(0.2 if name == "one" else 0)
        log.append(f"end {name}")
        return httpx.Response(200, json={"id": f"out-{name}"})

    with respx.mock() as mock:
        mock.post("https://sample.test/messages").mock(side_effect=provider)
        await runtime.reply(first.id, "msg one")
        await runtime.reply(first.id, "msg two")
        await runtime.reply(other.id, "msg elsewhere")
        assert await runtime.outbox.run_once() == 3  # one pass
    assert log.index("start two") > log.index("end one")  # in turn
    assert log.index("end elsewhere") < log.index("end one")  # not behind another interaction's send
