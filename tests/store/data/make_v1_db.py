"""Make ``v1.db``: a small database written by the release before schema versioning (commit
e4b787f, the base of issue 8).  Run it with that release's interpreter, from its checkout:

    cd /tmp/before && .venv/bin/python /work/main/tests/store/data/make_v1_db.py OUT.db

It drives the real runtime through the real gateway with the WhatsApp plugin's recorded
webhooks (signed as Meta signs them), on a manual clock, with the Graph API mocked:

- customer +972987654321: offered to bob, accepted, one reply sent (a sent outbox row, an
  outbound message with its status), then a second reply queued with the key ``r-1`` and not
  sent (a pending outbox row), and the recorded ``delivered`` status of the first send;
- customer +972000000002: accepted, a case opened from it (``CS0000001``): closed with
  "Task created" (a case row, a pending case notification in the outbox);
- customer +972000000003: offered and left there (a pending offer timer);
- customer +972000000004: accepted, wrapped up and closed with "Issue resolved".
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import respx

from omnisdk.recordings import load
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

WEBHOOK = "/webhooks/whatsapp/acme"
SEND_PATH = "/v21.0/1122334455667/messages"


def body_from(recs: dict, name: str, wamid: str, wa_id: str | None = None) -> bytes:
    doc = orjson.loads(recs[name].body)
    for change in doc["entry"][0]["changes"]:
        value = change["value"]
        for m in value.get("messages", []):
            m["id"] = wamid
            if wa_id:
                m["from"] = wa_id
        for c in value.get("contacts", []):
            if wa_id:
                c["wa_id"] = wa_id
        for s in value.get("statuses", []):
            s["id"] = wamid
    return orjson.dumps(doc)


async def main(out: Path) -> None:
    recs = {r.name: r for r in load(WhatsAppAdapter.recordings)}
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
        kit = KitRuntime(
            lambda: WhatsAppAdapter("acme", WhatsAppSettings(**WhatsAppAdapter.example_settings())), Path(tmp),
            "https://cx.example.test" + WEBHOOK, [{"name": "support"}],
            agents=[{"id": "alice", "capacity": {"whatsapp": 1}}, {"id": "bob", "capacity": {"whatsapp": 3}}],
            clock=clock, loops=False)
        async with kit:
            rt = kit.runtime
            with respx.mock(base_url="https://graph.facebook.com", assert_all_called=False) as mock:
                mock.post(SEND_PATH).mock(side_effect=lambda req: httpx.Response(
                    200, json=WhatsAppAdapter.sandbox_reply(len(mock.calls))))

                async def say(wamid: str, wa_id: str | None) -> str:
                    resp = await kit.deliver_body(body_from(recs, "message/text", wamid, wa_id), "application/json")
                    assert resp.status_code == 200, resp.text
                    want = f"+{wa_id or '972987654321'}"
                    [inter] = [i for i in await rt.interactions(active_only=True) if i.customer == want]
                    return inter.id

                a = await say("wamid.v1-a1", None)
                await rt.accept(a, "bob")
                await rt.reply(a, "Hello, how can I help?")
                await kit.flush_outbox()
                sent_id = WhatsAppAdapter.sandbox_reply(0)["messages"][0]["id"]
                clock.advance(5)
                status = body_from(recs, "message_status/delivered", sent_id)
                resp = await kit.deliver_body(status, "application/json")
                assert resp.status_code == 200, resp.text

                b = await say("wamid.v1-b1", "972000000002")
                await rt.accept(b)
                await rt.create_case(b, "Lost order")

                clock.advance(5)
                await say("wamid.v1-c1", "972000000003")

                d = await say("wamid.v1-d1", "972000000004")
                await rt.accept(d)
                await rt.wrap_up(d)
                await rt.close_interaction(d, "Issue resolved")

                await rt.reply(a, "A second reply, not sent yet", idempotency_key="r-1")
        shutil.copyfile(kit.db, out)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]).resolve()))
