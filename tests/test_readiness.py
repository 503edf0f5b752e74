"""``GET /healthz`` (alive) and ``GET /readyz`` (the store answers, the inbox backlog is under
``[gateway] ready_max_inbox_lag``), through the gateway's own routes."""

from __future__ import annotations

import httpx
import pytest
from ops_rig import Rig, settings_for
from sample_wire import message_event, msg, sample_body, sample_signature

from omnisdk.config import load_settings
from omnisdk.errors import ConfigError
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime


async def test_ready_when_the_store_answers_and_nothing_waits(tmp_path):
    async with Rig(settings_for(tmp_path)) as rig:
        resp = await rig.client.get("/readyz")
        assert resp.status_code == 200
        assert resp.json() == {"status": "ready", "inbox_backlog": 0, "ready_max_inbox_lag": 10_000}
        assert (await rig.client.get("/healthz")).json() == {"status": "ok"}


async def test_not_ready_while_the_backlog_is_at_the_bound_and_ready_again_once_drained(tmp_path):
    async with Rig(settings_for(tmp_path, ready_max_inbox_lag=2)) as rig:
        await rig.rt.store.append_inbox([message_event(1)], rig.clock.now.isoformat())
        assert (await rig.client.get("/readyz")).status_code == 200  # 1 < 2
        await rig.rt.store.append_inbox([message_event(2), message_event(3)], rig.clock.now.isoformat())
        resp = await rig.client.get("/readyz")
        assert resp.status_code == 503  # 3 wait; the probe counts no further than the bound
        assert resp.json() == {"error": "not_ready", "detail": "2 or more inbox events wait for the processor; "
                               "ready below 2 ([gateway] ready_max_inbox_lag)"}
        assert (await rig.client.get("/healthz")).status_code == 200  # alive all the same
        await rig.rt.processor.drain()
        assert (await rig.client.get("/readyz")).json()["inbox_backlog"] == 0


async def test_not_ready_when_the_store_does_not_answer(tmp_path):
    async with Rig(settings_for(tmp_path)) as rig:
        await rig.rt.store.close()
        resp = await rig.client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["error"] == "not_ready"
        assert resp.json()["detail"].startswith("the store did not answer")
        await rig.rt.store.open()


async def test_an_ingress_is_ready_when_its_inbox_file_answers(tmp_path):
    settings = settings_for(tmp_path)
    settings = settings.model_copy(update={"store": settings.store.model_copy(
        update={"inbox_url": f"sqlite:///{tmp_path / 'inbox.db'}"})})
    rt = Runtime(settings, role="ingress")
    await rt.store.open()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt, manage_runtime=False)),
                                     base_url="http://gw") as client:
            body = sample_body([msg(1)])
            await client.post("/webhooks/sample/acme", content=body,
                              headers={"x-sample-signature": sample_signature(body)})
            resp = await client.get("/readyz")
    finally:
        await rt.store.close()
    assert resp.status_code == 200 and resp.json() == {"status": "ready", "role": "ingress"}


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_bound_of_zero_or_less_is_refused_at_load(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)  # no ./omnisdk.toml
    monkeypatch.setenv("OMNISDK_GATEWAY__READY_MAX_INBOX_LAG", value)
    with pytest.raises(ConfigError, match="gateway.ready_max_inbox_lag"):
        load_settings()
