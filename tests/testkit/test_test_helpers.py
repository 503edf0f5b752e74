"""The kit's helpers for a plugin's own tests: a missing service skips (fails in CI), polling
returns the first truthy answer or fails, a page's errors are collected (the favicon's are not
exercised: Chromium here refuses a page's fetch of a ``favicon.ico`` before any answer), and
the free ports are free."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from omnisdk.testkit import ports
from omnisdk.testkit.asgi_server import serve_in_task
from omnisdk.testkit.browser import chromium, collect_errors, require_browser
from omnisdk.testkit.polling import wait_for
from omnisdk.testkit.ports import free_port, free_port_pair
from omnisdk.testkit.services import REQUIRE_SERVICES, require_service


def test_a_missing_service_skips_locally_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv(REQUIRE_SERVICES, raising=False)
    with pytest.raises(pytest.skip.Exception, match="nats-server unavailable: not on PATH"):
        require_service("nats-server", "not on PATH")
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    with pytest.raises(pytest.fail.Exception, match="nats-server is required in CI: not on PATH"):
        require_service("nats-server", "not on PATH")


async def test_wait_for_returns_the_first_truthy_answer():
    answers = iter([None, [], 0, "ready", "later"])

    async def next_answer():
        return next(answers)

    assert await wait_for(next_answer, interval=0) == "ready"


async def test_wait_for_takes_a_plain_function_too():
    answers = iter([None, "", "ready"])
    assert await wait_for(lambda: next(answers), interval=0) == "ready"


async def test_wait_for_fails_when_nothing_comes_in_time():
    async def never():
        return False

    with pytest.raises(AssertionError, match="timed out waiting"):
        await wait_for(never, timeout=0.05, interval=0.01)


async def test_collect_errors_gathers_script_errors_and_with_its_options_console_errors_and_4xx():
    require_browser()
    page_html = (
        "<script>console.error('logged');"
        " fetch('/missing').catch(() => {});"
        " setTimeout(() => { throw new Error('thrown'); });</script>"
    )

    async def answer(route):
        if route.request.url == "http://test.invalid/":
            await route.fulfill(status=200, content_type="text/html", body=page_html)
        else:
            await route.fulfill(status=404, body="no")

    async with chromium() as browser:
        page, quiet = await browser.new_page(), await browser.new_page()
        errors = collect_errors(page, [], console=True, http=True)
        only_scripts = collect_errors(quiet, [])
        for p in (page, quiet):
            await p.route("http://test.invalid/**", answer)
            await p.goto("http://test.invalid/")
        wanted = {"logged http://test.invalid/", "thrown", "404 http://test.invalid/missing"}
        await wait_for(lambda: _has(errors, wanted), 5.0)
        await wait_for(lambda: _has(only_scripts, {"thrown"}), 5.0)

    assert only_scripts == ["thrown"]


async def _has(items: list[str], wanted: set[str]) -> bool:
    return wanted <= set(items)


def test_free_port_is_a_port_a_server_can_bind():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert s.getsockname()[1] == port


def test_free_port_pair_gives_two_consecutive_bindable_ports():
    port = free_port_pair()
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", port))
        b.bind(("127.0.0.1", port + 1))


def test_free_port_pair_refuses_a_port_whose_next_one_is_taken(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(ports, "free_port", lambda host: taken.getsockname()[1] - 1)
        with pytest.raises(
            RuntimeError, match="no two free consecutive ports on 127.0.0.1 in 3 tries"
        ):
            free_port_pair(attempts=3)


async def test_serve_in_task_answers_on_its_url_until_the_block_ends():
    async def hello(request):
        return PlainTextResponse("hello")

    async with serve_in_task(Starlette(routes=[Route("/", hello)])) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(url)).text == "hello"
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(trust_env=False) as http:
            await http.get(url)


async def test_serve_in_task_raises_when_the_app_does_not_start():
    async def refuses(scope, receive, send):
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(RuntimeError, match="uvicorn stopped before it started"):
        async with serve_in_task(refuses, lifespan="on"):
            pytest.fail("the block ran")


async def test_serve_in_task_gives_up_on_a_startup_that_never_ends():
    async def hangs(scope, receive, send):
        await asyncio.Event().wait()

    with pytest.raises(AssertionError, match="timed out waiting 0.2 s"):
        async with serve_in_task(hangs, lifespan="on", start_within=0.2):
            pytest.fail("the block ran")


async def test_serve_in_task_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            async with serve_in_task(Starlette(), port=taken.getsockname()[1]):
                pytest.fail("the block ran")


def test_stop_processes_terminates_kills_what_ignores_it_and_skips_the_exited():
    import subprocess
    import sys

    from omnisdk.testkit.processes import stop_processes

    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
                                 "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline().strip() == "ready"  # SIGTERM is ignored from here on
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert stop_processes([polite, stubborn, done], grace=1.0) == [-15, -9, 0]
