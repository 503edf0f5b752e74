"""The demo's CCaaS-routed email story plays through with this plugin (omnisdk.demo_ccaas)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from omnisdk_ccaas_genesys import GenesysCloudConnector

from omnisdk import recordings
from omnisdk.demo_ccaas import NEEDED, StandInCCaaS, ccaas_story, has_story
from omnisdk.testkit.asgi_server import serve_in_task


def test_the_story_plays(tmp_path: Path) -> None:
    recs = {r.name: r.body for r in recordings.load(Path(GenesysCloudConnector.recordings))}
    assert has_story(GenesysCloudConnector, set(recs))

    async def go() -> tuple[list, StandInCCaaS]:
        stand_in = StandInCCaaS(GenesysCloudConnector)
        async with serve_in_task(stand_in.app(), lifespan="on") as url:
            return await ccaas_story("ccaas_genesys", GenesysCloudConnector, recs, tmp_path, url, stand_in), stand_in

    steps, stand_in = asyncio.run(go())
    assert [o.step for o in steps if not o.ok] == []
    assert len(steps) == 8
    writes = [(m, p.rsplit("/", 1)[-1] if m == "POST" else body) for m, p, body in stand_in.calls if m != "GET"]
    assert writes == [("POST", "emails"), ("POST", "replace"), ("PATCH", {"state": "parked"}),
                      ("PATCH", {"state": "connected"}),
                      ("PATCH", {"wrapup": {"code": "a1c2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}}),
                      ("PATCH", {"state": "disconnected"})]
    assert set(NEEDED) <= set(recs)
