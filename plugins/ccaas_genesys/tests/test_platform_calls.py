"""The Platform API calls against a respx-mocked Genesys Cloud: hosts, paths and bodies."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
import respx
from genesys_rig import API, CONVERSATION, LOGIN, conversation, interaction, settings
from omnisdk_ccaas_genesys import GenesysCloudConnector

from omnisdk.connectors import MappingError
from omnisdk.model import Channel
from omnisdk.outbound.errors import AuthenticationError

CREATE_EMAIL_FIELDS = {"queueId", "flowId", "provider", "skillIds", "skillExpression", "languageId", "priority",
                       "attributes", "toAddress", "toName", "fromAddress", "fromName", "subject", "direction",
                       "htmlBody", "textBody", "externalContactId", "utilizationLabel"}
"""CreateEmailRequest's properties (platform-client-sdk-python build/docs/CreateEmailRequest.md)."""
TRANSFER_FIELDS = {"transferType", "keepInternalMessageAlive", "userId", "address", "userName", "queueId", "voicemail"}
MEDIA_PARTICIPANT_FIELDS = {"wrapup", "state", "recording", "muted", "confined", "held", "wrapupSkipped", "resumeTime"}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def mock(router: respx.MockRouter, *, conv: dict[str, Any] | None = None) -> dict[str, list[httpx.Request]]:
    seen: dict[str, list[httpx.Request]] = {"token": [], "api": []}

    def token(request: httpx.Request) -> httpx.Response:
        seen["token"].append(request)
        return httpx.Response(200, json={"access_token": f"tok-{len(seen['token'])}", "token_type": "bearer",
                                         "expires_in": 86399})

    def api(request: httpx.Request) -> httpx.Response:
        seen["api"].append(request)
        if request.method == "GET":
            return httpx.Response(200, json=conv or conversation())
        return httpx.Response(200, json={"id": CONVERSATION})

    router.post(LOGIN).mock(side_effect=token)
    router.route(url__startswith=API).mock(side_effect=api)
    return seen


async def call(c: GenesysCloudConnector, name: str, *args: Any, **kw: Any) -> Any:
    try:
        return await getattr(c, name)(*args, **kw)
    finally:
        await c.aclose()


def body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def test_token_on_the_region_login_host_with_basic_auth() -> None:
    c = GenesysCloudConnector("acme", settings())
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        run(call(c, "route", interaction(), "billing"))
    (tok,) = seen["token"]
    assert str(tok.url) == "https://login.mypurecloud.de/oauth/token"
    assert tok.headers["authorization"] == "Basic " + base64.b64encode(
        b"6f8e1a52-4c1d-4b7e-9d0a-3b5c2e7f9a10:genesys-example-client-secret-0042").decode()
    assert b"grant_type=client_credentials" in tok.content
    (req,) = seen["api"]
    assert req.url.host == "api.mypurecloud.de" and req.headers["authorization"] == "Bearer tok-1"


def test_route_email_creates_an_inbound_email_conversation_on_the_mapped_queue() -> None:
    c = GenesysCloudConnector("acme", settings())
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        run(call(c, "route", interaction(), "billing"))
    (req,) = seen["api"]
    assert (req.method, req.url.path) == ("POST", "/api/v2/conversations/emails")
    sent = body(req)
    assert set(sent) <= CREATE_EMAIL_FIELDS
    assert sent == {"queueId": "5c1f0b2e-8a3d-4f6e-9b7c-1d2e3f4a5b6c", "provider": "omnisdk", "direction": "INBOUND",
                    "attributes": {"omnisdk_interaction_id": "0190b3c4d5e6f70000000000000e4a11"},
                    "fromAddress": "ana.lopez@example.net", "toAddress": "support@example.com",
                    "subject": "Invoice 4471 charged twice"}


def test_route_messaging_goes_through_the_open_messaging_integration() -> None:
    c = GenesysCloudConnector("acme", settings())
    inter = interaction(Channel.WHATSAPP, customer="+15550100002", business="+15550100001")
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        run(call(c, "route", inter, "support"))
    (req,) = seen["api"]
    assert req.url.path == "/api/v2/conversations/messages/0e7f4d39-1c2b-4a5d-8e6f-7a8b9c0d1e2f/inbound/open/message"
    sent = body(req)
    assert sent["direction"] == "Inbound" and sent["channel"]["from"] == {"id": "+15550100002", "idType": "Opaque"}
    assert sent["channel"]["metadata"]["customAttributes"] == {
        "omnisdk_interaction_id": inter.id, "omnisdk_queue_id": "9d2a7e41-3b5c-4d6e-8f90-a1b2c3d4e5f6"}


def test_unroutable_input_is_refused_before_any_io() -> None:
    c = GenesysCloudConnector("acme", settings(open_messaging_integration_id=None))
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        with pytest.raises(ValueError, match="open_messaging_integration_id"):
            run(call(c, "route", interaction(Channel.CHAT), "billing"))
        with pytest.raises(MappingError, match="queue_map"):
            run(call(c, "route", interaction(), "nowhere"))
        for kw in ({"to_agent": "mallory"}, {"to_queue": "nowhere"}):
            with pytest.raises(MappingError):
                run(call(c, "transfer", interaction(), **kw))
        with pytest.raises(MappingError, match="wrap_up_map"):
            run(call(c, "wrap_up", interaction(), "Not a code"))
    assert seen == {"token": [], "api": []}


@pytest.mark.parametrize(("kw", "target"), [({"to_agent": "bob"}, {"userId": "7f41c3d5-e7f9-4a1b-9c3d-5e7f9a1b3c5d"}),
                                            ({"to_queue": "support"}, {"queueId": "9d2a7e41-3b5c-4d6e-8f90-a1b2c3d4e5f6"})])
def test_transfer_replaces_the_connected_agent_participant(kw: dict[str, str], target: dict[str, str]) -> None:
    c = GenesysCloudConnector("acme", settings())
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        run(call(c, "transfer", interaction(), **kw))
    get, post = seen["api"]
    assert (get.method, get.url.path) == ("GET", f"/api/v2/conversations/emails/{CONVERSATION}")
    assert (post.method, post.url.path) == (
        "POST", f"/api/v2/conversations/emails/{CONVERSATION}/participants/agent-1/replace")
    assert set(body(post)) <= TRANSFER_FIELDS
    assert body(post) == {"transferType": "Unattended", **target}


@pytest.mark.parametrize(("method", "args", "sent"), [
    ("wrap_up", ("Task created",), {"wrapup": {"code": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"}}),
    ("park", (), {"state": "parked"}),
    ("unpark", (), {"state": "connected"}),
    ("disconnect", (), {"state": "disconnected"}),
])
def test_participant_updates(method: str, args: tuple[str, ...], sent: dict[str, Any]) -> None:
    c = GenesysCloudConnector("acme", settings())
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        run(call(c, method, interaction(), *args))
    get, patch = seen["api"]
    assert get.method == "GET"
    assert (patch.method, patch.url.path) == ("PATCH", f"/api/v2/conversations/emails/{CONVERSATION}/participants/agent-1")
    assert set(body(patch)) <= MEDIA_PARTICIPANT_FIELDS and body(patch) == sent


def test_no_agent_participant_is_a_typed_error() -> None:
    c = GenesysCloudConnector("acme", settings())
    with respx.mock(assert_all_called=False) as router:
        mock(router, conv={"id": CONVERSATION, "participants": [{"id": "c", "purpose": "customer"}]})
        with pytest.raises(Exception) as info:
            run(call(c, "disconnect", interaction()))
    assert type(info.value).__name__ == "OutboundError" and "no connected agent participant" in str(info.value)


def test_a_401_refreshes_the_token_once_then_raises() -> None:
    c = GenesysCloudConnector("acme", settings())
    with respx.mock(assert_all_called=False) as router:
        seen = mock(router)
        router.route(url__startswith=API).mock(return_value=httpx.Response(401, json={"message": "expired"}))
        with pytest.raises(AuthenticationError):
            run(call(c, "route", interaction(), "billing"))
    assert len(seen["token"]) == 2


def test_region_gives_both_hosts_and_is_validated() -> None:
    s = GenesysCloudConnector("acme", settings(region="usw2.pure.cloud")).settings
    assert (s.api_base_url, s.token_url) == ("https://api.usw2.pure.cloud", "https://login.usw2.pure.cloud/oauth/token")
    for bad in ("not a region", "evil.com/x", ""):
        with pytest.raises(ValueError):
            GenesysCloudConnector("acme", settings(region=bad))
    with pytest.raises(ValueError):
        GenesysCloudConnector("acme", settings(webhook_secret=" "))
    with pytest.raises(ValueError):
        GenesysCloudConnector("acme", settings(email_provider="PureCloud Email"))
