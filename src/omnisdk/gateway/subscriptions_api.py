"""Outgoing webhooks over the agent API (``/v1/subscriptions``, scope ``webhooks:admin``).

Deliveries are signed with Standard Webhooks and sent at least once by
:mod:`omnisdk.outbound.webhook_delivery`; a subscription's target passes the SSRF guard
(:mod:`omnisdk.outbound.ssrf`) when it is made (400 otherwise: ``insecure_target`` for plain
``http`` off loopback, ``bad_request`` for the rest) and again before each attempt.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from omnisdk.access.principals import Principal, Scope
from omnisdk.errors import NotFoundError
from omnisdk.events import now_rfc3339
from omnisdk.gateway.auth import need
from omnisdk.gateway.subscription_schemas import (
    DeliveryInfo,
    RedeliverRequest,
    Requeued,
    StateRequest,
    SubscriptionCreated,
    SubscriptionInfo,
    SubscriptionRequest,
)
from omnisdk.gateway.webhooks import error_response
from omnisdk.outbound.ssrf import InsecureTargetError, check_target, networks
from omnisdk.outbound.subscriptions import new_subscription
from omnisdk.store.rows import SubscriptionRow

router = APIRouter(prefix="/subscriptions", tags=["outgoing webhooks"])
Admin = Annotated[Principal, need(Scope.WEBHOOKS_ADMIN)]
SubscriptionId = Annotated[str, Path(max_length=64, description="The subscription's id.")]


def info(row: SubscriptionRow) -> dict[str, Any]:
    """A subscription as the API lists it (:class:`SubscriptionInfo`'s fields): never its secret."""
    doc = asdict(row)
    doc.pop("secret")
    doc["event_types"] = list(row.event_types)
    return doc


async def _get(request: Request, subscription_id: str) -> SubscriptionRow:
    row = await request.app.state.runtime.store.transact(lambda tx: tx.get_subscription(subscription_id))
    if row is None:
        raise NotFoundError(f"no subscription {subscription_id}")
    return row


async def _changed(request: Request) -> None:
    runtime = request.app.state.runtime
    await runtime.subscriptions.reload()
    runtime.webhooks.wake()


@router.get("", response_model=list[SubscriptionInfo])
async def list_subscriptions(request: Request, principal: Admin) -> Any:
    """Every subscription, oldest first, with its state (disabled ones say why)."""
    return [info(r) for r in await request.app.state.runtime.store.transact(lambda tx: tx.list_subscriptions())]


@router.post("", status_code=201, response_model=SubscriptionCreated)
async def create_subscription(request: Request, principal: Admin, body: SubscriptionRequest) -> Any:
    """Subscribe a URL to event types; the answer holds the signing secret, this once.

    A target the SSRF guard refuses is 400 ``bad_request``; plain ``http`` to an address that is
    not loopback is 400 ``insecure_target`` (events carry customers' messages: https only).
    """
    runtime = request.app.state.runtime
    try:
        await asyncio.to_thread(check_target, body.url, networks(runtime.settings.webhooks.allowed_networks))
    except InsecureTargetError as exc:
        return error_response(400, "insecure_target", str(exc))
    row = new_subscription(url=body.url, event_types=body.event_types, description=body.description,
                           created_at=now_rfc3339())
    await runtime.store.transact(lambda tx: tx.save_subscription(row))
    await _changed(request)
    return {**info(row), "secret": row.secret}


@router.get("/{subscription_id}", response_model=SubscriptionInfo)
async def get_subscription(request: Request, principal: Admin, subscription_id: SubscriptionId) -> Any:
    return info(await _get(request, subscription_id))


@router.put("/{subscription_id}/state", response_model=SubscriptionInfo)
async def set_state(request: Request, principal: Admin, subscription_id: SubscriptionId, body: StateRequest) -> Any:
    """Enable (failures restart from 0; held deliveries go out) or disable a subscription."""
    row = await _get(request, subscription_id)
    row = replace(row, state=body.state, failures=0 if body.state == "active" else row.failures,
                  disabled_reason=None if body.state == "active" else "disabled through the API")
    await request.app.state.runtime.store.transact(lambda tx: tx.save_subscription(row))
    await _changed(request)
    return info(row)


@router.delete("/{subscription_id}", status_code=204, response_class=Response)
async def delete_subscription(request: Request, principal: Admin, subscription_id: SubscriptionId) -> Response:
    """Remove the subscription and its deliveries."""
    if not await request.app.state.runtime.store.transact(lambda tx: tx.delete_subscription(subscription_id)):
        raise NotFoundError(f"no subscription {subscription_id}")
    await _changed(request)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryInfo])
async def list_deliveries(
    request: Request, principal: Admin, subscription_id: SubscriptionId,
    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query(description="Only these.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """The subscription's deliveries, newest first."""
    await _get(request, subscription_id)
    rows = await request.app.state.runtime.store.transact(
        lambda tx: tx.list_deliveries(subscription_id, state=state, limit=limit))
    return [{k: v for k, v in asdict(r).items() if k not in ("payload", "subscription_id")} for r in rows]


@router.post("/{subscription_id}/redeliver", status_code=202, response_model=Requeued)
async def redeliver(request: Request, principal: Admin, subscription_id: SubscriptionId,
                    body: RedeliverRequest) -> Any:
    """Send failed deliveries again (attempts restart from 0)."""
    await _get(request, subscription_id)
    n = await request.app.state.runtime.store.transact(
        lambda tx: tx.requeue_deliveries(subscription_id, body.delivery_id))
    request.app.state.runtime.webhooks.wake()
    return {"requeued": n}


__all__ = ["router"]
