"""A gateway over a runtime driven by hand, for the operations tests (``/metrics``, ``/readyz``):
its store open, its loops not started, an injected clock, and an ASGI client of its app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import prometheus_client
from prometheus_client.parser import text_string_to_metric_families
from sample_wire import SECRET, sample_signature

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime

URL = "/webhooks/sample/acme"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def settings_for(tmp_path, **gateway) -> Settings:
    return Settings(
        store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
        gateway=gateway,
        plugins={"modules": ["sample_plugin"], "allow": ["sample_plugin"]},
        routing={"queues": [{"name": "support"}],
                 "agents": [{"id": "alice", "capacity": {"chat": 2}, "max_units": 1.0},
                            {"id": "bob", "capacity": {"chat": 1}}]},
        accounts={"sample": {"acme": {"secret": SECRET, "api_base_url": "https://sample.test"}}},
    )


class Rig:
    """A runtime with its store open and its loops not started, and a client of its app."""

    def __init__(self, settings: Settings) -> None:
        self.clock = Clock()
        self.rt = Runtime(settings, clock=self.clock)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.rt, manage_runtime=False)),
                                        base_url="http://gw")

    async def __aenter__(self) -> Rig:
        await self.rt.store.open()
        await self.rt.processor.restore()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.rt.store.close()

    async def post(self, body: bytes, *, signature: str | None = None, url: str = URL) -> int:
        headers = {"x-sample-signature": signature or sample_signature(body), "content-type": "application/json"}
        return (await self.client.post(url, content=body, headers=headers)).status_code

    async def scrape(self) -> dict[str, prometheus_client.Metric]:
        resp = await self.client.get("/metrics")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain")
        return {f.name: f for f in text_string_to_metric_families(resp.text)}


def samples(family, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted label pairs: value}`` of a family's samples named ``family.name + suffix``."""
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == family.name + suffix}
