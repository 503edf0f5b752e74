"""A case's resolution sent by email and the customer's ACCEPT reply closing it
(``POST /v1/cases/{id}/resolution``, ``[lifecycle] case_accept_closes``), and one case read
back (``GET /v1/cases/{id}``: its history and every linked interaction, scoped to the caller).

The email plugin runs for real: its account's mail goes out through a real SMTP server
(aiosmtpd on loopback, tests/plugins_for_tests/mail_server.py); the customer's mail is the
recorded Gmail reply of the plugin's recordings (``reply_gmail``, SOURCES.md), posted signed to
the webhook, adapted only where the story needs it: its Message-ID, its In-Reply-To and
References (our resolution's Message-ID) and its first line (``Accept``).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

import api_access
import pytest
from mail_server import mail_account, smtp_server, text_of

from omnisdk import recordings
from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.lifecycle.case_resolution import mail_address
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime

email_plugin = pytest.importorskip("omnisdk_email")
CUSTOMER = "steven.customer@example.net"  # the From of the recorded Gmail reply
SECRET = "case-links-secret-for-tests-0123456789"


@pytest.fixture
async def rig(tmp_path):
    """``(runtime, app, SMTP recorder)``: one email account (``email/acme``) sending through the
    test server, agents alice and bob (bob only on the queue ``vip``), links signed, and an
    accept that closes the case."""
    with smtp_server() as (port, recorder):
        env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)
        try:
            settings = Settings(
                store={"url": f"sqlite:///{tmp_path / 'cases.db'}"}, gateway={"public_url": "http://127.0.0.1"},
                routing={"queues": [{"name": "support"}, {"name": "vip"}],
                         "agents": [{"id": "alice", "queues": ["support"], "capacity": {"email": 3}},
                                    {"id": "bob", "queues": ["vip"], "capacity": {"email": 3}}]},
                lifecycle={"case_links_secret": SECRET, "case_accept_closes": True},
                accounts={"email": {"acme": mail_account(email_plugin.EmailAdapter.example_settings(), port)}})
        finally:
            if env_file is not None:
                os.environ["OMNISDK_CONFIG_FILE"] = env_file
        host = PluginHost()
        host.load_entrypoints()
        runtime = Runtime(settings, host=host)
        await runtime.start()
        try:
            yield runtime, create_app(runtime), recorder
        finally:
            await runtime.stop()


def _gmail_reply() -> bytes:
    adapter_cls = email_plugin.EmailAdapter
    rec_dir = Path(adapter_cls("acme", adapter_cls.example_settings()).recordings)
    [rec] = [r for r in recordings.load(rec_dir) if r.name == "reply_gmail"]
    return rec.body


def _adapt(body: bytes, *, mid: str, in_reply_to: str | None = None, first_line: str | None = None) -> bytes:
    body = re.sub(rb"^Message-ID:[^\r\n]*", f"Message-ID: <{mid}>".encode(), body, count=1, flags=re.M)
    if in_reply_to is not None:
        body = re.sub(rb"^In-Reply-To:[^\r\n]*", f"In-Reply-To: <{in_reply_to}>".encode(), body, count=1, flags=re.M)
        body = re.sub(rb"^References:[^\r\n]*", f"References: <{in_reply_to}>".encode(), body, count=1, flags=re.M)
    if first_line is not None:
        body = body.replace(b"This is a test for inbox replying to a github message.", first_line.encode(), 1)
    return body


async def _post_mail(rt, client, body: bytes) -> None:
    adapter = rt.adapter("email", "acme")
    url = "http://127.0.0.1/webhooks/email/acme"
    resp = await client.post(url, content=body, headers={"content-type": "message/rfc822",
                                                         **adapter.sign(url, body, "message/rfc822")})
    assert resp.status_code == 200, resp.text
    await rt.processor.drain()


async def _mails(recorder, n: int, timeout: float = 10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while len(recorder.mails) < n:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{len(recorder.mails)} mails arrived, not {n}")
        await asyncio.sleep(0.05)
    return recorder.mails


async def _case_from_mail(rt, client):
    """The customer's recorded mail opens an interaction; alice accepts it and opens a case."""
    await _post_mail(rt, client, _adapt(_gmail_reply(), mid="first@mail.example.net"))
    [inter] = await rt.interactions()
    if inter.state.value == "queued":
        inter = await rt.assign(inter.id, "alice")
    inter = await rt.accept(inter.id, "alice")
    return await rt.create_case(inter.id, "Version number in the footer"), inter


async def test_the_resolution_goes_by_mail_and_the_customers_accept_reply_closes_the_case(rig):
    rt, app, recorder = rig
    alice = await api_access.api_key(rt, "agent", agent="alice")
    async with api_access.client(app, alice) as client:
        case, chat = await _case_from_mail(rt, client)
        before = len(await _mails(recorder, 1))  # the case's confirmation (and any acknowledgement)
        sent = await client.post(f"/v1/cases/{case.number}/resolution",
                                 json={"text": "The footer shows the version from release 2.4 on."})
        assert sent.status_code == 202, sent.text
        doc = sent.json()
        assert doc["case"]["state"] == "solution_proposed" and doc["case"]["contacts"] == [CUSTOMER]
        mail_inter = doc["interaction"]
        assert (mail_inter["channel"], mail_inter["customer"], mail_inter["state"], mail_inter["agent"]) == (
            "email", CUSTOMER, "on_hold", "alice")
        assert mail_inter["case_id"] == case.id and mail_inter["direction"] == "outbound"

        # the mail: through the plugin's SMTP, to the customer, our subject and token, the links
        mails = await _mails(recorder, before + 1)
        resolution = mails[-1]
        assert recorder.recipients[-1] == [CUSTOMER]
        assert resolution["Subject"] == f"Our solution for case {case.number} [Case:{case.number}]"
        body = text_of(resolution)
        assert "The footer shows the version from release 2.4 on." in body
        assert "http://127.0.0.1/links/cases/" in body and "Reject it:" in body
        our_id = resolution["Message-ID"].strip("<>")

        # the customer answers "Accept" to that mail: the case closes, with its history
        await _post_mail(rt, client, _adapt(_gmail_reply(), mid="accept@mail.example.net", in_reply_to=our_id,
                                            first_line="Accept"))
        got = await client.get(f"/v1/cases/{case.id}")
        assert got.status_code == 200, got.text
        view = got.json()
        assert view["state"] == "closed"
        assert [(h["from_state"], h["to_state"], h["by"]) for h in view["state_history"]] == [
            ("new", "solution_proposed", "alice"), ("solution_proposed", "resolved", "customer"),
            ("resolved", "closed", "core")]
        assert view["state_history"][1]["note"] == "the customer replied ACCEPT by mail"
        assert [(u["from"], u["counted"]) for u in view["updates"]] == [(CUSTOMER, True)]
        # the case shows both interactions and their messages: the first mail and the resolution's
        assert [(i["id"], i["channel"], i["readable"]) for i in view["interactions"]] == [
            (chat.id, "email", True), (mail_inter["id"], "email", True)]
        texts = [m["body"].get("text") or "" for m in view["interactions"][1]["messages"]]
        assert any("release 2.4" in t for t in texts) and any(t.startswith("Accept") for t in texts)
        # closing told the customer: the closed notice, then the survey link (one interaction's
        # mails go in turn), both after the resolution
        survey_text = f"How did we do on case {case.number}?"
        deadline = asyncio.get_running_loop().time() + 10
        while not any(survey_text in text_of(m) for m in recorder.mails[before + 1:]):
            assert asyncio.get_running_loop().time() < deadline, "no survey mail"
            await asyncio.sleep(0.05)
        texts = [text_of(m) for m in recorder.mails[before + 1:]]
        closed = next(i for i, t in enumerate(texts) if f"Case {case.number} is closed." in t)
        survey = next(i for i, t in enumerate(texts) if survey_text in t)
        assert closed < survey and "/links/cases/" in texts[survey]


async def test_one_case_is_read_by_those_who_see_its_interactions_and_is_404_to_others(rig):
    rt, app, _ = rig
    admin = await api_access.api_key(rt)
    alice = await api_access.api_key(rt, "agent", agent="alice")
    bob = await api_access.api_key(rt, "agent", agent="bob")
    async with api_access.client(app, admin) as client:
        case, inter = await _case_from_mail(rt, client)
        for ref in (case.id, case.number):
            doc = (await client.get(f"/v1/cases/{ref}")).json()
            assert (doc["id"], doc["number"], doc["state"]) == (case.id, case.number, "new")
            assert [i["id"] for i in doc["interactions"]] == [inter.id]
            assert doc["interactions"][0]["messages"][0]["direction"] == "inbound"
        missing = await client.get("/v1/cases/CS9999999")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    async with api_access.client(app, alice) as client:
        assert (await client.get(f"/v1/cases/{case.number}")).status_code == 200
        assert [c["id"] for c in (await client.get("/v1/cases")).json()["items"]] == [case.id]
    async with api_access.client(app, bob) as client:  # bob serves vip only: the case is not his
        for resp in (await client.get(f"/v1/cases/{case.number}"),
                     await client.post(f"/v1/cases/{case.number}/resolution", json={"text": "Fixed."}),
                     await client.post(f"/v1/cases/{case.number}/state", json={"state": "in_progress"})):
            assert resp.status_code == 404 and resp.json() == {"error": "not_found", "detail": f"no case {case.number}"}
        assert (await client.get("/v1/cases")).json()["items"] == []  # the list hides it too
    async with api_access.client(app, admin) as client:
        assert (await client.get(f"/v1/cases/{case.number}")).json()["state"] == "new"  # bob's move did nothing


async def test_bad_resolutions_are_refused_and_change_nothing(rig):
    rt, app, recorder = rig
    alice = await api_access.api_key(rt, "agent", agent="alice")
    admin = await api_access.api_key(rt)
    async with api_access.client(app, alice) as client:
        case, _ = await _case_from_mail(rt, client)
        url = f"/v1/cases/{case.number}/resolution"
        for to in ("not an address", "jane@example.com\r\nBcc: x@evil.test", "Jane <jane@example.com>", "jane@"):
            resp = await client.post(url, json={"text": "Fixed.", "to": to})
            assert resp.status_code == 400 and resp.json()["error"] == "bad_request", to
        assert (await client.post(url, json={"text": ""})).status_code == 422
        assert (await client.post(url, json={"text": "Fixed.", "agent": "bob"})).status_code == 403
        nothing = await client.get(f"/v1/cases/{case.number}")
        assert nothing.json()["state"] == "new" and len(nothing.json()["interactions"]) == 1
        assert (await client.post(url, json={"text": "Fixed."})).status_code == 202
        again = await client.post(url, json={"text": "Fixed again."})  # proposed already
        assert again.status_code == 409 and again.json()["error"] == "conflict"
    async with api_access.client(app, admin) as client:  # an admin without an agent of its own names one
        resp = await client.post(url, json={"text": "Fixed."})
        assert resp.status_code == 400
        assert resp.json()["detail"] == "name the agent who holds the resolution mail (agent)"
    assert len(recorder.mails) <= 3  # the confirmation (+ an acknowledgement) and one resolution


async def test_the_accept_link_closes_the_case_too(rig):
    rt, app, recorder = rig
    alice = await api_access.api_key(rt, "agent", agent="alice")
    async with api_access.client(app, alice) as client:
        case, _ = await _case_from_mail(rt, client)
        await rt.send_case_resolution(case.id, "Restart the router.", agent="alice", to="Steven.Customer@Example.NET")
        link = rt.case_links().url(case.id, "accept", time.time())  # signed as the mail's link is
        answer = await client.post(link.removeprefix("http://127.0.0.1"), content=b"",
                                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200, answer.text
        doc = (await client.get(f"/v1/cases/{case.id}")).json()
        assert doc["state"] == "closed" and doc["contacts"] == [CUSTOMER]
        assert doc["state_history"][-2]["note"] == "the customer chose ACCEPT by link"


def test_mail_addresses_are_checked_and_lower_cased():
    assert mail_address(" Jane.Doe@Example.COM ") == "jane.doe@example.com"
    for bad in ("", "jane", "jane@localhost", "a@b.c, d@e.f", "<jane@example.com>", "jane@example.com\nBcc: x"):
        with pytest.raises(ValueError):
            mail_address(bad)


def test_the_address_a_case_knows_contacts_first_then_a_mail_customer_then_an_identified_visitor():
    from datetime import UTC, datetime

    from omnisdk.lifecycle.case_resolution import known_address
    from omnisdk.model import Case, MessageRecord

    now = datetime(2026, 1, 1, tzinfo=UTC)
    # a message of an identified web chat visitor, as omnisdk_webchat.translate stores it (extra.identity)
    visitor = MessageRecord(message_id="m1", direction="inbound", kind="text", created_at="2026-01-01T00:00:00Z",
                            body={"text": "hi", "extra": {"identity": {"user_id": "42", "name": "Jane",
                                                                       "email": "Jane@Example.com"}}})
    chat = Case(id="c1", number="CS0000001", subject="s", customer="u_42", created_at=now, history=[visitor])
    assert known_address(chat) == "jane@example.com"
    assert known_address(chat.model_copy(update={"contacts": ["kept@example.org"]})) == "kept@example.org"
    assert known_address(chat.model_copy(update={"history": []})) is None  # an anonymous visitor
    mail = chat.model_copy(update={"customer": "Ann@Example.test", "history": []})
    assert known_address(mail) == "ann@example.test"
