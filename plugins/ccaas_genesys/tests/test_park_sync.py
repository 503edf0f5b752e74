"""Our on-hold parks the Genesys interaction; taking it back to work unparks it."""

from __future__ import annotations

import asyncio
import json

import httpx
import respx
from genesys_rig import API, CONVERSATION, LOGIN, conversation, interaction, settings
from omnisdk_ccaas_genesys import GenesysCloudConnector, park_sync

from omnisdk import events as ev
from omnisdk.events import Event
from omnisdk.model import InteractionState as S
from omnisdk.model import RoutingSource


def event(kind: str, inter: object) -> Event:
    return Event(id=f"e-{kind}", source="/omnisdk/core", type=kind, subject="x", time="2026-12-03T10:00:00Z",
                 data=inter.model_dump(mode="json"))  # type: ignore[attr-defined]


def test_on_hold_parks_and_accepted_unparks() -> None:
    patches: list[dict[str, object]] = []

    async def go() -> GenesysCloudConnector:
        GenesysCloudConnector._live.clear()  # connectors of earlier tests would park too
        c = GenesysCloudConnector("acme-park", settings())
        try:
            with respx.mock(assert_all_called=False) as router:
                router.post(LOGIN).mock(return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 3600}))
                router.get(f"{API}/api/v2/conversations/emails/{CONVERSATION}").mock(
                    return_value=httpx.Response(200, json=conversation()))

                def patch(request: httpx.Request) -> httpx.Response:
                    patches.append(json.loads(request.content))
                    return httpx.Response(200, json={})

                router.patch(f"{API}/api/v2/conversations/emails/{CONVERSATION}/participants/agent-1").mock(side_effect=patch)
                # an accepted interaction that was never parked: nothing to unpark
                park_sync.observe(event(ev.TYPE_INTERACTION_ACCEPTED, interaction()))
                await c.wait(5)
                park_sync.observe(event(ev.TYPE_INTERACTION_ON_HOLD, interaction(state=S.ON_HOLD)))
                await c.wait(5)
                assert c.parked == {interaction().id}
                park_sync.observe(event(ev.TYPE_INTERACTION_ACCEPTED, interaction()))
                await c.wait(5)
                # an internally routed interaction is none of Genesys's business
                park_sync.observe(event(ev.TYPE_INTERACTION_ON_HOLD,
                                        interaction(state=S.ON_HOLD, routing_source=RoutingSource.INTERNAL)))
                await c.wait(5)
        finally:
            await c.aclose()
        return c

    c = asyncio.run(go())
    assert patches == [{"state": "parked"}, {"state": "connected"}]
    assert c.parked == set()
