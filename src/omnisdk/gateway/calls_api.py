"""Call controls in the agent API (``/v1``): answer, hold, resume, transfer and hang up a voice
interaction's call, place a click-to-dial call, and issue an agent's softphone token.

Every route needs ``interactions:work`` (agents and up); an agent acts only as themself and on
work within their reach (:func:`omnisdk.access.policy.check_act`).  The lifecycle step and
the call's record change in one transaction (409 for an illegal move or call step, nothing
written); the command to the CTI follows (:mod:`omnisdk.voice.controls`).  A CTI that refuses
the command answers 502 ``provider_error`` (the lifecycle step stays: the agent sees it and
retries or hangs up); a connector without call control or tokens answers 501.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Request, Response

from omnisdk.access.policy import acting_agent, check_act
from omnisdk.access.principals import Principal, Role, Scope
from omnisdk.errors import NotFoundError
from omnisdk.gateway.auth import need
from omnisdk.gateway.call_schemas import (
    CallAction,
    CallTransferRequest,
    DialRequest,
    SoftphoneToken,
    TokenRequest,
)
from omnisdk.gateway.webhooks import error_response
from omnisdk.model import Interaction
from omnisdk.outbound.errors import OutboundError

interaction_calls = APIRouter(prefix="/interactions", tags=["calls"])
calls = APIRouter(tags=["calls"])

Worker = Annotated[Principal, need(Scope.INTERACTIONS_WORK)]
InteractionId = Annotated[str, Path(max_length=64, description="The voice interaction's id.")]
AgentId = Annotated[str, Path(max_length=128, description="The agent's id.")]


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


async def _acting(request: Request, principal: Principal, interaction_id: str, named: str | None) -> str | None:
    rt = _runtime(request)
    inter = await rt.store.transact(lambda tx: tx.get_interaction(interaction_id))
    if inter is None:
        raise NotFoundError(f"no interaction {interaction_id}")
    check_act(principal, inter, rt.engine.agents)
    return acting_agent(principal, named, rt.engine.agents)


async def _control(call: Any) -> Any:
    try:
        return await call
    except OutboundError as exc:
        return error_response(502, "provider_error", str(exc))
    except NotImplementedError as exc:
        return error_response(501, "not_implemented", str(exc))


RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Illegal move or call step, not held by that agent, or no free capacity."},
    501: {"description": "The connector has no call control (or issues no tokens)."},
    502: {"description": "The CTI refused the command (the lifecycle step stays)."},
}


@interaction_calls.post("/{interaction_id}/call/answer", response_model=Interaction, responses=RESPONSES)
async def answer(request: Request, principal: Worker, interaction_id: InteractionId,
                 body: Annotated[CallAction | None, Body()] = None) -> Any:
    """The offered agent answers: work_in_progress; the caller is connected to their softphone."""
    acting = await _acting(request, principal, interaction_id, body.agent if body else None)
    return await _control(_runtime(request).calls.answer(interaction_id, acting))


@interaction_calls.post("/{interaction_id}/call/hold", response_model=Interaction, responses=RESPONSES)
async def hold(request: Request, principal: Worker, interaction_id: InteractionId,
               body: Annotated[CallAction | None, Body()] = None) -> Any:
    """Put the caller on hold (music): on_hold."""
    acting = await _acting(request, principal, interaction_id, body.agent if body else None)
    return await _control(_runtime(request).calls.hold(interaction_id, acting))


@interaction_calls.post("/{interaction_id}/call/resume", response_model=Interaction, responses=RESPONSES)
async def resume(request: Request, principal: Worker, interaction_id: InteractionId,
                 body: Annotated[CallAction | None, Body()] = None) -> Any:
    """Take the caller off hold: work_in_progress, connected to the agent again."""
    acting = await _acting(request, principal, interaction_id, body.agent if body else None)
    return await _control(_runtime(request).calls.resume(interaction_id, acting))


@interaction_calls.post("/{interaction_id}/call/transfer", response_model=Interaction, responses=RESPONSES)
async def transfer(request: Request, principal: Worker, interaction_id: InteractionId, body: CallTransferRequest) -> Any:
    """Transfer the call, cold or warm, to an agent, a queue or a number."""
    rt = _runtime(request)
    acting = await _acting(request, principal, interaction_id, body.agent)
    if body.to_queue is not None and body.to_queue not in rt.engine.queues:
        raise NotFoundError(f"no queue {body.to_queue!r}")
    if body.to_agent is not None and principal.role is Role.SUPERVISOR:
        acting_agent(principal, body.to_agent, rt.engine.agents)
    return await _control(rt.calls.transfer(interaction_id, to_agent=body.to_agent, to_queue=body.to_queue,
                                            to_number=body.to_number, mode=body.mode, agent=acting))


@interaction_calls.post("/{interaction_id}/call/hangup", response_model=Interaction, responses=RESPONSES)
async def hang_up(request: Request, principal: Worker, interaction_id: InteractionId,
                  body: Annotated[CallAction | None, Body()] = None) -> Any:
    """End the call: wrap_up (its timer starts)."""
    acting = await _acting(request, principal, interaction_id, body.agent if body else None)
    return await _control(_runtime(request).calls.hang_up(interaction_id, acting))


@calls.post("/calls", response_model=Interaction, responses=RESPONSES)
async def dial(request: Request, principal: Worker, body: DialRequest) -> Any:
    """Click-to-dial: a new outbound voice interaction, work in progress with the agent (needs
    their free voice capacity), and the call placed."""
    rt = _runtime(request)
    agent = acting_agent(principal, body.agent, rt.engine.agents)
    if agent is None:
        raise ValueError("name the agent placing the call")
    return await _control(rt.calls.dial(agent=agent, plugin=body.plugin, account=body.account, to=body.to,
                                        from_=body.from_, timeout=body.timeout))


@calls.post("/agents/{agent_id}/softphone-token", response_model=SoftphoneToken, responses=RESPONSES)
async def softphone_token(request: Request, principal: Worker, agent_id: AgentId, body: TokenRequest) -> Any:
    """A short-lived access token for the agent's softphone (an agent: only their own)."""
    rt = _runtime(request)
    acting_agent(principal, agent_id, rt.engine.agents)
    try:
        doc = rt.calls.softphone_token(agent_id, plugin=body.plugin, account=body.account)
    except NotImplementedError as exc:
        return error_response(501, "not_implemented", str(exc))
    response = SoftphoneToken.model_validate(doc).model_dump()
    return _no_store(response)


def _no_store(doc: dict[str, Any]) -> Response:
    return Response(orjson.dumps(doc), media_type="application/json", headers={"cache-control": "no-store"})


__all__ = ["calls", "interaction_calls"]
