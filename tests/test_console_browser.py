"""The agent console in a real browser: Debian's Chromium (``/usr/bin/chromium``) driven by
Playwright, beside a web chat visitor in a second browser context.

The seeds' "Omnichannel workflow" as far as the console goes: a visitor opens the sample portal
page, chats with the rule bot and is escalated; an agent signs in to ``/console`` with an API key,
sees the offer arrive live (``GET /v1/events`` over ``fetch``), accepts it, reads the bot's
transcript, replies (the visitor's widget shows it), asks for the summary and creates a case
(which closes the chat with "Task created"); the visitor then ends the chat and answers the
survey, which the interaction keeps.  The page runs under the console's Content-Security-Policy;
any violation or script error fails the test.  Screenshots of each step go to ``tmp_path``.

Playwright never downloads a browser here: it is given ``executable_path``.  Without Chromium or
the ``playwright`` package the test skips with the reason; in CI (``OMNISDK_REQUIRE_SERVICES=1``,
set by ``.ci/run``, which installs ``chromium``) it fails instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import api_access
import pytest
from mail_server import mail_account, smtp_server, text_of

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.model import InteractionState as S
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task
from omnisdk.testkit.browser import chromium, collect_errors, require_browser
from omnisdk.testkit.polling import wait_for
from omnisdk.testkit.ports import free_port

webchat = pytest.importorskip("omnisdk_webchat")
webchat_plugin = pytest.importorskip("omnisdk_webchat.plugin")
email = pytest.importorskip("omnisdk_email")
email_plugin = pytest.importorskip("omnisdk_email.plugin")
ACCOUNT = "acme"
CUSTOMER_MAIL = "steven.customer@example.net"  # the From of the recorded Gmail reply (reply_gmail)


def _accept_reply(our_id: str) -> bytes:
    """The email plugin's recorded Gmail reply (``reply_gmail``, recordings/SOURCES.md) as the
    customer's answer to our mail ``our_id``: its own Message-ID, In-Reply-To and References
    naming ours, and ``Accept`` as its first line; nothing else changed."""
    from omnisdk import recordings

    folder = Path(email.EmailAdapter(ACCOUNT, email.EmailAdapter.example_settings()).recordings)
    [rec] = [r for r in recordings.load(folder) if r.name == "reply_gmail"]
    body = re.sub(rb"^Message-ID:[^\r\n]*", b"Message-ID: <accept-4411@mail.example.net>", rec.body, count=1, flags=re.M)
    body = re.sub(rb"^In-Reply-To:[^\r\n]*", f"In-Reply-To: <{our_id}>".encode(), body, count=1, flags=re.M)
    body = re.sub(rb"^References:[^\r\n]*", f"References: <{our_id}>".encode(), body, count=1, flags=re.M)
    return body.replace(b"This is a test for inbox replying to a github message.", b"Accept", 1)


async def _post_mail(base: str, runtime: Runtime, body: bytes) -> None:
    """POST a raw mail to the email account's webhook, signed as the account expects."""
    import httpx

    url = f"{base}/webhooks/email/{ACCOUNT}"
    headers = {"content-type": "message/rfc822", **runtime.adapter("email", ACCOUNT).sign(url, body, "message/rfc822")}
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(url, content=body, headers=headers)
    assert resp.status_code == 200, resp.text


@pytest.fixture
async def gateway(tmp_path):
    """A gateway (uvicorn, loopback) with one web chat account answered first by the rule bot
    and one email account (``email/acme``) sending through a real SMTP server on loopback;
    case links signed, and a customer's accept closes the case.  Yields the base URL, the
    runtime and the SMTP server's recorder."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    host = PluginHost()
    host.register(webchat_plugin, "webchat")
    host.register(email_plugin, "email")
    adapter = webchat.WebchatAdapter(ACCOUNT, {**webchat.WebchatAdapter.example_settings(), "api_base_url": base})
    env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)
    try:
        settings = Settings(store={"url": f"sqlite:///{tmp_path / 'console.db'}"},
                            gateway={"public_url": base},
                            lifecycle={"case_links_secret": "console-browser-case-links-secret-0123", "case_accept_closes": True},
                            routing={"queues": [{"name": "support", "virtual_agent": "webchat-rules"}],
                                     "agents": [{"id": "alice", "capacity": {"chat": 2, "email": 2}}, {"id": "bob"}]})
    finally:
        if env_file is not None:
            os.environ["OMNISDK_CONFIG_FILE"] = env_file
    with smtp_server() as (smtp_port, mails):
        mailer = email.EmailAdapter(ACCOUNT, mail_account(email.EmailAdapter.example_settings(), smtp_port))
        runtime = Runtime(settings, host=host, adapters={("webchat", ACCOUNT): adapter, ("email", ACCOUNT): mailer})
        async with serve_in_task(create_app(runtime), port=port, lifespan="on", ws="websockets-sansio"):
            yield base, runtime, mails


async def test_an_agent_takes_a_web_chat_from_the_bot_in_the_console_and_the_visitor_sees_the_reply(gateway, tmp_path):
    require_browser()
    from playwright.async_api import expect

    base, runtime, mails = gateway
    key = await api_access.api_key(runtime, "agent", agent="alice", name="alice-console")
    shots = iter(range(1, 100))

    async def shot(page, name: str) -> None:
        await page.screenshot(path=str(tmp_path / f"{next(shots):02d}-{name}.png"), full_page=True)

    async with chromium() as browser:
        errors: list[str] = []
        visitor_ctx, agent_ctx = await browser.new_context(), await browser.new_context()
        visitor, agent = await visitor_ctx.new_page(), await agent_ctx.new_page()
        for page in (visitor, agent):
            collect_errors(page, errors, console=True, http=True)

        # the agent signs in first and waits for work
        resp = await agent.goto(f"{base}/console/")
        assert resp is not None and "script-src 'self'" in resp.headers["content-security-policy"]
        await agent.get_by_label("API key").fill(key)
        await agent.get_by_role("button", name="Sign in").click()
        await expect(agent.locator("#who")).to_have_text("alice (agent)")
        await expect(agent.locator("#live")).to_have_text("live")
        assert key not in agent.url
        await shot(agent, "agent-signed-in")

        # 1. the visitor chats with the bot and is escalated
        await visitor.goto(f"{base}/chat/{ACCOUNT}/")
        await visitor.get_by_role("button", name="Chat with us").click()
        await visitor.wait_for_function("() => window.omnisdkWebchat && window.omnisdkWebchat.state().session")
        box = visitor.get_by_role("textbox", name="Message")
        log = visitor.get_by_role("log", name="Conversation")
        await box.fill("Where is my parcel?")
        await box.press("Enter")
        await expect(log).to_contain_text("What is your order number?", timeout=15_000)
        await box.fill("It is 4411")
        await box.press("Enter")
        await expect(log).to_contain_text("passing order 4411 to an agent", timeout=15_000)
        await shot(visitor, "visitor-escalated")

        # 2. the offer arrives in the console live; the agent accepts and sees the bot's transcript
        offer = agent.locator("#inbox li")
        await expect(offer).to_have_count(1, timeout=15_000)
        await expect(offer).to_contain_text("chat")
        await shot(agent, "agent-offer")
        await offer.get_by_role("button", name="Accept").click()
        await expect(agent.locator("#conv-meta")).to_contain_text("work_in_progress")
        messages = agent.get_by_role("log", name="Messages")
        await expect(messages).to_contain_text("Where is my parcel?")
        await expect(messages).to_contain_text("What is your order number?")
        await expect(messages).to_contain_text("It is 4411")
        await expect(agent.locator("#conv-context")).to_contain_text("4411")
        [inter] = [i for i in await runtime.interactions() if i.channel == "chat"]
        assert inter.state is S.WORK_IN_PROGRESS and inter.agent == "alice"
        await shot(agent, "agent-accepted")

        # the agent replies; the visitor's widget shows it
        await agent.get_by_label("Reply").fill("Sorry about that! Order 4411 arrives tomorrow.")
        await agent.get_by_role("button", name="Send").click()
        await expect(log).to_contain_text("Agent: Sorry about that! Order 4411 arrives tomorrow.", timeout=15_000)
        await shot(visitor, "visitor-sees-reply")

        # the visitor writes again: the agent's open conversation shows it live
        await box.fill("Great, thanks")
        await box.press("Enter")
        await expect(messages).to_contain_text("Great, thanks", timeout=15_000)
        await expect(agent.locator("#ongoing .flag")).to_have_count(0)  # it is open: nothing flagged

        # the AI summary, then a case from the chat (which closes it with "Task created")
        await agent.get_by_role("button", name="AI summary").click()
        await expect(agent.locator("#summary")).not_to_be_empty()
        await agent.get_by_label("Case subject").fill("Parcel 4411 late")
        await agent.get_by_role("button", name="Create case").click()
        await expect(agent.locator("#case-info")).to_contain_text("Parcel 4411 late · new", timeout=15_000)
        await expect(agent.locator("#conv-meta")).to_contain_text("closed")
        # the bot's turns are told apart from the agent's
        await expect(messages).to_contain_text("Bot: Thanks, I am passing order 4411 to an agent.")
        await expect(messages).to_contain_text("Agent: Sorry about that!")
        await shot(agent, "agent-case-created")
        # the case form moves the case on
        case_form = agent.get_by_role("form", name="Case")
        await case_form.get_by_label("Case state").select_option("in_progress")
        await case_form.get_by_role("button", name="Update case").click()
        await expect(agent.locator("#case-info")).to_contain_text("Case CS0000001 · Parcel 4411 late · in_progress")

        # the visitor ends the chat and answers the survey
        await visitor.get_by_role("button", name="End chat").click()
        await visitor.get_by_role("radio", name="5").check()
        await visitor.get_by_role("textbox", name="Comment").fill("Quick help")
        await visitor.get_by_role("button", name="Send survey").click()
        await expect(visitor.get_by_role("status")).to_contain_text("Thank you", timeout=15_000)
        await shot(visitor, "visitor-survey")

        async def done():
            found, _, _ = await runtime.interaction(inter.id)
            return "survey" in found.context and found

        found = await wait_for(done, 15.0)
        assert found.state is S.CLOSED and found.wrap_up_code == "Task created" and found.case_id
        assert found.context["survey"]["score"] == 5

        # 3. the agent sends the resolution from the case by email (the email plugin, SMTP)
        resolution = agent.get_by_role("form", name="Resolution")
        await resolution.get_by_label("Resolution").fill("Order 4411 was delivered to your door today.")
        await resolution.get_by_label("Customer email").fill(CUSTOMER_MAIL)
        await resolution.get_by_role("button", name="Send resolution by email").click()
        await expect(agent.locator("#case-info")).to_contain_text("solution_proposed", timeout=15_000)
        await expect(resolution).to_be_hidden()  # proposed: nothing more to send

        async def resolution_mail():
            return next((m for m in mails.mails if "Our solution" in str(m["Subject"])), None)

        sent = await wait_for(resolution_mail, 15.0)
        assert sent["To"].addresses[0].addr_spec == CUSTOMER_MAIL
        assert sent["Subject"] == "Our solution for case CS0000001 [Case:CS0000001]"
        assert "Order 4411 was delivered to your door today." in text_of(sent)
        assert f"{base}/links/cases/" in text_of(sent)
        case_view = agent.get_by_role("log", name="Case interactions")
        await expect(case_view).to_contain_text("Order 4411 was delivered to your door today.", timeout=15_000)
        await shot(agent, "agent-resolution-sent")

        # 4. the customer's Accept reply (the recorded Gmail reply, threaded to our mail by
        # In-Reply-To and References) closes the case; the case shows the chat and the mail
        our_id = sent["Message-ID"].strip("<>")
        await _post_mail(base, runtime, _accept_reply(our_id))
        await expect(agent.locator("#case-info")).to_contain_text("· closed", timeout=15_000)
        history = agent.get_by_role("list", name="Case history")
        await expect(history).to_contain_text("solution_proposed → resolved · by customer · the customer replied ACCEPT by mail")
        await expect(history).to_contain_text("resolved → closed · by core")
        await expect(case_view).to_contain_text("Where is my parcel?")  # the chat, bot turns and all
        await expect(case_view).to_contain_text("Bot: Thanks, I am passing order 4411 to an agent.")
        await expect(case_view).to_contain_text("Sorry about that! Order 4411 arrives tomorrow.")
        await expect(case_view).to_contain_text("Accept")  # the customer's mail
        await expect(case_view.locator("h4")).to_have_count(2)
        await expect(case_view.locator("h4").nth(1)).to_contain_text("email · outbound")
        await shot(agent, "agent-case-closed")
        # a supervisor signs in on the same browser: queues and agents' occupancy
        supervisor_key = await api_access.api_key(runtime, "supervisor", name="lead-console")
        await agent.get_by_role("button", name="Sign out").click()
        await agent.get_by_label("API key").fill(supervisor_key)
        await agent.get_by_role("button", name="Sign in").click()
        await expect(agent.locator("#who")).to_contain_text("(supervisor)")
        await agent.get_by_role("tab", name="Supervisor").click()
        await expect(agent.locator("#queues tbody tr")).to_have_count(1)
        await expect(agent.locator("#queues tbody")).to_contain_text("support")
        agents_table = agent.locator("#agents tbody")
        await expect(agents_table.locator("tr")).to_have_count(2)
        await expect(agents_table.locator("tr").filter(has_text="alice")).to_contain_text("available")
        await expect(agent.locator("#stats")).not_to_be_empty()
        await shot(agent, "supervisor-view")

        [case] = (await runtime.page_cases(limit=10)).items
        assert case.state == "closed" and inter.id in case.interaction_ids and case.contacts == [CUSTOMER_MAIL]
        assert [h.to_state for h in case.state_history] == ["in_progress", "solution_proposed", "resolved", "closed"]
        assert errors == []


@pytest.fixture
async def mail_and_whatsapp(tmp_path):
    """A gateway (uvicorn, loopback) with one email and one WhatsApp account (their example
    settings); returns the base URL, the runtime and the adapters by plugin name."""
    email = pytest.importorskip("omnisdk_email")
    whatsapp = pytest.importorskip("omnisdk_whatsapp")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    classes = {"email": email.EmailAdapter, "whatsapp": whatsapp.WhatsAppAdapter}
    env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)
    try:
        settings = Settings(store={"url": f"sqlite:///{tmp_path / 'console.db'}"}, gateway={"public_url": base},
                            routing={"queues": [{"name": "support"}],
                                     "agents": [{"id": "alice", "capacity": {"email": 2, "whatsapp": 2}}]},
                            accounts={name: {"acme": cls.example_settings()} for name, cls in classes.items()})
    finally:
        if env_file is not None:
            os.environ["OMNISDK_CONFIG_FILE"] = env_file
    host = PluginHost()
    host.load_entrypoints()
    runtime = Runtime(settings, host=host)
    async with serve_in_task(create_app(runtime), port=port, lifespan="on"):
        yield base, runtime, {name: runtime.adapter(name, "acme") for name in classes}


async def test_an_email_and_a_whatsapp_conversation_are_handled_from_the_console(mail_and_whatsapp, tmp_path):
    """Test 2: a real Gmail reply (its quote collapsed, the threading decision shown) and a real
    WhatsApp Cloud API text message, both recorded (the plugins' recordings/SOURCES.md), posted
    signed to the gateway; the agent works both from the console, and the one not on screen is
    flagged when the customer writes again."""
    require_browser()
    import httpx
    from playwright.async_api import expect

    from omnisdk import recordings

    base, runtime, adapters = mail_and_whatsapp
    key = await api_access.api_key(runtime, "agent", agent="alice", name="alice-console")

    def recorded(plugin: str, name: str) -> recordings.Recording:
        [rec] = [r for r in recordings.load(Path(adapters[plugin].recordings)) if r.name == name]
        return rec

    async def post(http: httpx.AsyncClient, plugin: str, body: bytes, content_type: str) -> None:
        url = f"{base}/webhooks/{plugin}/acme"
        resp = await http.post(url, content=body, headers={"content-type": content_type,
                                                            **adapters[plugin].sign(url, body, content_type)})
        assert resp.status_code == 200, resp.text

    mail = recorded("email", "reply_gmail")
    wa = recorded("whatsapp", "real_text_message")
    async with httpx.AsyncClient(timeout=10) as http, chromium() as browser:
        await post(http, "email", mail.body, mail.content_type)
        await post(http, "whatsapp", wa.body, wa.content_type)
        page = await browser.new_page()
        errors = collect_errors(page, [], http=True)
        await page.goto(f"{base}/console/")
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        offers = page.locator("#inbox li")
        await expect(offers).to_have_count(2, timeout=15_000)
        await page.screenshot(path=str(tmp_path / "01-two-offers.png"), full_page=True)

        # the WhatsApp chat: accepted from the inbox, held, resumed
        await offers.filter(has_text="whatsapp").get_by_role("button", name="Accept").click()
        await expect(page.locator("#conv-title")).to_contain_text("whatsapp")
        await expect(page.get_by_role("log", name="Messages")).to_contain_text("Hey there! I am using PyWa.")
        await expect(page.locator("#conv-meta")).to_contain_text("work_in_progress")
        await page.get_by_role("button", name="Hold", exact=True).click()
        await expect(page.locator("#conv-meta")).to_contain_text("on_hold")
        await page.get_by_role("button", name="Resume", exact=True).click()
        await expect(page.locator("#conv-meta")).to_contain_text("work_in_progress")
        await page.screenshot(path=str(tmp_path / "02-whatsapp.png"), full_page=True)

        # the email: accepted, its quote collapsed, the threading rule shown
        await page.get_by_role("tab", name="Inbox").click()
        await expect(offers).to_have_count(1)
        await offers.get_by_role("button", name="Accept").click()
        await expect(page.locator("#conv-title")).to_contain_text("email")
        messages = page.get_by_role("log", name="Messages")
        await expect(messages).to_contain_text("This is a test for inbox replying to a github message.")
        quote = messages.locator("details")
        await expect(quote).to_have_count(1)
        assert await quote.get_attribute("open") is None  # collapsed
        assert not await quote.locator("pre").is_visible()
        await expect(messages.locator(".threading")).to_contain_text("threading: ")
        [email_inter] = [i for i in await runtime.interactions() if i.channel == "email"]
        await page.get_by_label("Reply").fill("Thanks Steven, the footer shows the version now.")
        async with page.expect_response(lambda r: r.url.endswith(f"/v1/interactions/{email_inter.id}/reply")) as sent:
            await page.get_by_role("button", name="Send").click()
        answer = await sent.value
        assert answer.status == 202 and (await answer.json())["idempotency_key"]
        request = answer.request
        assert request.headers["idempotency-key"] and request.headers["x-api-key"] == key
        assert key not in request.url
        assert request.post_data_json == {"text": "Thanks Steven, the footer shows the version now."}
        await expect(page.locator("#action-error")).to_be_empty()

        # the WhatsApp customer writes again while the email is on screen: flagged "new"
        # (the recorded message with another id and text, signed as Meta signs it)
        again = wa.body.replace(b"wamid.HBgMOTcyNTQ0NDAxMjQz", b"wamid.HBgMOTcyNTQ0NDAxMjQ0") \
            .replace(b"Hey there! I am using PyWa.", b"Any news?")
        await post(http, "whatsapp", again, wa.content_type)
        wa_item = page.locator("#ongoing li").filter(has_text="whatsapp")
        await expect(wa_item.locator(".flag")).to_have_text("new", timeout=15_000)
        await expect(page.locator("#ongoing li").filter(has_text="email").locator(".flag")).to_have_count(0)
        await page.screenshot(path=str(tmp_path / "03-email-and-flag.png"), full_page=True)

        # the email closes with a wrap-up code; opening the chat clears its flag
        await page.get_by_label("Wrap-up code").select_option("Issue resolved")
        await page.get_by_role("button", name="Close").click()
        await expect(page.locator("#conv-meta")).to_contain_text("closed")
        await wa_item.get_by_role("button").first.click()
        await expect(messages).to_contain_text("Any news?")
        await expect(wa_item.locator(".flag")).to_have_count(0)
        [wa_inter] = [i for i in await runtime.interactions() if i.channel == "whatsapp"]
        assert wa_inter.state is S.WORK_IN_PROGRESS and wa_inter.agent == "alice"
        found, history, _ = await runtime.interaction(email_inter.id)
        assert found.state is S.CLOSED and found.wrap_up_code == "Issue resolved"
        assert [h["to_state"] for h in history][-1] == "closed"
        assert errors == []


@pytest.fixture
async def oidc_gateway(tmp_path):
    """A gateway (uvicorn, loopback) whose console signs people in at a fake identity provider
    (tests/plugins_for_tests/fake_idp.py, its own loopback port): ``[api.oidc]`` and
    ``[api.oidc.console]`` with the endpoints discovered.  Yields the base URL and the IdP."""
    from fake_idp import FakeIdP

    port, idp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    idp = FakeIdP(issuer=f"http://127.0.0.1:{idp_port}", client_id="omnisdk-console",
                  redirect_uris=[f"{base}/console/"],
                  users={"alice": {"preferred_username": "alice", "roles": ["agent"]}})
    env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)
    try:
        settings = Settings(store={"url": f"sqlite:///{tmp_path / 'oidc.db'}"}, gateway={"public_url": base},
                            routing={"queues": [{"name": "support"}], "agents": [{"id": "alice"}]},
                            api={"oidc": {"issuer": idp.issuer, "audience": "omnisdk",
                                          "agent_claim": "preferred_username",
                                          "console": {"client_id": "omnisdk-console"}}})
    finally:
        if env_file is not None:
            os.environ["OMNISDK_CONFIG_FILE"] = env_file
    async with serve_in_task(idp.app(), port=idp_port), \
            serve_in_task(create_app(Runtime(settings)), port=port, lifespan="on"):
        yield base, idp


async def test_an_agent_signs_in_at_the_identity_provider_with_pkce(oidc_gateway, tmp_path, caplog):
    """The console's OIDC sign-in in a real browser: the button sends the agent to the
    identity provider with an S256 challenge and a state; back on /console/ the code leaves the
    address bar at once, the gateway redeems it with the verifier, and the access token is kept in
    sessionStorage only: in no URL the browser requested, in no log line."""
    require_browser()
    import logging

    from fake_idp import s256
    from playwright.async_api import expect

    caplog.set_level(logging.DEBUG)
    base, idp = oidc_gateway
    async with chromium() as browser:
        urls: list[str] = []
        page = await browser.new_page()
        errors = collect_errors(page, [], http=True)
        page.on("request", lambda r: urls.append(r.url))
        await page.goto(f"{base}/console/")
        await page.get_by_role("button", name="Sign in with your identity provider").click()
        await page.wait_for_url(f"{idp.issuer}/authorize?*")
        [asked] = idp.authorize_requests
        assert (asked["response_type"], asked["client_id"], asked["redirect_uri"], asked["code_challenge_method"],
                asked["scope"]) == ("code", "omnisdk-console", f"{base}/console/", "S256", "openid profile")
        assert len(asked["state"]) >= 16 and asked["nonce"]
        await page.screenshot(path=str(tmp_path / "01-identity-provider.png"), full_page=True)
        await page.get_by_role("button", name="Sign in as alice").click()

        await expect(page.locator("#who")).to_have_text("alice (agent)", timeout=15_000)
        await expect(page.locator("#live")).to_have_text("live")
        assert page.url == f"{base}/console/"  # the code and state left the address bar
        [redeemed] = idp.token_requests
        assert s256(redeemed["code_verifier"]) == asked["code_challenge"]  # the verifier of that challenge
        [token] = idp.issued
        stored = await page.evaluate("() => JSON.parse(sessionStorage.getItem('omnisdk.console.credential'))")
        assert stored == {"kind": "bearer", "value": token}
        assert await page.evaluate("() => sessionStorage.getItem('omnisdk.console.pkce')") is None
        assert await page.evaluate("() => localStorage.length") == 0
        await page.screenshot(path=str(tmp_path / "02-signed-in.png"), full_page=True)

        await page.reload()  # the tab keeps the sign-in
        await expect(page.locator("#who")).to_have_text("alice (agent)")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("button", name="Sign in with your identity provider")).to_be_visible()
        assert await page.evaluate("() => sessionStorage.length") == 0

        # a redirect this tab did not start (a forged or replayed one) signs nobody in
        await page.goto(f"{base}/console/?code=forged&state=not-ours")
        await expect(page.locator("#login-error")).to_contain_text("did not start here")
        assert page.url == f"{base}/console/"
        assert len(idp.token_requests) == 1
        assert not [u for u in urls if token in u]  # the token: in no URL at all
        # the code: only in the identity provider's redirect back to /console/ (one use, PKCE-bound)
        assert [u for u in urls if redeemed["code"] in u] == [f"{base}/console/?code={redeemed['code']}&state={asked['state']}"]
        assert token not in caplog.text and redeemed["code_verifier"] not in caplog.text
        assert errors == []
