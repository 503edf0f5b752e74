"""An account owns its phone number ids: a webhook signed with account B's app secret cannot act
for account A's number, conversation keys name the account, and sends go out only from an
owned number.  Real recorded bodies, the real gateway (ASGI) and runtime, two accounts."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

A_NUMBER = "1122334455667"  # metadata.phone_number_id of message.json
CUSTOMER = "+972987654321"  # its "from"
BETA_SECRET = "beta-app-secret"


def account(**changes) -> WhatsAppSettings:
    return WhatsAppSettings(**{**WhatsAppAdapter.example_settings(), **changes})


async def _rig(tmp_path, beta: WhatsAppSettings):
    """acme: the example account (owns the recordings' numbers); beta: its own secret, ``beta``."""
    settings = Settings(
        store={"url": f"sqlite:///{tmp_path / 'own.db'}", "synchronous": "NORMAL"},
        routing={"queues": [{"name": "support"}], "agents": [{"id": "bob", "capacity": {"whatsapp": 5}}]},
    )
    adapters = {("whatsapp", "acme"): WhatsAppAdapter("acme", account()),
                ("whatsapp", "beta"): WhatsAppAdapter("beta", beta)}
    rt = Runtime(settings, host=PluginHost(), adapters=adapters)
    await rt.store.open()
    await rt.processor.restore()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt, manage_runtime=False)),
                               base_url="http://gw")
    return rt, client


async def _post(rt, client, acct: str, body: bytes) -> httpx.Response:
    adapter = rt.adapter("whatsapp", acct)
    url = f"/webhooks/whatsapp/{acct}"
    headers = {"content-type": "application/json", **adapter.sign("http://gw" + url, body, "application/json")}
    return await client.post(url, content=body, headers=headers)


async def _close(rt, client) -> None:
    await client.aclose()
    for adapter in rt.adapters.values():
        await adapter.aclose()
    await rt.store.close()


async def test_a_recording_signed_by_account_b_naming_as_number_is_403_and_stores_nothing(tmp_path, recordings):
    rt, client = await _rig(tmp_path, account(app_secret=BETA_SECRET, phone_number_id="5550001111",
                                              phone_number_ids=[]))
    try:
        body = recordings["message/text"].body
        assert (await _post(rt, client, "acme", body)).status_code == 200
        await rt.processor.drain()
        [inter] = await rt.interactions()

        for name in ("message/text", "message/image", "message_status/read"):  # all name A_NUMBER
            resp = await _post(rt, client, "beta", recordings[name].body)  # valid beta signature
            assert resp.status_code == 403, name
            assert resp.json()["error"] == "foreign_business_address"
            assert BETA_SECRET not in resp.text
        await rt.processor.drain()
        inbox = await rt.store.transact(lambda tx: tx.c.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])
        assert inbox == 1, "only acme's own webhook was stored"
        [after] = await rt.interactions()
        assert (after.id, after.message_count) == (inter.id, 1)
        await rt.store.transact(lambda tx: None)  # flush late counters
        assert (await rt.stats())["rejected.foreign_business_address"] == 3
    finally:
        await _close(rt, client)


async def test_two_accounts_owning_one_number_keep_two_conversations(tmp_path, recordings):
    # two accounts configured for the same number (a second Meta app on it): one customer, two keys
    rt, client = await _rig(tmp_path, account(app_secret=BETA_SECRET, phone_number_ids=[]))
    try:
        body = recordings["message/text"].body
        assert (await _post(rt, client, "acme", body)).status_code == 200
        assert (await _post(rt, client, "beta", body)).status_code == 200
        await rt.processor.drain()
        keys = sorted(i.conversation_key for i in await rt.interactions())
        assert keys == [f"whatsapp/acme:whatsapp:{A_NUMBER}:{CUSTOMER}", f"whatsapp/beta:whatsapp:{A_NUMBER}:{CUSTOMER}"]
    finally:
        await _close(rt, client)


async def test_start_outbound_uses_the_default_number_and_refuses_a_foreign_one(tmp_path):
    rt, client = await _rig(tmp_path, account(app_secret=BETA_SECRET, phone_number_id="5550001111",
                                              phone_number_ids=[]))
    try:
        with pytest.raises(ValueError, match="does not own the business address '1122334455667'"):
            await rt.start_outbound(agent="bob", plugin="whatsapp", account="beta", customer=CUSTOMER,
                                    text="hi", business=A_NUMBER)
        assert await rt.interactions() == []
        hello = {"name": "hello_world", "language": "en_US"}  # the customer never wrote: a template opens it
        inter = await rt.start_outbound(agent="bob", plugin="whatsapp", account="beta", customer=CUSTOMER,
                                        template=hello)
        assert (inter.business, inter.conversation_key) == ("5550001111", f"whatsapp/beta:whatsapp:5550001111:{CUSTOMER}")
        other = await rt.start_outbound(agent="bob", plugin="whatsapp", account="acme", customer=CUSTOMER,
                                        template=hello, business="106540352242922")  # one of acme's phone_number_ids
        assert other.business == "106540352242922"
    finally:
        await _close(rt, client)


def test_the_account_owns_phone_number_id_and_phone_number_ids():
    adapter = WhatsAppAdapter("acme", account(phone_number_ids=["2233"]))
    assert adapter.business_addresses() == {A_NUMBER, "2233"}
    assert adapter.default_business() == A_NUMBER


@pytest.mark.parametrize("ids", [["has space"], [""], ["x" * 65], "1122"])
def test_phone_number_ids_are_checked(ids):
    with pytest.raises(ValidationError) as info:
        account(phone_number_ids=ids)
    assert "phone_number_ids" in str(info.value)
