"""The runtime rig of the cti_twilio call tests: the test kit's runtime driven by hand on a
manual clock, the real gateway and connector, and a respx-mocked Calls REST API that records
every create and update."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import httpx
import respx
from omnisdk_cti_twilio import TwilioVoiceConnector

from omnisdk.testkit import KitRuntime, ManualClock

SETTINGS = {**TwilioVoiceConnector.example_settings(), "record": True}
URL = SETTINGS["webhook_url"]
API = "https://api.twilio.com"
CALLS = f"/2010-04-01/Accounts/{SETTINGS['account_sid']}/Calls"
FORM = "application/x-www-form-urlencoded"
INBOUND = "CA5f2d1e0b7a3c4e6f8091a2b3c4d5e6f7"
OUTBOUND = "CA8e1f2a3b4c5d6e7f8091a2b3c4d5e6a1"
CALLER = "+12065550142"


class Rig(KitRuntime):
    def __init__(self, tmp_path) -> None:
        super().__init__(
            lambda: TwilioVoiceConnector("acme", SETTINGS), tmp_path, URL,
            [{"name": "phones", "channels": ["voice"]}],
            agents=[{"id": "alice", "capacity": {"voice": 1}}, {"id": "bob", "capacity": {"voice": 1}}],
            lifecycle={"wrap_up_timeout": 60},
            clock=ManualClock(datetime(2026, 12, 1, 9, 12, tzinfo=UTC)), loops=False)
        self.updates: list[tuple[str, dict[str, list[str]]]] = []
        self.created: list[dict[str, list[str]]] = []
        self.fail_next = False
        self.fail_update = False

    async def __aenter__(self) -> Rig:
        await super().__aenter__()
        self.rt = self.runtime
        self.mock = respx.mock(base_url=API, assert_all_called=False)
        self.mock.start()
        self.mock.post(f"{CALLS}.json").mock(side_effect=self._create)
        self.mock.route(method="POST", path__regex=rf"{CALLS}/CA[0-9a-f]{{32}}\.json").mock(side_effect=self._update)
        return self

    async def __aexit__(self, *exc) -> None:
        self.mock.stop()
        await super().__aexit__(*exc)

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.created.append(parse_qs(request.content.decode()))
        if self.fail_next:
            return httpx.Response(400, json={"code": 21217, "message": "Phone number is not valid", "status": 400})
        return httpx.Response(201, json={"sid": OUTBOUND, "status": "queued"})

    def _update(self, request: httpx.Request) -> httpx.Response:
        self.updates.append((request.url.path.rsplit("/", 1)[1].removesuffix(".json"), parse_qs(request.content.decode())))
        if self.fail_update:  # Twilio's answer for a call that is gone (error 20404)
            return httpx.Response(404, json={"code": 20404, "message": "The requested resource was not found",
                                             "status": 404})
        return httpx.Response(200, json={"sid": INBOUND, "status": "in-progress"})

    async def post(self, body: bytes, query: dict[str, str] | None = None) -> httpx.Response:
        url = URL + ("?" + urlencode(query) if query else "")
        headers = {"content-type": FORM, **self.adapter.sign(url, body, FORM)}
        resp = await self.client.post(self.target + ("?" + urlencode(query) if query else ""), content=body,
                                      headers=headers)
        await self.rt.processor.drain()
        return resp

    async def one(self, iid: str | None = None):
        if iid is not None:
            return (await self.rt.interaction(iid))[0]
        [inter] = await self.rt.interactions()
        return inter

    async def stats(self) -> dict[str, int]:
        return await self.rt.stats()


