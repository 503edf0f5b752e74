"""Real-browser tests: Debian's Chromium driven by Playwright, never a downloaded browser.

- :data:`CHROMIUM`: the browser (``OMNISDK_CHROMIUM``, default ``/usr/bin/chromium``), given to
  Playwright as ``executable_path``;
- :func:`require_browser`: skip without the ``playwright`` package or Chromium, fail instead
  in CI (:func:`omnisdk.testkit.services.require_service`);
- :func:`chromium`: Playwright and a headless Chromium, closed after;
- :func:`collect_errors`: what went wrong on a page (script errors, console errors, answers
  of 400 and above), for the test to assert there was none.

``playwright`` is imported only by :func:`chromium`: importing this module needs only pytest.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from omnisdk.testkit.services import require_service

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page, Response

CHROMIUM = Path(os.environ.get("OMNISDK_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ("--no-sandbox", "--disable-dev-shm-usage")
"""Chromium's flags here: no sandbox (containers run as root), no /dev/shm (small in Docker)."""
FAVICON = "/favicon.ico"
"""What Chromium asks every page for unasked: a 404 for it is no error of the page's."""


def require_browser() -> None:
    """Skip the running test (fail it in CI) unless ``playwright`` is installed and
    :data:`CHROMIUM` exists."""
    if importlib.util.find_spec("playwright") is None:
        require_service(
            "playwright", "the playwright package is not installed (pip install -e '.[dev]')"
        )
    if not CHROMIUM.is_file():
        require_service("chromium", f"{CHROMIUM} not found (apt-get install chromium)")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Playwright running, and :data:`CHROMIUM` launched headless in it; both closed on exit.
    Calls :func:`require_browser` first."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            yield browser
        finally:
            await browser.close()


def collect_errors(
    page: Page, errors: list[str], *, console: bool = False, http: bool = False
) -> list[str]:
    """Append to ``errors`` (and return it) each uncaught script error of ``page``; with
    ``console``, each ``console.error`` line (with its script's URL); with ``http``, each
    answer of status 400 or above (``"404 http://…"``).  The favicon's are left out."""

    def on_console(msg: ConsoleMessage) -> None:
        url = msg.location.get("url", "")
        if msg.type == "error" and not url.endswith(FAVICON):
            errors.append(f"{msg.text} {url}")

    def on_response(resp: Response) -> None:
        if resp.status >= 400 and not resp.url.endswith(FAVICON):
            errors.append(f"{resp.status} {resp.url}")

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if console:
        page.on("console", on_console)
    if http:
        page.on("response", on_response)
    return errors


__all__ = ["CHROMIUM", "chromium", "collect_errors", "require_browser"]
