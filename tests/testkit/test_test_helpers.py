"""The kit's helpers for a plugin's own tests: a missing service skips (fails in CI), polling
returns the first truthy answer or fails, and a page's errors are collected (the favicon's
are not exercised: Chromium here refuses a page's fetch of a ``favicon.ico`` before any answer)."""

from __future__ import annotations

import pytest

from omnisdk.testkit.browser import chromium, collect_errors, require_browser
from omnisdk.testkit.polling import wait_for
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
