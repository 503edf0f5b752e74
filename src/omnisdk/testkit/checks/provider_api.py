"""Outbound sends against a respx-mocked provider API, on a fake clock.

The kit points the adapter at :data:`API_BASE` (through the ``api_base_url`` setting every
:class:`~omnisdk.adapters.AccountSettings` has), answers every request under it from a script
of replies, and records the requests.

**Fake clock.**  While :func:`provider_clock` is active, every
:class:`~omnisdk.outbound.ProviderClient` created gets the kit's ``sleep``: waits between
attempts are recorded, not slept.  So an adapter needs no ``sleep=`` argument of its own; it
only has to send through ``ProviderClient`` (as the plugin contract asks).  A ProviderClient
made without a ``transport`` also gets the respx router as its transport
(``httpx.MockTransport(router.handler)``: the same mock, without building an SSL context per
client); any other httpx client is caught by ``respx.mock`` itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import httpx
import respx

from omnisdk.adapters import ChannelAdapter, OutboundMessage, SendResult
from omnisdk.outbound.http import ProviderClient

API_BASE = "https://provider-api.testkit.invalid"
IDEMPOTENCY_KEY = "testkit-idem-7f3c9a"


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: an HTTP response, or ``error`` (an httpx exception class) raised."""

    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    error: type[Exception] | None = None

    def build(self, request: httpx.Request) -> httpx.Response:
        if self.error is not None:
            raise self.error("testkit: scripted transport failure", request=request)
        if self.text is not None:
            return httpx.Response(self.status, text=self.text, headers=self.headers)
        if self.json is not None:
            return httpx.Response(self.status, json=self.json, headers=self.headers)
        return httpx.Response(self.status, headers=self.headers)


@dataclass
class SendRun:
    """What one scripted send did: its result or error, the requests, the recorded waits."""

    result: SendResult | None
    error: BaseException | None
    requests: list[httpx.Request]
    waits: list[float]

    def keys(self, key: str) -> list[set[str]]:
        """Per request, the names of the headers whose value is exactly ``key``."""
        return [{k.lower() for k, v in r.headers.items() if v == key} for r in self.requests]


@contextmanager
def provider_clock(waits: list[float], transport: httpx.AsyncBaseTransport | None = None) -> Iterator[None]:
    """Make every ProviderClient created meanwhile wait on a fake clock that appends to
    ``waits``, and use ``transport`` when it was given none (see the module docstring)."""
    original = ProviderClient.__init__

    async def fake_sleep(seconds: float) -> None:
        waits.append(float(seconds))

    def init(self: ProviderClient, *args: Any, **kwargs: Any) -> None:
        kwargs["sleep"] = fake_sleep
        if transport is not None and kwargs.get("transport") is None:
            kwargs["transport"] = transport
        original(self, *args, **kwargs)

    with mock.patch.object(ProviderClient, "__init__", init):
        yield


def run_send(
    make_adapter: Callable[..., ChannelAdapter],
    message: OutboundMessage,
    script: Sequence[Reply],
    *,
    key: str = IDEMPOTENCY_KEY,
) -> SendRun:
    """Send ``message`` once with ``idempotency_key=key`` while the provider answers with
    ``script`` (the last reply repeats).  Never raises: the send's exception is in the run."""

    async def go() -> SendRun:
        requests: list[httpx.Request] = []
        waits: list[float] = []

        def answer(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return script[min(len(requests), len(script)) - 1].build(request)

        result: SendResult | None = None
        error: BaseException | None = None
        with respx.mock(base_url=API_BASE, assert_all_called=False) as api:
            api.route().mock(side_effect=answer)
            with provider_clock(waits, httpx.MockTransport(api.handler)):
                adapter = make_adapter(api_base_url=API_BASE)
                try:
                    result = await adapter.send(message, idempotency_key=key)
                except Exception as exc:  # recorded for the caller to judge
                    error = exc
                finally:
                    try:
                        await adapter.aclose()
                    except Exception as exc:  # reported like a send error
                        error = error or exc
        return SendRun(result, error, requests, waits)

    return asyncio.run(go())


def describe_error(exc: BaseException | None) -> str:
    """``TypeName: message`` of an exception (``nothing`` for None), one line, short."""
    if exc is None:
        return "nothing"
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
