"""Over HTTP, through the real gateway and runtime: 200, 401, 413, 403, and a customer's close."""

from __future__ import annotations

import asyncio
import gzip
import time

import orjson

from omnisdk import recordings
from omnisdk.testkit.runtime import KitRuntime
from omnisdk_apple_business import AppleBusinessAdapter
from omnisdk_apple_business.settings import decode_secret
from omnisdk_apple_business.tokens import make_token

URL = "https://hooks.example.com/webhooks/apple_business/acme"
RECS = {r.name: r for r in recordings.load(AppleBusinessAdapter.recordings)}


def _adapter() -> AppleBusinessAdapter:
    return AppleBusinessAdapter("acme", AppleBusinessAdapter.example_settings())


def _post(rt: KitRuntime, body: bytes, *, iat: int | None = None, audience: str | None = None, raw: bytes | None = None,
          headers: dict[str, str] | None = None):
    settings = rt.adapter.settings
    key = decode_secret(settings.msp_secret.get_secret_value())
    jwt = make_token(key, settings.msp_id, iat=int(time.time()) if iat is None else iat,
                     audience=audience or settings.msp_id)
    doc = orjson.loads(body)
    hdrs = {"content-type": "application/json", "content-encoding": "gzip", "authorization": f"Bearer {jwt}",
            "id": doc["id"], "source-id": doc["sourceId"], "destination-id": doc["destinationId"],
            "capability-list": "LIST,TIME", "device-agent": "iPhone OS", **(headers or {})}
    return rt.client.post(rt.target, content=raw if raw is not None else gzip.compress(body), headers=hdrs)


def test_the_gateway_answers_apple_as_the_issue_says(tmp_path):
    async def go():
        async with KitRuntime(_adapter, tmp_path, URL) as rt:
            text = RECS["message/text"].body
            ok = await _post(rt, text)
            expired = await _post(rt, RECS["message/text_intent_group"].body, iat=int(time.time()) - 3600)
            wrong_aud = await _post(rt, RECS["message/text_intent_group"].body, audience="another-msp")
            bomb = gzip.compress(b'{"v":1,"type":"text","body":"' + b"a" * (4 << 20) + b'"}')
            too_big = await _post(rt, RECS["message/two_attachments"].body, raw=bomb)
            doc = orjson.loads(RECS["message/text_intent_group"].body)
            doc["destinationId"] = "someone-elses-business"
            foreign = await _post(rt, orjson.dumps(doc))
            await rt.runtime.processor.drain()
            stats = await rt.runtime.stats()
            items = await rt.runtime.interactions()
            close = await _post(rt, RECS["message/close"].body)
            await rt.runtime.processor.drain()
            closed = await rt.runtime.interactions()
            return ok, expired, wrong_aud, too_big, foreign, stats, items, close, closed

    ok, expired, wrong_aud, too_big, foreign, stats, items, close, closed = asyncio.run(go())
    assert ok.status_code == 200
    assert (expired.status_code, expired.json()["error"]) == (401, "stale_signature")
    assert (wrong_aud.status_code, wrong_aud.json()["error"]) == (401, "bad_signature")
    assert (too_big.status_code, too_big.json()["error"]) == (413, "payload_too_large")
    assert (foreign.status_code, foreign.json()["error"]) == (403, "foreign_business_address")
    assert len(items) == 1 and items[0].state.active  # only the good text made anything
    assert close.status_code == 200
    [inter] = closed
    assert not inter.state.active and inter.wrap_up_code == "Closed by customer"
