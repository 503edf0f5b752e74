"""Identified visitors, attachments and the virus-scan hook, the virtual agent first, the survey
and the case, through the real gateway."""

from __future__ import annotations

import asyncio
import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from omnisdk_webchat import plugin as webchat_plugin
from webchat_rig import Chat, new_visitor, running_chat

from omnisdk.model import InteractionState as S
from omnisdk.plugins import PluginHost

PORTAL_SECRET = "portal-shared-identity-secret-0123456789"


async def _post(http, chat: Chat, visitor, kind: str = "message", **frame):
    body = visitor.frame(kind, **frame)
    return await http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body))


async def _only(chat: Chat, state=None):
    items = await chat.runtime.interactions()
    if len(items) == 1 and (state is None or items[0].state is state):
        return items[0]
    return None


async def test_an_identified_visitor_is_the_same_customer_on_every_browser(tmp_path, http):
    async with running_chat(tmp_path, identity_key=PORTAL_SECRET, identity_issuer="https://portal.example") as chat:
        claims = {"sub": "cust-1042", "name": "Ada Lovelace", "email": "ada@example.com",
                  "iss": "https://portal.example", "exp": int(time.time()) + 300}
        identity = jwt.encode(claims, PORTAL_SECRET, algorithm="HS256")
        first = await new_visitor(http, chat, identity=identity)
        second = await new_visitor(http, chat, identity=identity)  # another browser
        assert first.session == second.session == "u_cust-1042"
        assert (await _post(http, chat, first, text="Hi, it's Ada")).status_code == 202
        inter = await chat.wait_for(lambda: _only(chat))
        assert inter.customer == "u_cust-1042" and inter.customer_name == "Ada Lovelace"
        _, _, messages = await chat.runtime.interaction(inter.id)
        assert messages[0]["body"]["extra"]["identity"] == {"user_id": "cust-1042", "name": "Ada Lovelace",
                                                            "email": "ada@example.com"}
        for bad in (jwt.encode({**claims, "iss": "https://evil.example"}, PORTAL_SECRET, algorithm="HS256"),
                    jwt.encode({**claims, "exp": int(time.time()) - 120}, PORTAL_SECRET, algorithm="HS256"),
                    jwt.encode(claims, "another-secret-another-secret-0000", algorithm="HS256"),
                    jwt.encode({**claims, "sub": "../../etc"}, PORTAL_SECRET, algorithm="HS256")):
            resp = await http.post(f"{chat.root}/session", json={"identity": bad})
            assert resp.status_code == 401, bad


async def test_identity_signed_with_the_portals_rsa_key(tmp_path, http):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    async with running_chat(tmp_path, identity_key=public, identity_algorithm="RS256") as chat:
        token = jwt.encode({"sub": "u77", "exp": int(time.time()) + 60}, key, algorithm="RS256")
        assert (await new_visitor(http, chat, identity=token)).session == "u_u77"
        hs = jwt.encode({"sub": "u77", "exp": int(time.time()) + 60}, "x" * 40, algorithm="HS256")
        assert (await http.post(f"{chat.root}/session", json={"identity": hs})).status_code == 401


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_attachments_within_the_limits_are_stored_others_refused(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    ok = await _post(http, chat, visitor, text="receipt", attachments=[
        {"mime_type": "application/pdf", "filename": "receipt.pdf", "data": _b64(b"%PDF-1.4 tiny")}])
    assert ok.status_code == 202
    limit = chat.adapter.settings.max_attachment_bytes
    refused = [
        await _post(http, chat, visitor, attachments=[{"mime_type": "image/svg+xml", "data": _b64(b"<svg/>")}]),
        await _post(http, chat, visitor, attachments=[{"mime_type": "image/png", "data": "not base64!"}]),
        await _post(http, chat, visitor, attachments=[{"mime_type": "image/png", "data": _b64(b"x" * (limit + 1))}]),
        await _post(http, chat, visitor, attachments=[{"mime_type": "image/png", "filename": "../x.png",
                                                       "data": _b64(b"x")}]),
        await _post(http, chat, visitor, attachments=[{"mime_type": "text/plain", "data": _b64(b"x")}] * 5),
    ]
    assert [r.status_code for r in refused] == [400, 400, 413, 400, 400]
    inter = await chat.wait_for(lambda: _only(chat))
    _, _, messages = await chat.runtime.interaction(inter.id)
    [stored] = messages
    [att] = stored["body"]["attachments"]
    assert att["mime_type"] == "application/pdf" and att["size"] == 13 and att["url"].startswith("data:")


def infected(data: bytes, mime_type: str, filename: str | None) -> bool:
    """A test scanner: anything holding the EICAR marker is infected."""
    return b"EICAR" not in data


async def broken(data: bytes, mime_type: str, filename: str | None) -> bool:
    raise OSError("scanner daemon unreachable")


@pytest.mark.parametrize(("scanner", "status"), [("test_chat_features:infected", 422),
                                                 ("test_chat_features:broken", 503)])
async def test_the_virus_scan_hook_refuses_before_anything_is_stored(tmp_path, http, scanner, status):
    import sys
    sys.modules.setdefault("test_chat_features", sys.modules[__name__])
    async with running_chat(tmp_path, virus_scan=scanner) as chat:
        visitor = await new_visitor(http, chat)
        bad = await _post(http, chat, visitor, attachments=[{"mime_type": "text/plain", "filename": "eicar.txt",
                                                             "data": _b64(b"X5O!P%@AP EICAR test")}])
        assert bad.status_code == status and bad.json()["error"] in ("attachment_refused", "unavailable")
        await asyncio.sleep(0.3)
        assert await chat.runtime.interactions() == []
        if status == 422:
            clean = await _post(http, chat, visitor, attachments=[{"mime_type": "text/plain", "data": _b64(b"hello")}])
            assert clean.status_code == 202


async def test_the_virtual_agent_answers_first_and_the_agent_sees_its_whole_transcript(tmp_path, http):
    host = PluginHost()
    host.register(webchat_plugin, "webchat")
    async with running_chat(tmp_path, host=host, queues=[{"name": "support", "virtual_agent": "webchat-rules"}]) as chat:
        visitor = await new_visitor(http, chat)
        assert (await _post(http, chat, visitor, text="Where is my parcel?")).status_code == 202
        inter = await chat.wait_for(lambda: _only(chat))
        assert inter.virtual_agent == "webchat-rules" and inter.agent == "bot:webchat-rules"
        poll = {"Authorization": f"Bearer {visitor.token}"}

        async def bot_said(text):
            frames = (await http.get(f"{chat.root}/poll", params={"after": 0}, headers=poll)).json()["frames"]
            return any(f["direction"] == "outbound" and f["text"] == text for f in frames)

        await chat.wait_for(lambda: bot_said("I can help with that. What is your order number?"))
        assert (await _post(http, chat, visitor, text="It is 4411")).status_code == 202
        escalated = await chat.wait_for(lambda: _only(chat, S.OFFERED))
        assert escalated.agent == "alice" and escalated.context["order"] == "4411" and escalated.context["escalated"]
        await chat.runtime.accept(escalated.id, "alice")

        async def transcript():
            _, _, messages = await chat.runtime.interaction(escalated.id)
            return len(messages) == 4 and messages

        messages = await chat.wait_for(transcript)
        assert [(m["direction"], (m["body"] or {}).get("text")) for m in messages] == [
            ("inbound", "Where is my parcel?"),
            ("outbound", "I can help with that. What is your order number?"),
            ("inbound", "It is 4411"),
            ("outbound", "Thanks, I am passing order 4411 to an agent."),
        ]


async def test_the_survey_answer_is_kept_on_the_interaction_and_the_case_links_the_transcript(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    assert (await _post(http, chat, visitor, text="My invoice is wrong")).status_code == 202
    inter = await chat.wait_for(lambda: _only(chat, S.OFFERED))
    await chat.runtime.accept(inter.id, "alice")
    case = await chat.runtime.create_case(inter.id, "Wrong invoice")
    assert inter.id in case.interaction_ids
    assert (await chat.runtime.interaction(inter.id))[0].state is S.CLOSED  # creating a case closes it (Task created)
    survey = await _post(http, chat, visitor, kind="survey", score=4, comment="Fine", interaction_id=inter.id)
    assert survey.status_code == 202
    again = await _post(http, chat, visitor, kind="survey", score=1, interaction_id=inter.id)  # a second answer
    assert again.status_code == 202

    async def answered():
        found, _, messages = await chat.runtime.interaction(inter.id)
        return "survey" in found.context and (found, messages)

    found, messages = await chat.wait_for(answered)
    await asyncio.sleep(0.3)
    found, _, messages = await chat.runtime.interaction(inter.id)
    assert found.context["survey"]["score"] == 4 and found.context["survey"]["comment"] == "Fine"
    assert found.case_id == case.id
    # the survey is not in the transcript: the customer's one message, and the case's notice
    assert [m["direction"] for m in messages if m["direction"] == "inbound"] == ["inbound"]
    assert not any("Fine" in str(m["body"]) for m in messages)
    stats = await chat.runtime.stats()
    assert stats["survey.answered"] == 1 and stats["survey.repeated"] == 1
