"""Attachments (a real AES-256-CTR round trip through respx-mocked Apple endpoints) and sends."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import jwt
import pytest
import respx

from omnisdk.adapters import (
    ListMenu,
    ListRow,
    ListSection,
    OutboundMedia,
    OutboundMessage,
    Template,
    unsupported_content,
)
from omnisdk.outbound.errors import BadRequestError
from omnisdk_apple_business import AppleBusinessAdapter, attachments
from omnisdk_apple_business.outbound import attachment_of, message_id
from omnisdk_apple_business.settings import decode_secret

API = "https://mspgw.test"
CDN = "https://p54-content.icloud.test"
CUSTOMER = "urn:mbid:AQAAY0xhbXBsZUN1c3RvbWVyT3BhcXVlSWQwMDAx"


async def _no_wait(_: float) -> None:
    return None


def _adapter(**changes) -> AppleBusinessAdapter:
    return AppleBusinessAdapter("acme", {**AppleBusinessAdapter.example_settings(), "api_base_url": API, **changes},
                                sleep=_no_wait)


def _claims(request: httpx.Request, adapter: AppleBusinessAdapter) -> dict:
    token = request.headers["authorization"].removeprefix("Bearer ")
    key = decode_secret(adapter.settings.msp_secret.get_secret_value())
    return jwt.decode(token, key, algorithms=["HS256"], options={"verify_aud": False})


def test_a_customer_attachment_is_downloaded_and_decrypted():
    adapter = _adapter()
    plain = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    key = bytes(range(32))
    cipher, _ = attachments.encrypt(plain, key)
    assert cipher != plain
    ref = {"name": "pic.png", "mimeType": "image/png", "size": len(plain), "signature": "81d3a6f2c4",
           "url": "https://p54-content.icloud.com/MA1", "key": attachments.format_key(key), "owner": "own-1"}

    async def go():
        with respx.mock(assert_all_called=True) as mock:
            pre = mock.get(f"{API}/v1/preDownload").respond(200, json={"download-url": f"{CDN}/blob/1"})
            blob = mock.get(f"{CDN}/blob/1").respond(200, content=cipher)
            got = await adapter.fetch_attachment(ref)
            await adapter.aclose()
            sent = pre.calls[0].request
            assert sent.headers["url"] == ref["url"] and sent.headers["owner"] == "own-1"
            assert base64.b64decode(sent.headers["signature"]) == bytes.fromhex("81d3a6f2c4")
            assert sent.headers["source-id"] == adapter.settings.business_id
            assert "authorization" not in blob.calls[0].request.headers  # no JWT to the content store
            assert _claims(sent, adapter)["iss"] == adapter.settings.msp_id
            return got

    got = asyncio.run(go())
    assert got.data == plain and got.mime_type == "image/png" and got.name == "pic.png"


def test_an_attachment_over_the_limit_is_refused_before_any_io():
    adapter = _adapter(max_attachment_bytes=1000)
    ref = {"size": 5000, "signature": "00", "url": "u", "key": "00" + "11" * 32, "owner": "o"}
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route()
        with pytest.raises(ValueError, match="exceeds"):
            asyncio.run(adapter.fetch_attachment(ref))
        assert not route.called


def test_upload_then_send_an_attachment():
    adapter = _adapter()
    data = b"%PDF-1.7 " + b"x" * 3000
    uploaded: list[bytes] = []

    def upload(request: httpx.Request) -> httpx.Response:
        uploaded.append(request.content)
        return httpx.Response(200, json={"singleFile": {"fileChecksum": "AThQ82TySl=="}})

    async def go():
        with respx.mock(assert_all_called=True) as mock:
            mock.get(f"{API}/v1/preUpload").respond(200, json={
                "upload-url": f"{CDN}/up/1", "mmcs-url": "https://p54-content.icloud.com", "mmcs-owner": "own-9"})
            mock.post(f"{CDN}/up/1").mock(side_effect=upload)
            send = mock.post(f"{API}/v1/message").respond(200)
            mid = await adapter.upload_attachment(data, name="manual.pdf", mime_type="application/pdf")
            msg = OutboundMessage(customer=CUSTOMER, text="Your manual",
                                  media=[OutboundMedia(media_type="document", media_id=mid)])
            result = await adapter.send(msg, idempotency_key="outbox-row-17")
            await adapter.aclose()
            return mid, result, json.loads(send.calls[0].request.content)

    mid, result, body = asyncio.run(go())
    att = attachment_of(mid)
    key = attachments.parse_key(att["decryption-key"])
    assert attachments.decrypt(uploaded[0], key) == data and uploaded[0] != data
    assert body["type"] == "text" and body["body"] == "Your manual\ufffc"
    assert body["attachments"] == [att] and att["file-size"] == str(len(data))
    assert result.message_id == message_id("outbox-row-17") == body["id"]


def test_a_text_send_carries_a_fresh_jwt_and_one_id_across_retries():
    adapter = _adapter()

    async def go():
        with respx.mock(assert_all_called=True) as mock:
            route = mock.post(f"{API}/v1/message")
            route.side_effect = [httpx.Response(503), httpx.Response(200)]
            result = await adapter.send(OutboundMessage(customer=CUSTOMER, text="Hi"), idempotency_key="k-1")
            await adapter.aclose()
            return result, [c.request for c in route.calls]

    result, requests = asyncio.run(go())
    assert len(requests) == 2
    ids = {r.headers["id"] for r in requests} | {json.loads(r.content)["id"] for r in requests}
    assert ids == {result.message_id}
    for r in requests:
        assert r.headers["destination-id"] == CUSTOMER and r.headers["idempotency-key"] == "k-1"
        assert _claims(r, adapter)["iss"] == adapter.settings.msp_id


def test_a_list_picker_send():
    adapter = _adapter()
    menu = ListMenu(button="Choose", sections=[ListSection(title="Fruit", rows=[
        ListRow(id="1", title="Apple", description="Red"), ListRow(id="2", title="Pear")])])

    async def go():
        with respx.mock() as mock:
            route = mock.post(f"{API}/v1/message").respond(200)
            await adapter.send(OutboundMessage(customer=CUSTOMER, text="Pick one", list_menu=menu),
                               idempotency_key="k-2")
            await adapter.aclose()
            return json.loads(route.calls[0].request.content)

    body = asyncio.run(go())
    assert body["type"] == "interactive"
    data = body["interactiveData"]["data"]
    items = data["listPicker"]["sections"][0]["items"]
    assert [(i["identifier"], i["title"], i["subtitle"]) for i in items] == [("1", "Apple", "Red"), ("2", "Pear", "")]
    assert body["interactiveData"]["receivedMessage"]["title"] == "Pick one"


def test_the_core_routes_list_pickers_here_and_refuses_templates_before_any_io():
    """outbound_content lists what send() builds: the core hands over a list menu, and refuses
    a template (Apple has none) before the outbox or send() sees it."""
    menu = ListMenu(button="Choose", sections=[ListSection(rows=[ListRow(id="1", title="Apple")])])
    content = AppleBusinessAdapter.outbound_content
    assert unsupported_content(OutboundMessage(customer=CUSTOMER, text="Pick", list_menu=menu), content) == []
    template = OutboundMessage(customer=CUSTOMER, template=Template(name="t", language="en_US"))
    assert unsupported_content(template, content) == ["template"]


def test_a_refused_send_and_a_foreign_business():
    adapter = _adapter()
    with pytest.raises(ValueError, match="does not own"):
        asyncio.run(adapter.send(OutboundMessage(customer=CUSTOMER, text="x", business="other"), idempotency_key="k"))
    with respx.mock() as mock:
        mock.post(f"{API}/v1/message").respond(400)
        with pytest.raises(BadRequestError):
            asyncio.run(adapter.send(OutboundMessage(customer=CUSTOMER, text="x"), idempotency_key="k"))


def test_a_storage_error_never_shows_the_pre_signed_url():
    from omnisdk.outbound.errors import NotFoundError

    adapter = _adapter()
    ref = {"size": 10, "signature": "0a", "url": "u", "key": "00" + "11" * 32, "owner": "o"}

    async def go():
        with respx.mock() as mock:
            mock.get(f"{API}/v1/preDownload").respond(200, json={"download-url": f"{CDN}/blob/2?sig=SECRET123"})
            mock.get(f"{CDN}/blob/2").respond(404)
            try:
                await adapter.fetch_attachment(ref)
            finally:
                await adapter.aclose()

    with pytest.raises(NotFoundError) as info:
        asyncio.run(go())
    assert "SECRET123" not in str(info.value) and "blob" not in str(info.value)
