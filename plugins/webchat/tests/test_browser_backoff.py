"""The widget's reconnects in the real browser (Debian's Chromium, as ``test_browser.py``): refused
with close 1008 (more sockets from the address than ``sockets_per_address``) it backs off, 1 s
doubling with jitter, instead of trying every second, and connects once a place is free; refused
a session it cannot use (close 4401 for every session the gateway hands out) it asks for one new
session and then stops, instead of looping; closed with 4413 for a frame above the socket's
limit it drops that frame, so the next message goes through.  Connection attempts are counted from the browser's
own WebSocket events over a bounded time.  Skips locally without Chromium or playwright; fails in
CI (``OMNISDK_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import websockets
from webchat_rig import new_visitor, running_chat

from omnisdk.testkit.browser import chromium, collect_errors

WINDOW = 8.0
"""Seconds the refused widget is watched: a retry every second would make about 8 attempts; the
backoff (waits of 0.5–1, 1–2, 2–4, 4–8 s) makes 4, at most 5."""


async def test_a_widget_refused_with_1008_backs_off_and_connects_once_a_place_is_free(tmp_path: Path):
    from playwright.async_api import expect

    async with running_chat(tmp_path, sockets_per_address=1) as chat:
        async with httpx.AsyncClient(timeout=30) as http:
            holder = await new_visitor(http, chat)
        other_tab = await websockets.connect(f"{chat.ws_root}/socket")  # the address's one place
        await other_tab.send(json.dumps({"type": "hello", "token": holder.token}))
        assert json.loads(await asyncio.wait_for(other_tab.recv(), 5))["type"] == "welcome"

        async with chromium() as browser:
            page = await browser.new_page()
            errors = collect_errors(page, [])
            attempts: list[float] = []
            page.on("websocket", lambda ws: attempts.append(time.monotonic()))
            await page.goto(f"{chat.root}/")
            await page.get_by_role("button", name="Chat with us").click()
            await chat.wait_for(lambda: _true(attempts))
            box = page.get_by_role("textbox", name="Message")
            await box.fill("Hello, is anyone there?")
            await box.press("Enter")  # kept until a socket takes it
            await asyncio.sleep(WINDOW - (time.monotonic() - attempts[0]))
            seen = [t - attempts[0] for t in attempts]
            assert 3 <= len(seen) <= 5, seen
            gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
            assert all(later >= earlier - 0.25 for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps
            assert gaps[-1] >= 1.0, gaps  # the waits grew past the first second
            assert await page.evaluate("() => window.omnisdkWebchat.state().mode") == "socket"
            assert chat.runtime.metrics.webhooks.counts[("webchat", "rejected", "too_many_connections")] \
                == len(attempts)

            await other_tab.close()  # the other tab goes: the widget's next attempt is welcome
            log = page.get_by_role("log", name="Conversation")
            await expect(log).to_contain_text("You: Hello, is anyone there?", timeout=30_000)

            async def stored():
                return len(await chat.runtime.interactions()) == 1

            assert await chat.wait_for(stored, timeout=15)
            assert errors == []


async def test_a_session_the_gateway_refuses_is_renewed_once_then_the_widget_stops(chat, tmp_path: Path):
    from playwright.async_api import expect

    async with chromium() as browser:
        page = await browser.new_page()
        errors = collect_errors(page, [])
        sessions: list[float] = []

        async def spoiled(route):  # every session's token fails the socket's check (close 4401)
            sessions.append(time.monotonic())
            answer = await route.fetch()
            doc = await answer.json()
            await route.fulfill(response=answer, json={**doc, "token": doc["token"][:-4] + "AAAA"})

        await page.route(f"{chat.root}/session", spoiled)
        closes: list[int | None] = []
        page.on("websocket", lambda ws: ws.on("close", lambda _ws: closes.append(1)))
        await page.goto(f"{chat.root}/")
        await page.get_by_role("button", name="Chat with us").click()
        status = page.get_by_role("status")
        await expect(status).to_contain_text("Chat unavailable", timeout=15_000)
        stopped_at = time.monotonic()
        await asyncio.sleep(3.0)  # a loop would go on meanwhile: each round is a session and a socket
        assert len(sessions) == 2 and len(closes) == 2, (sessions, closes)
        assert all(t <= stopped_at for t in sessions)
        assert await page.evaluate("() => window.omnisdkWebchat.state().mode") == "closed"
        assert errors == []
    assert await chat.runtime.interactions() == []


async def test_a_frame_closed_with_4413_is_dropped_and_the_next_one_goes_through(chat, tmp_path: Path):
    from playwright.async_api import expect

    async with chromium() as browser:
        context = await browser.new_context()
        await context.add_init_script(  # the close codes the widget's sockets saw
            "(() => { const W = window.WebSocket; window.__closes = [];"
            " window.WebSocket = function (u, p) { const s = new W(u, p);"
            " s.addEventListener('close', e => window.__closes.push(e.code)); return s; };"
            " window.WebSocket.prototype = W.prototype; })()")
        page = await context.new_page()
        errors = collect_errors(page, [])
        await page.goto(f"{chat.root}/")
        await page.get_by_role("button", name="Chat with us").click()
        await page.wait_for_function("() => window.omnisdkWebchat && window.omnisdkWebchat.state().session")
        # an attachment whose frame is above the socket's limit (max_frame_bytes, 256 KiB)
        await page.get_by_label("Attach a file").set_input_files(
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * 400_000})
        await page.get_by_role("button", name="Send message").click()
        await page.wait_for_function("() => window.__closes.includes(4413)")
        box = page.get_by_role("textbox", name="Message")
        await box.fill("Sorry, here it is as text")
        await box.press("Enter")
        log = page.get_by_role("log", name="Conversation")
        await expect(log).to_contain_text("You: Sorry, here it is as text", timeout=20_000)
        assert await page.evaluate("() => window.__closes") == [4413]  # the big frame was not sent again
        [inter] = await chat.runtime.interactions()
        _, _, messages = await chat.runtime.interaction(inter.id)
        assert [m["body"].get("text") for m in messages] == ["Sorry, here it is as text"]
        assert errors == []


async def _true(value) -> bool:
    return bool(value)
