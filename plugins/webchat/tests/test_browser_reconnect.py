"""Issue 14's browser Test 3: a reconnect in the middle of a chat loses no message on either side.

Debian's Chromium (``/usr/bin/chromium``, Playwright's ``executable_path``; no browser is ever
downloaded) opens the sample portal page and chats.  Then the visitor's network drops
(``BrowserContext.set_offline``, which blocks new connections and fetches, and the open WebSocket
is closed under the widget), and while it is down the agent
replies twice through the agent API (``POST /v1/interactions/{id}/reply``, an agent's API key) and the visitor types a message.  The
network comes back; the widget reconnects and resends.  Every message arrives exactly once, in
order, on both sides: the widget's conversation log shows each agent reply once, and the
interaction's messages in the agent API (``GET /v1/interactions/{id}``) hold each visitor message once.  Skips locally without
Chromium or playwright; fails in CI (``OMNISDK_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio

import httpx
from webchat_rig import Chat

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.events import now_rfc3339
from omnisdk.model import InteractionState as S
from omnisdk.testkit.browser import chromium, collect_errors, require_browser

VISITOR = ["Hello, my parcel has not arrived", "I am still here, any news?", "Thanks, bye"]
AGENT = ["Let me check that for you.", "It left the depot this morning.", "It arrives tomorrow."]


async def _log_lines(page) -> list[str]:
    return await page.eval_on_selector_all('[role="log"] > *', "els => els.map(e => e.textContent)")


async def _agent_api(chat: Chat) -> httpx.AsyncClient:
    """A client of the agent API (``/v1``) with an API key of agent alice."""
    key, row = new_api_key(name="alice-reconnect", role=Role("agent"), agent="alice", created_at=now_rfc3339())
    await chat.runtime.store.transact(lambda tx: tx.save_api_key(row))
    return httpx.AsyncClient(base_url=f"{chat.base}/v1", timeout=30,
                             headers={"x-api-key": key, "content-type": "application/json"})


async def test_a_reconnect_mid_chat_loses_and_doubles_no_message(chat: Chat, tmp_path):
    require_browser()
    from playwright.async_api import expect

    api = await _agent_api(chat)

    async def reply(text: str) -> None:
        resp = await api.post(f"/interactions/{inter.id}/reply", json={"text": text})
        assert resp.status_code == 202, resp.text

    async def messages(direction: str) -> list[str | None]:
        resp = await api.get(f"/interactions/{inter.id}")
        assert resp.status_code == 200, resp.text
        return [m["body"].get("text") for m in resp.json()["messages"] if m["direction"] == direction]

    async with api, chromium() as browser:
        context = await browser.new_context()
        # Keep a handle on the widget's sockets, to tear the open one down when the network drops
        # (Chromium's offline emulation blocks new connections but leaves an open socket up).
        await context.add_init_script(
            "(() => { const W = window.WebSocket; window.__sockets = [];"
            " window.WebSocket = function (u, p) { const s = new W(u, p); window.__sockets.push(s); return s; };"
            " window.WebSocket.prototype = W.prototype; })()")
        page = await context.new_page()
        errors = collect_errors(page, [])
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws))
        await page.goto(f"{chat.root}/")
        await page.get_by_role("button", name="Chat with us").click()
        await page.wait_for_function("() => window.omnisdkWebchat && window.omnisdkWebchat.state().session")
        box = page.get_by_role("textbox", name="Message")
        log = page.get_by_role("log", name="Conversation")
        await box.fill(VISITOR[0])
        await box.press("Enter")
        await expect(log).to_contain_text(f"You: {VISITOR[0]}", timeout=15_000)

        async def offered():
            items = await chat.runtime.interactions()
            return items and items[0].state is S.OFFERED and items[0]

        inter = await chat.wait_for(offered)
        resp = await api.post(f"/interactions/{inter.id}/accept", json={})
        assert resp.status_code == 200, resp.text
        await reply(AGENT[0])
        await expect(log).to_contain_text(f"Agent: {AGENT[0]}", timeout=15_000)
        await page.screenshot(path=str(tmp_path / "reconnect-1-before.png"))

        # The connection drops: the socket closes and the widget cannot reach the gateway.
        first = sockets[-1]
        await context.set_offline(True)
        await page.evaluate("() => window.__sockets[window.__sockets.length - 1].close(4000, 'network down')")
        async def closed():
            return first.is_closed()

        await chat.wait_for(closed, timeout=15)
        await reply(AGENT[1])
        await box.fill(VISITOR[1])
        await box.press("Enter")
        await reply(AGENT[2])
        await asyncio.sleep(3)  # the widget's retries fail while offline
        lines = await _log_lines(page)
        assert f"Agent: {AGENT[1]}" not in lines  # really down: nothing reached the widget
        await page.screenshot(path=str(tmp_path / "reconnect-2-offline.png"))

        await context.set_offline(False)
        await expect(log).to_contain_text(f"Agent: {AGENT[2]}", timeout=20_000)
        await expect(log).to_contain_text(f"You: {VISITOR[1]}", timeout=20_000)

        async def visitor_two_stored():
            return VISITOR[1] in await messages("inbound")

        assert await chat.wait_for(visitor_two_stored, timeout=20)
        # One more exchange after the reconnect, on whatever transport the widget now uses.
        await box.fill(VISITOR[2])
        await box.press("Enter")

        async def visitor_three_stored():
            return VISITOR[2] in await messages("inbound")

        assert await chat.wait_for(visitor_three_stored, timeout=20)
        await asyncio.sleep(2)  # room for a late duplicate (a resend, a replayed frame)
        await page.screenshot(path=str(tmp_path / "reconnect-3-after.png"))

        lines = await _log_lines(page)
        agent_lines = [line for line in lines if line.startswith("Agent: ")]
        visitor_lines = [line for line in lines if line.startswith("You: ")]
        assert agent_lines == [f"Agent: {t}" for t in AGENT], lines
        assert visitor_lines == [f"You: {t}" for t in VISITOR], lines
        assert await messages("inbound") == VISITOR
        assert await messages("outbound") == AGENT
        assert errors == []
