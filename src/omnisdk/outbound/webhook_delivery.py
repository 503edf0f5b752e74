"""Delivers outgoing webhooks: signed with Standard Webhooks, at least once, retried with
backoff, a subscription disabled after repeated failure.

Each attempt POSTs the CloudEvent (structured JSON, ``application/cloudevents+json``) with the
Standard Webhooks headers (https://www.standardwebhooks.com/, signed by the
``standardwebhooks`` package):

- ``webhook-id``: the delivery's id, the same on every attempt (the receiver dedupes on it);
- ``webhook-timestamp``: the attempt's time, integer seconds since the epoch (UTC);
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body`` keyed with the
  subscription's ``whsec_`` secret.

The decision and the delay are apart: :func:`outcome` says what an answer means (delivered,
retry, give up), :func:`retry_delay` how long to wait.  A 2xx is delivered; 410 Gone disables
the subscription at once; any other answer, a timeout, a connection error or an address the
SSRF guard refuses (plain ``http`` off loopback included) is retried after ``[webhooks] backoff`` (a longer ``Retry-After`` wins)
until ``max_attempts``, then the delivery fails for good.  ``disable_after`` deliveries in a
row that fail for good disable the subscription (``disabled_reason`` says why); its new
events are still queued, and re-enabling it (``PUT /v1/subscriptions/{id}/state``) or
redelivering (``POST …/redeliver``) sends them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum

import httpx
from standardwebhooks.webhooks import Webhook

from omnisdk.events import rfc3339
from omnisdk.outbound.ssrf import (
    UnsafeTargetError,
    check_addresses,
    check_scheme,
    check_url,
    networks,
    resolve,
)
from omnisdk.outbound.webhook_settings import WebhookSettings
from omnisdk.store.base import Store, Transaction
from omnisdk.store.rows import DeliveryRow, SubscriptionRow
from omnisdk.woken_worker import WokenWorker

log = logging.getLogger("omnisdk.webhooks")
USER_AGENT = "omnisdk-webhooks/1"


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"


def outcome(status: int | None) -> Outcome:
    """What an attempt's answer means (None: no answer at all)."""
    if status is not None and 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE
    return Outcome.RETRY


def retry_delay(attempts: int, backoff: list[float], retry_after: float | None) -> float:
    """Seconds before the next attempt after ``attempts`` made (the schedule's entry, its last
    one repeating, or a longer ``Retry-After``)."""
    delay = backoff[min(attempts - 1, len(backoff) - 1)]
    return max(delay, retry_after or 0.0)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


class WebhookDeliveryWorker(WokenWorker):
    """Sends due deliveries, in a pass each time it is woken and at least every second
    (:class:`~omnisdk.woken_worker.WokenWorker`).

    Args:
        store: holds subscriptions and deliveries.
        settings: ``[webhooks]``.
        client: the HTTP client (tests pass one over a mock transport); made here when None.
        clock: epoch seconds.
    """

    def __init__(self, store: Store, settings: WebhookSettings, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__("omnisdk-webhooks", log=log, poll_interval=1.0)
        self.store = store
        self.settings = settings
        self.clock = clock
        self._client = client
        self._allowed = networks(settings.allowed_networks)
        self.fence: Callable[[], bool] | None = None
        """Checked (no I/O) before each claim: False when this process no longer leads its
        routing domain (:meth:`omnisdk.leadership.Leadership.valid`); nothing is claimed."""

    def start(self) -> None:
        """Open the HTTP client (unless the caller gave one), then run the loop."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.settings.timeout, follow_redirects=False,
                                             headers={"user-agent": USER_AGENT})
        super().start()

    async def stop(self) -> None:
        """Stop the loop, then close the HTTP client."""
        await super().stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        """One pass: claim due deliveries, attempt them, record the outcomes; how many."""
        if self.fence is not None and not self.fence():
            return 0
        now = self.clock()
        claimed = await self.store.transact(lambda tx: (
            tx.claim_deliveries(now, self.settings.concurrency * 4),
            {s.id: s for s in tx.list_subscriptions()}))
        rows, subs = claimed
        if not rows:
            return 0
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def attempt(row: DeliveryRow) -> tuple[DeliveryRow, int | None, str | None, float | None]:
            async with gate:
                return await self._attempt(row, subs[row.subscription_id])

        results = await asyncio.gather(*(attempt(r) for r in rows))
        await self.store.transact(lambda tx: self._record(tx, results, subs))
        return len(rows)

    async def _attempt(self, row: DeliveryRow, sub: SubscriptionRow) -> tuple[DeliveryRow, int | None, str | None,
                                                                              float | None]:
        """POST one attempt: (row, status or None, error or None, Retry-After or None)."""
        assert self._client is not None
        try:
            host = check_url(sub.url)
            addresses = await asyncio.to_thread(resolve, host)
            check_addresses(host, addresses, self._allowed)
            check_scheme(sub.url, addresses)  # a subscription older than the https rule is held too
        except UnsafeTargetError as exc:
            return row, None, str(exc), None
        at = datetime.fromtimestamp(self.clock(), UTC)
        body = row.payload.decode()
        signature = Webhook(sub.secret).sign(row.id, at, body)
        headers = {"webhook-id": row.id, "webhook-timestamp": str(int(at.timestamp())),
                   "webhook-signature": signature, "content-type": "application/cloudevents+json"}
        try:
            resp = await self._client.post(sub.url, content=body, headers=headers, timeout=self.settings.timeout)
        except httpx.HTTPError as exc:
            return row, None, type(exc).__name__, None
        return row, resp.status_code, None if resp.is_success else f"HTTP {resp.status_code}", _retry_after(resp)

    def _record(self, tx: Transaction, results: list[tuple[DeliveryRow, int | None, str | None, float | None]],
                subs: dict[str, SubscriptionRow]) -> bool:
        """Write the outcomes; True when a subscription was disabled."""
        now = self.clock()
        changed: dict[str, SubscriptionRow] = {}
        for row, status, error, retry_after in results:
            sub = changed.get(row.subscription_id) or subs[row.subscription_id]
            attempts = row.attempts + 1
            verdict = outcome(status)  # no answer (status None) is a retry
            if verdict is Outcome.DELIVERED:
                tx.finish_delivery(replace(row, state="delivered", attempts=attempts, last_status=status,
                                           last_error=None, delivered_at=rfc3339(datetime.fromtimestamp(now, UTC))))
                if sub.failures:
                    changed[sub.id] = replace(sub, failures=0)
                continue
            if verdict is Outcome.RETRY and attempts < self.settings.max_attempts:
                tx.finish_delivery(replace(row, attempts=attempts, last_status=status, last_error=error,
                                           next_attempt_at=now + retry_delay(attempts, self.settings.backoff,
                                                                             retry_after)))
                continue
            tx.finish_delivery(replace(row, state="failed", attempts=attempts, last_status=status, last_error=error))
            failures = sub.failures + 1
            if verdict is Outcome.GONE:
                sub = replace(sub, failures=failures, state="disabled",
                              disabled_reason="the receiver answered 410 Gone")
            elif failures >= self.settings.disable_after and sub.state == "active":
                sub = replace(sub, failures=failures, state="disabled",
                              disabled_reason=f"{failures} deliveries in a row failed")
            else:
                sub = replace(sub, failures=failures)
            changed[sub.id] = sub
        disabled = False
        for sub in changed.values():
            tx.save_subscription(sub)
            if sub.state == "disabled" and subs[sub.id].state == "active":
                disabled = True
                log.warning("webhook subscription %s disabled: %s", sub.id, sub.disabled_reason)
        return disabled


__all__ = ["Outcome", "WebhookDeliveryWorker", "outcome", "retry_delay"]
