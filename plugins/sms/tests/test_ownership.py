"""An account owns its Twilio numbers (``from_number`` and ``numbers``): a webhook signed with
account B's Auth Token cannot act for account A's number, conversation keys name the account,
and sends go out only from an owned number.  Real recorded forms, the real gateway and runtime."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from omnisdk.adapters import OutboundMessage
from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime
from omnisdk_sms import TwilioSmsAdapter, TwilioSmsSettings
from omnisdk_sms.outbound import build_form

FORM = "application/x-www-form-urlencoded"
A_NUMBER = "+14155550100"  # the recordings' business number: To of inbound, From of statuses
CUSTOMER = "+12065550142"  # From of inbound_sms.form
BETA_TOKEN = "beta-auth-token"
SERVICE = "MG" + "ab" * 16


def account(**changes) -> TwilioSmsSettings:
    return TwilioSmsSettings(**{**TwilioSmsAdapter.example_settings(), **changes})


async def _rig(tmp_path, beta: TwilioSmsSettings):
    """acme: the example account (from_number = A_NUMBER); beta: its own token and numbers."""
    settings = Settings(
        store={"url": f"sqlite:///{tmp_path / 'own.db'}", "synchronous": "NORMAL"},
        routing={"queues": [{"name": "support"}], "agents": [{"id": "bob", "capacity": {"sms": 5}}]},
    )
    adapters = {("sms", "acme"): TwilioSmsAdapter("acme", account()),
                ("sms", "beta"): TwilioSmsAdapter("beta", beta)}
    rt = Runtime(settings, host=PluginHost(), adapters=adapters)
    await rt.store.open()
    await rt.processor.restore()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt, manage_runtime=False)),
                               base_url="http://gw")
    return rt, client


async def _post(rt, client, acct: str, body: bytes) -> httpx.Response:
    adapter = rt.adapter("sms", acct)
    url = f"/webhooks/sms/{acct}"
    headers = {"content-type": FORM, **adapter.sign("http://gw" + url, body, FORM)}
    return await client.post(url, content=body, headers=headers)


async def _close(rt, client) -> None:
    await client.aclose()
    for adapter in rt.adapters.values():
        await adapter.aclose()
    await rt.store.close()


async def test_a_form_signed_by_account_b_naming_as_number_is_403_and_stores_nothing(tmp_path, recs):
    # beta even carries the recordings' MessagingServiceSid: no proof of owning the To number
    beta = account(auth_token=BETA_TOKEN, from_number="+15550109999",
                   messaging_service_sid="MGf06d3511e3d9b173fb3f224dccf47849")
    rt, client = await _rig(tmp_path, beta)
    try:
        assert (await _post(rt, client, "acme", recs["inbound_sms"].body)).status_code == 200
        await rt.processor.drain()
        [inter] = await rt.interactions()

        for name in ("inbound_sms", "inbound_mms", "status_delivered"):  # To / From = A_NUMBER
            resp = await _post(rt, client, "beta", recs[name].body)  # valid beta signature
            assert resp.status_code == 403, name
            assert resp.json()["error"] == "foreign_business_address"
            assert BETA_TOKEN not in resp.text
        await rt.processor.drain()
        inbox = await rt.store.transact(lambda tx: tx.c.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])
        assert inbox == 1, "only acme's own webhook was stored"
        [after] = await rt.interactions()
        assert (after.id, after.message_count) == (inter.id, 1)
        await rt.store.transact(lambda tx: None)  # flush late counters
        assert (await rt.stats())["rejected.foreign_business_address"] == 3
    finally:
        await _close(rt, client)


async def test_a_messaging_service_account_owns_the_numbers_it_lists(tmp_path, recs):
    beta = account(auth_token=BETA_TOKEN, from_number=None, numbers=[A_NUMBER], messaging_service_sid=SERVICE)
    rt, client = await _rig(tmp_path, beta)
    try:
        body = recs["inbound_sms"].body
        assert (await _post(rt, client, "acme", body)).status_code == 200
        assert (await _post(rt, client, "beta", body)).status_code == 200
        await rt.processor.drain()
        keys = sorted(i.conversation_key for i in await rt.interactions())
        assert keys == [f"sms/acme:sms:{A_NUMBER}:{CUSTOMER}", f"sms/beta:sms:{A_NUMBER}:{CUSTOMER}"]
        # no default sender: an outbound conversation must name one of the account's numbers
        with pytest.raises(ValueError, match="no default sender"):
            await rt.start_outbound(agent="bob", plugin="sms", account="beta", customer="+13125550167", text="hi")
        with pytest.raises(ValueError, match="does not own"):
            await rt.start_outbound(agent="bob", plugin="sms", account="beta", customer="+13125550167",
                                    text="hi", business="+15550100001")
        inter = await rt.start_outbound(agent="bob", plugin="sms", account="beta", customer="+13125550167",
                                        text="hi", business=A_NUMBER)
        assert inter.conversation_key == f"sms/beta:sms:{A_NUMBER}:+13125550167"
        default = await rt.start_outbound(agent="bob", plugin="sms", account="acme", customer="+13125550167", text="hi")
        assert default.business == A_NUMBER  # acme's from_number
    finally:
        await _close(rt, client)


def test_business_addresses_are_from_number_and_numbers():
    adapter = TwilioSmsAdapter("acme", account(numbers=["+15550100002", "+15550100003"]))
    assert adapter.business_addresses() == {A_NUMBER, "+15550100002", "+15550100003"}
    assert adapter.default_business() == A_NUMBER
    service_only = TwilioSmsAdapter("acme", account(from_number=None, numbers=["+15550100002"],
                                                   messaging_service_sid=SERVICE))
    assert service_only.default_business() is None


def test_a_sender_the_account_does_not_own_is_refused_before_any_io():
    with pytest.raises(ValueError, match="not a number of this account"):
        build_form(OutboundMessage(customer=CUSTOMER, text="hi", business="+15550100009"), account())


@pytest.mark.parametrize("changes", [
    {"numbers": ["4155550100"]},
    {"numbers": "+14155550100"},
    {"from_number": None, "numbers": []},
    {"from_number": None, "messaging_service_sid": SERVICE},  # a service alone owns no number
])
def test_an_account_must_own_well_formed_numbers(changes):
    with pytest.raises(ValidationError) as info:
        account(**changes)
    assert "number" in str(info.value)
