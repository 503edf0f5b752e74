"""One real-browser test: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright opens
the sample portal page, chats through the widget with the keyboard, and sees the agent's reply.

Playwright never downloads a browser here: it is given ``executable_path``.  Without Chromium or
the ``playwright`` package the test skips with the reason; in CI (``OMNISDK_REQUIRE_SERVICES=1``,
set by ``.ci/run``, which installs ``chromium``) it fails instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from webchat_rig import Chat

from omnisdk.adapters import WebhookRequest
from omnisdk.events import now_rfc3339
from omnisdk.model import InteractionState as S
from omnisdk.testkit.browser import chromium, collect_errors, require_browser


def _check_widget_frames(chat: Chat, sent: list[str]) -> None:
    """The frames the widget really sent verify and parse with the adapter, and have the shape of
    the shipped recordings (recordings/SOURCES.md)."""
    token = json.loads(sent[0])["token"]
    envelopes = [json.loads(p) for p in sent[1:]]
    messages = [e for e in envelopes if json.loads(e["frame"])["type"] == "message"]
    assert messages, sent
    recorded = json.loads((Path(chat.adapter.recordings) / "message_text.json").read_text())
    for envelope in messages:
        body = envelope["frame"].encode()
        assert set(json.loads(body)) == set(recorded)
        request = WebhookRequest("POST", f"{chat.root}/frames", {"authorization": f"Bearer {token}",
                                 "x-webchat-signature": envelope["signature"]}, body, received_at=now_rfc3339())
        chat.adapter.verify(request)
        [event] = chat.adapter.parse(request)
        assert event.data["text"] == "Hello, my parcel has not arrived"


async def test_a_visitor_chats_in_a_real_browser_and_sees_the_agents_reply(chat: Chat, tmp_path):
    require_browser()
    from playwright.async_api import expect

    async with chromium() as browser:
        page = await browser.new_page()
        errors = collect_errors(page, [])
        sent: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
        await page.goto(f"{chat.root}/")
        launcher = page.get_by_role("button", name="Chat with us")
        await launcher.focus()
        await page.keyboard.press("Enter")  # keyboard only
        box = page.get_by_role("textbox", name="Message")
        await expect(box).to_be_focused()
        await page.wait_for_function("() => window.omnisdkWebchat && window.omnisdkWebchat.state().session")
        await box.type("Hello, my parcel has not arrived")
        await page.keyboard.press("Enter")
        log = page.get_by_role("log", name="Conversation")
        await expect(log).to_contain_text("You: Hello, my parcel has not arrived", timeout=15_000)

        async def offered():
            items = await chat.runtime.interactions()
            return items and items[0].state is S.OFFERED and items[0]

        inter = await chat.wait_for(offered)
        assert inter.customer.startswith("v_")
        await chat.runtime.accept(inter.id, "alice")
        await chat.runtime.reply(inter.id, "Sorry about that! It arrives tomorrow.", agent="alice")
        await expect(log).to_contain_text("Agent: Sorry about that! It arrives tomorrow.", timeout=15_000)
        await page.screenshot(path=str(tmp_path / "webchat-reply.png"))
        assert (await page.evaluate("() => window.omnisdkWebchat.state().mode")) == "socket"
        assert errors == []
        _check_widget_frames(chat, sent)

        async def read():
            _, _, messages = await chat.runtime.interaction(inter.id)
            out = [m for m in messages if m["direction"] == "outbound"]
            return out and out[0]["status"] == "read"

        assert await chat.wait_for(read)  # the widget's read receipt, the panel being open

