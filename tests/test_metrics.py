"""``GET /metrics``: real webhooks through the gateway, real scrapes parsed with Prometheus' own
parser.  The runtime is driven by hand (no background loops, an injected clock), so every
number below follows from what the test did."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import httpx
import prometheus_client
import pytest
import respx
from ops_rig import Rig, samples, settings_for
from postgres_schemas import fresh_schema, require_postgres, schema_url
from prometheus_client.parser import text_string_to_metric_families
from sample_wire import message_event, msg, sample_body, sample_signature

from omnisdk.bus.events_outbox import EventsOutbox
from omnisdk.events import Event
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime

URL = "/webhooks/sample/acme"


@pytest.fixture
async def rig(tmp_path):
    async with Rig(settings_for(tmp_path)) as r:
        yield r


async def test_webhooks_are_counted_by_plugin_outcome_and_reason(rig):
    body = sample_body([msg(1), msg(2)])
    assert await rig.post(body) == 200
    assert await rig.post(body) == 200  # a redelivery
    assert await rig.post(sample_body([msg(2), msg(3)])) == 200  # one new event: accepted
    assert await rig.post(body, signature="00" * 32) == 401
    assert await rig.post(b'{"messages": [', signature=None) == 400
    assert await rig.post(body, url="/webhooks/sample/nobody") == 404
    assert await rig.post(body, url="/webhooks/made-up-plugin/x") == 404
    family = (await rig.scrape())["omnisdk_webhooks"]
    assert family.type == "counter"
    assert samples(family, "_total") == {
        (("outcome", "accepted"), ("plugin", "sample"), ("reason", "")): 2,
        (("outcome", "duplicate"), ("plugin", "sample"), ("reason", "")): 1,
        (("outcome", "rejected"), ("plugin", "sample"), ("reason", "bad_signature")): 1,
        (("outcome", "rejected"), ("plugin", "sample"), ("reason", "malformed_payload")): 1,
        (("outcome", "rejected"), ("plugin", "sample"), ("reason", "not_found")): 1,
        (("outcome", "rejected"), ("plugin", "unknown"), ("reason", "not_found")): 1,  # never the path's name
    }


async def test_two_runtimes_in_one_process_count_apart_and_never_in_the_default_registry(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with Rig(settings_for(tmp_path / "a")) as a, Rig(settings_for(tmp_path / "b")) as b:
        assert await a.post(sample_body([msg(1)])) == 200
        for i in range(3):
            assert await b.post(sample_body([msg(i)])) == 200
        accepted = (("outcome", "accepted"), ("plugin", "sample"), ("reason", ""))
        assert samples((await a.scrape())["omnisdk_webhooks"], "_total")[accepted] == 1
        assert samples((await b.scrape())["omnisdk_webhooks"], "_total")[accepted] == 3
    default = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "omnisdk_" not in default


async def test_the_inbox_backlog_and_the_age_of_its_oldest_event(rig):
    received = (rig.clock.now - timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    await rig.rt.store.append_inbox([message_event(1)], received)
    await rig.rt.store.append_inbox([message_event(2)], rig.clock.now.isoformat())
    scrape = await rig.scrape()
    assert scrape["omnisdk_inbox_backlog"].samples[0].value == 2
    assert scrape["omnisdk_inbox_oldest_age_seconds"].samples[0].value == 90
    assert scrape["omnisdk_store_up"].samples[0].value == 1
    await rig.rt.processor.drain()
    scrape = await rig.scrape()
    assert scrape["omnisdk_inbox_backlog"].samples[0].value == 0
    assert scrape["omnisdk_inbox_oldest_age_seconds"].samples[0].value == 0
    batches = scrape["omnisdk_processor_batch_seconds"]
    assert batches.type == "histogram"
    assert samples(batches, "_count")[()] == 1  # one batch took both events
    assert samples(batches, "_sum")[()] > 0


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store_rig(request, tmp_path):
    """The rig on SQLite, then on a fresh PostgreSQL schema."""
    settings = settings_for(tmp_path)
    with contextlib.ExitStack() as stack:
        if request.param == "postgres":
            require_postgres()
            url = schema_url(stack.enter_context(fresh_schema()))
            settings = settings.model_copy(update={"store": settings.store.model_copy(update={"url": url})})
        async with Rig(settings) as r:
            yield r


async def test_the_events_out_backlog_and_the_age_of_its_oldest_event(any_store_rig):
    rig = any_store_rig
    outbox = EventsOutbox(clock=lambda: rig.rt.processor.clock().timestamp())
    scrape = await rig.scrape()
    assert scrape["omnisdk_events_out_backlog"].samples[0].value == 0
    assert scrape["omnisdk_events_out_oldest_age_seconds"].samples[0].value == 0

    def event(n: int) -> Event:
        return Event(id=f"e-{n}", source="/omnisdk/core", type="io.omnisdk.interaction.created", data={"n": n})

    await rig.rt.store.transact(lambda tx: outbox.write(tx, [event(1), event(2)]))
    rig.clock.advance(90)
    await rig.rt.store.transact(lambda tx: outbox.write(tx, [event(3)]))
    rig.clock.advance(5)
    scrape = await rig.scrape()
    assert scrape["omnisdk_events_out_backlog"].samples[0].value == 3
    assert scrape["omnisdk_events_out_oldest_age_seconds"].samples[0].value == 95

    def publish(tx, n):  # what the publisher does after the PubAck: the row goes
        return tx.finish_bus_events([r.seq for r in tx.claim_bus_events(1e12, n, 10.0)])

    assert await rig.rt.store.transact(lambda tx: publish(tx, 2)) == 2
    scrape = await rig.scrape()
    assert scrape["omnisdk_events_out_backlog"].samples[0].value == 1
    assert scrape["omnisdk_events_out_oldest_age_seconds"].samples[0].value == 5
    assert await rig.rt.store.transact(lambda tx: publish(tx, 10)) == 1
    scrape = await rig.scrape()
    assert scrape["omnisdk_events_out_backlog"].samples[0].value == 0
    assert scrape["omnisdk_events_out_oldest_age_seconds"].samples[0].value == 0


async def test_interactions_by_state_and_agent_occupancy(rig):
    for i in (1, 2, 3):  # three customers: alice takes two offers (chat 2), bob one
        await rig.rt.store.append_inbox([message_event(i, customer=f"+1555010000{i}")], rig.clock.now.isoformat())
    await rig.rt.processor.drain()
    first = (await rig.rt.interactions())[0]
    await rig.rt.accept(first.id)
    scrape = await rig.scrape()
    states = {s.labels["state"]: s.value for s in scrape["omnisdk_interactions"].samples}
    assert states == {"new": 0, "queued": 0, "offered": 2, "work_in_progress": 1, "on_hold": 0, "wrap_up": 0}
    assert samples(scrape["omnisdk_agent_capacity_items"]) == {
        (("agent", "alice"), ("channel", "chat")): 2, (("agent", "bob"), ("channel", "chat")): 1}
    assert samples(scrape["omnisdk_agent_held_items"]) == {
        (("agent", "alice"), ("channel", "chat")): 2, (("agent", "bob"), ("channel", "chat")): 1}
    assert samples(scrape["omnisdk_agent_max_units"]) == {(("agent", "alice"),): 1.0}  # bob has no cap
    assert samples(scrape["omnisdk_agent_used_units"]) == {(("agent", "alice"),): 0.5}  # 2 chats × 0.25


async def test_pending_and_failed_sends(rig):
    await rig.rt.store.append_inbox([message_event(1)], rig.clock.now.isoformat())
    await rig.rt.processor.drain()
    inter = await rig.rt.accept((await rig.rt.interactions())[0].id)
    await rig.rt.reply(inter.id, "one")
    await rig.rt.reply(inter.id, "two")
    scrape = await rig.scrape()
    assert scrape["omnisdk_outbox_pending"].samples[0].value == 2
    assert samples(scrape["omnisdk_outbox_failed"], "_total") == {(): 0}
    with respx.mock() as mock:
        mock.post("https://sample.test/messages").respond(400, json={"error": "bad"})  # permanent
        assert await rig.rt.outbox.run_once() == 2
    scrape = await rig.scrape()
    assert scrape["omnisdk_outbox_pending"].samples[0].value == 0
    assert scrape["omnisdk_outbox_failed"].type == "counter"
    assert samples(scrape["omnisdk_outbox_failed"], "_total") == {(): 2}
    assert samples(scrape["omnisdk_outbox_sent"], "_total") == {(): 0}


async def test_timer_lag_is_the_time_between_due_and_fired(rig):
    await rig.rt.store.append_inbox([message_event(1)], rig.clock.now.isoformat())
    await rig.rt.processor.drain()
    inter = await rig.rt.accept((await rig.rt.interactions())[0].id)
    await rig.rt.wrap_up(inter.id)  # the wrap-up timer is due in 120 s
    rig.clock.advance(120 + 7)
    assert await rig.rt.processor.run_timers() == 1
    lag = (await rig.scrape())["omnisdk_timer_lag_seconds"]
    assert lag.type == "histogram"
    assert samples(lag, "_count")[()] == 1
    assert samples(lag, "_sum")[()] == pytest.approx(7)
    buckets = {s.labels["le"]: s.value for s in lag.samples if s.name.endswith("_bucket")}
    assert buckets["5.0"] == 0 and buckets["10.0"] == 1


async def test_a_store_that_does_not_answer_leaves_the_scrape_up(rig):
    assert await rig.post(sample_body([msg(1)])) == 200
    await rig.rt.store.close()
    scrape = await rig.scrape()
    assert scrape["omnisdk_store_up"].samples[0].value == 0
    assert "omnisdk_inbox_backlog" not in scrape
    assert samples(scrape["omnisdk_webhooks"], "_total")  # what the process counted is still there
    await rig.rt.store.open()  # the fixture closes it


async def test_an_ingress_shows_its_webhooks_and_reads_nothing_of_the_core(tmp_path):
    settings = settings_for(tmp_path)
    settings = settings.model_copy(update={"store": settings.store.model_copy(
        update={"inbox_url": f"sqlite:///{tmp_path / 'inbox.db'}"})})
    rt = Runtime(settings, role="ingress")
    app = create_app(rt, manage_runtime=False)
    await rt.store.open()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            body = sample_body([msg(1)])
            resp = await client.post(URL, content=body, headers={"x-sample-signature": sample_signature(body)})
            assert resp.status_code == 200
            text = (await client.get("/metrics")).text
    finally:
        await rt.store.close()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert samples(families["omnisdk_webhooks"], "_total") == {
        (("outcome", "accepted"), ("plugin", "sample"), ("reason", "")): 1}
    assert not {"omnisdk_inbox_backlog", "omnisdk_interactions", "omnisdk_store_up"} & set(families)


async def test_with_a_metrics_token_a_scrape_needs_it_and_the_token_is_never_shown(tmp_path, caplog):
    token = "metrics-token-0123456789abcdef"
    settings = settings_for(tmp_path, metrics_token=token)
    assert token not in repr(settings) and token not in repr(settings.gateway)
    assert token not in settings.model_dump_json()
    from omnisdk.config_view import MASK, masked_settings

    assert masked_settings(settings, {})["gateway"]["metrics_token"] == MASK  # omnisdk config show
    async with Rig(settings) as rig:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"},
                        {"Authorization": f"Bearer {token}x"}):
            resp = await rig.client.get("/metrics", headers=headers)
            assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"
            assert resp.headers["www-authenticate"] == 'Bearer realm="omnisdk-metrics"'
            assert "omnisdk_" not in resp.text and token not in resp.text
        ok = await rig.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "omnisdk_webhooks" in ok.text
    assert token not in caplog.text


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_metrics_token_is_refused(tmp_path, value):
    with pytest.raises(ValueError, match="metrics_token"):
        settings_for(tmp_path, metrics_token=value)


def test_the_metrics_token_may_come_from_the_secrets_directory(tmp_path, monkeypatch):
    from omnisdk.config import load_settings

    secrets = tmp_path / "secrets"
    (secrets / "gateway").mkdir(parents=True)
    (secrets / "gateway" / "metrics_token").write_text("from-a-file-0123456789\n")
    config = tmp_path / "omnisdk.toml"
    config.write_text('[gateway]\nport = 8080\n')
    monkeypatch.delenv("OMNISDK_CONFIG_FILE", raising=False)
    settings = load_settings(config, secrets_dir=secrets)
    assert settings.gateway.metrics_token.get_secret_value() == "from-a-file-0123456789"
