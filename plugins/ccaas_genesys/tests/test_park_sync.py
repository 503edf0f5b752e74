"""Park and unpark: the two PATCHes of the agent participant's ``state`` (Genesys Cloud's
``MediaParticipantRequest``).  The core queues them as durable connector calls (our on-hold
parks, the return to work unparks: ``tests/test_connectors.py`` and the demo story show the
order); here, the requests themselves."""

from __future__ import annotations

import asyncio
import json

import httpx
import respx
from genesys_rig import API, CONVERSATION, LOGIN, conversation, interaction, settings
from omnisdk_ccaas_genesys import GenesysCloudConnector

from omnisdk.model import InteractionState as S


def test_park_and_unpark_patch_the_agent_participant() -> None:
    patches: list[dict[str, object]] = []

    async def go() -> None:
        c = GenesysCloudConnector("acme-park", settings())
        assert c.parks  # the core queues park / unpark for it
        try:
            with respx.mock(assert_all_called=False) as router:
                router.post(LOGIN).mock(return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 3600}))
                router.get(f"{API}/api/v2/conversations/emails/{CONVERSATION}").mock(
                    return_value=httpx.Response(200, json=conversation()))

                def patch(request: httpx.Request) -> httpx.Response:
                    patches.append(json.loads(request.content))
                    return httpx.Response(200, json={})

                router.patch(f"{API}/api/v2/conversations/emails/{CONVERSATION}/participants/agent-1").mock(side_effect=patch)
                await c.park(interaction(state=S.ON_HOLD))
                await c.unpark(interaction())
        finally:
            await c.aclose()

    asyncio.run(go())
    assert patches == [{"state": "parked"}, {"state": "connected"}]
